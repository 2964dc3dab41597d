"""Face detectors compared: speed and detection rate on synthetic faces and on real videos.

    python benchmarks/bench_detectors.py --real /path/to/video.mp4 [--no-face /path/to/video.mp4]

Synthetic faces are the generator's 112x112 video frames (the training distribution),
enlarged 2x and pasted into a 640x360 frame. Detection rate = frames with at least one face;
extra = frames with more than one (a false positive, since each frame shows one person).
Detectors that cannot run here (no facenet-pytorch, no YuNet file) are reported as skipped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from semifer.data.base import decode_image
from semifer.errors import ConfigError
from semifer.inference.detect import DETECTORS, build_detector
from semifer.inference.video_io import open_input


def synthetic_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` 640x360 frames of one synthetic video's faces (frames without a face are dropped)."""
    from semifer.synth.videos import VideoSpec, make_video

    video = make_video(VideoSpec("bench", "validation", 0, count, (), False, (seed,)))
    frames = []
    for data in video.frames:
        if data is None:
            continue
        face = cv2.resize(decode_image(data, "synthetic"), (224, 224), interpolation=cv2.INTER_CUBIC)
        frame = np.full((360, 640, 3), 70, np.uint8)
        frame[68:292, 208:432] = face
        frames.append(frame)
    return frames


def measure(detector_name: str, frames: list[np.ndarray], model: Path | None) -> tuple[float, float, float] | None:
    """(milliseconds per frame, detection rate, share of frames with extra faces), or None if unavailable."""
    try:
        detector = build_detector(detector_name, model)
    except ConfigError as error:
        print(f"  {detector_name}: skipped ({error})")
        return None
    detector.detect(frames[0])  # warm-up
    start = time.perf_counter()
    counts = [len(detector.detect(frame)) for frame in frames]
    elapsed = time.perf_counter() - start
    counts_array = np.asarray(counts)
    return 1000 * elapsed / len(frames), float((counts_array >= 1).mean()), float((counts_array > 1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, action="append", default=[], help="A real video with one face throughout.")
    parser.add_argument("--no-face", type=Path, action="append", default=[], help="A real video without faces.")
    parser.add_argument("--yunet-model", type=Path, default=None)
    parser.add_argument("--synthetic-frames", type=int, default=150)
    parser.add_argument("--max-frames", type=int, default=300)
    args = parser.parse_args()
    sets = {"synthetic": synthetic_frames(args.synthetic_frames)}
    for path in args.real + args.no_face:
        frames = [f.image for f in open_input(path) if f.image is not None]
        sets[path.name] = frames[: args.max_frames]
    print(f"{'detector':8} {'frames':24} {'n':>5} {'ms/frame':>9} {'found':>7} {'extra':>7}")
    for name in DETECTORS:
        for label, frames in sets.items():
            result = measure(name, frames, args.yunet_model)
            if result is None:
                break
            milliseconds, found, extra = result
            print(f"{name:8} {label:24} {len(frames):5d} {milliseconds:9.1f} {found:7.1%} {extra:7.1%}")


if __name__ == "__main__":
    main()
