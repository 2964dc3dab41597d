"""Is `predict`'s score on the raw video about the detector's crops, or about the model?

Re-renders the held-out raw video of a demo data folder (the same bytes, from the manifest's
seed), then scores each checkpoint on that video twice: through `semifer predict` as a user
runs it (Haar detector, crops at the checkpoint's margin), and on crops cut where the
generator drew the face, framed exactly as the training crops are (``crop_boxes``), passed
with ``crops=True``. Both are scored on the annotated frames where the person is in the
picture. If the two columns agree, the detector and the crop framing are not what sets the
score.

Usage: python benchmarks/raw_video_framing.py DATA CHECKPOINT [CHECKPOINT ...] [--margin M]
       (DATA from `semifer synth DATA --scale demo`, or `demo-output/data`; checkpoints of
       stage 1 or stage 2; `--margin` as `semifer demo` measured it, in stages/predict.json)
"""

from __future__ import annotations

import argparse
import filecmp
import json
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from semifer.abaw.annotation import read_expr_annotation
from semifer.inference.predictor import Recognizer
from semifer.metrics import macro_f1
from semifer.synth.faces import CANVAS, IMAGE_SIZE
from semifer.synth.raw_video import RAW_FOLDER, RAW_NAME, write_raw_video


def _generator_crops(video: Path, boxes: np.ndarray, folder: Path) -> None:
    """Cut each frame's training-crop square (edges replicated past the frame) and save it at 112 px."""
    with av.open(str(video)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            left, top = boxes[index, :2]
            shift = np.float32([[1, 0, -left], [0, 1, -top]])
            image = frame.to_ndarray(format="rgb24")
            crop = cv2.warpAffine(image, shift, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            crop = cv2.resize(crop, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{index + 1:05d}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--margin", type=float, help="crop side over detector-box side (default: each checkpoint's)")
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    shipped = args.data / RAW_FOLDER / f"{RAW_NAME}.mp4"
    labels = read_expr_annotation(shipped.with_suffix(".txt"))
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        truth = write_raw_video(folder, int(manifest["seed"]), len(labels))
        if not filecmp.cmp(folder / f"{RAW_NAME}.mp4", shipped, shallow=False):
            raise SystemExit(f"{shipped}: not the video seed {manifest['seed']} renders (other generator version?)")
        crops = folder / "crops"
        crops.mkdir()
        _generator_crops(shipped, truth.crop_boxes, crops)
        scored = (labels >= 0) & truth.has_face
        print(f"{shipped}: {len(labels)} frames, {int(scored.sum())} annotated with the person in the picture")
        print("| checkpoint | predict (detector crops) | generator's crops | face found |")
        print("| --- | ---: | ---: | ---: |")
        for checkpoint in args.checkpoints:
            recognizer = Recognizer.from_checkpoint(checkpoint, device="cpu", margin=args.margin)
            detected = recognizer.predict_video(shipped)
            framed = recognizer.predict_video(crops, crops=True)
            found = float((~detected["no_face"].to_numpy()[truth.has_face]).mean())
            scores = [macro_f1(labels[scored], table["label"].to_numpy()[scored]) for table in (detected, framed)]
            print(f"| {checkpoint} | {scores[0]:.4f} | {scores[1]:.4f} | {found:.0%} |")


if __name__ == "__main__":
    main()
