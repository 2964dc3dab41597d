"""Frames/s of the ``fer`` package (mini-Xception, Keras) on a video, for comparison.

Needs its own environment (tensorflow does not belong in semifer's)::

    python3.11 -m venv /tmp/ferenv
    /tmp/ferenv/bin/pip install tensorflow-cpu "opencv-python-headless<5" pandas matplotlib pillow tqdm requests
    /tmp/ferenv/bin/pip install --no-deps fer facenet-pytorch
    OMP_NUM_THREADS=2 TF_NUM_INTRAOP_THREADS=2 /tmp/ferenv/bin/python benchmarks/bench_fer_package.py VIDEO

``fer`` ships its weights in its wheel, so it runs offline; it detects faces with OpenCV's
Haar cascade on every full frame and classifies one frame at a time.
"""

import sys
import time

import cv2
from fer.fer import FER


def main() -> None:
    capture = cv2.VideoCapture(sys.argv[1])
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    detector = FER(mtcnn=False)
    detector.detect_emotions(frames[0])  # warm-up
    start = time.perf_counter()
    found = sum(bool(detector.detect_emotions(frame)) for frame in frames)
    elapsed = time.perf_counter() - start
    print(f"fer: {len(frames)} frames, {found} with a face, {len(frames) / elapsed:.1f} frames/s")


if __name__ == "__main__":
    main()
