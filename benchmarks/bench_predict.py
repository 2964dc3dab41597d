"""End-to-end ``predict`` frames/s against the model-only forward rate on the same crops.

    python benchmarks/bench_predict.py [--video clip.mp4 ...] [--checkpoint FOLDER]
                                       [--backbone resnet18 --image-size 112]

Without ``--checkpoint`` a randomly initialised stage-1 + stage-2 checkpoint of
``--backbone`` is built in a temporary folder (speed does not depend on the weights).
Without ``--video`` a synthetic raw video is made from the generator's faces. End to end
counts decoding, detection, tracking, cropping, the frame model, the temporal encoder and
smoothing; model-only times the frame model alone on the crops that run produced.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import av
import numpy as np
import torch

from semifer.inference.pipeline import locate_faces
from semifer.inference.predictor import Recognizer
from semifer.inference.track import make_tracker
from semifer.inference.video_io import open_input, prefetch

sys.path.insert(0, str(Path(__file__).parent))
from bench_detectors import synthetic_frames  # noqa: E402


def build_checkpoint(root: Path, backbone: str, image_size: int) -> Path:
    """A random stage-1 + stage-2 checkpoint pair; returns the stage-2 folder."""
    from semifer.checkpoint import save_checkpoint
    from semifer.data.transforms import resize_for
    from semifer.labels import NUM_CLASSES
    from semifer.models.backbone import MODEL_FILE, FrameModelSpec, create_backbone
    from semifer.models.frame_encoder import FrameEncoder
    from semifer.models.temporal import EncoderConfig, TemporalEncoder, model_description

    model = create_backbone(backbone, NUM_CLASSES)
    spec = FrameModelSpec.for_model(model, backbone, image_size, resize_for(image_size))
    stage1 = save_checkpoint(root / "spatial", {"student": model.state_dict()}, {}, {MODEL_FILE: json.dumps(asdict(spec))})
    frame_encoder = FrameEncoder.from_stage1(stage1)
    config = EncoderConfig(max_length=64)
    spatial = {"checkpoint": str(stage1), "checkpoint_digest": frame_encoder.stage1["digest"]}
    description = model_description(spec.feature_dim, config, 64, 32, spatial)
    encoder = TemporalEncoder(spec.feature_dim, config)
    tensors, files = frame_encoder.checkpoint_content()
    return save_checkpoint(root / "temporal", {"temporal": encoder.state_dict(), **tensors}, {}, {MODEL_FILE: json.dumps(description), **files})


def write_synthetic_video(path: Path, frames: int) -> Path:
    images = synthetic_frames(frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def bench(recognizer: Recognizer, video: Path, batch_size: int, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` rates, the end-to-end and model-only runs interleaved so that
    load from other processes hits both alike."""
    source = open_input(video)
    start = time.perf_counter()
    decoded = sum(1 for _ in prefetch(source))
    decode_seconds = time.perf_counter() - start
    located = list(locate_faces(source, recognizer.detector, make_tracker(False), recognizer.margin, recognizer.detect_every))
    crops = torch.from_numpy(np.stack([crop for item in located for crop in item.crops])).permute(0, 3, 1, 2)
    batches = [recognizer.encoder.resize_crop(crops[first : first + batch_size]) for first in range(0, len(crops), batch_size)]
    end_to_end, model_only, frames = [], [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        frames = len(recognizer.predict_video(source))
        end_to_end.append(time.perf_counter() - start)
        start = time.perf_counter()
        for batch in batches:
            recognizer.encoder.encode(batch)
        model_only.append(time.perf_counter() - start)
    return {
        "frames": frames,
        "faces": len(crops),
        "decode_fps": decoded / decode_seconds,
        "end_to_end_fps": frames / min(end_to_end),
        "model_only_fps": len(crops) / min(model_only),
        "model_only_frame_fps": frames / min(model_only),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, action="append", default=[])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--synthetic-frames", type=int, default=300)
    parser.add_argument("--detect-every", type=int, action="append", default=[], help="Repeat for several values.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        checkpoint = args.checkpoint or build_checkpoint(root, args.backbone, args.image_size)
        videos = args.video or [write_synthetic_video(root / "synthetic.mp4", args.synthetic_frames)]
        recognizer = Recognizer.from_checkpoint(checkpoint, device=args.device, batch_size=args.batch_size)
        spec = recognizer.encoder.spec
        recognizer.encoder.encode(torch.zeros(2, 3, spec.image_size, spec.image_size, dtype=torch.uint8))  # warm-up
        print(f"backbone {spec.backbone} @ {spec.image_size} px, batch {args.batch_size}, "
              f"device {recognizer.device}, torch threads {torch.get_num_threads()}")  # fmt: skip
        print(f"{'video':28} {'detect':>6} {'frames':>6} {'faces':>6} {'decode/s':>9} {'e2e/s':>7} {'model/s':>8} {'e2e/model':>9}")
        for video in videos:
            for every in args.detect_every or [recognizer.detect_every]:
                recognizer.detect_every = every
                r = bench(recognizer, video, args.batch_size, args.repeats)
                ratio = r["end_to_end_fps"] / r["model_only_frame_fps"]
                print(f"{video.name:28} {'1/' + str(every):>6} {r['frames']:6d} {r['faces']:6d} {r['decode_fps']:9.0f} "
                      f"{r['end_to_end_fps']:7.1f} {r['model_only_fps']:8.1f} {ratio:9.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
