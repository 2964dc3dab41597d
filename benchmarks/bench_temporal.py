"""Stage-2 speed: feature extraction, smoothing, temporal training step, whole-video inference.

Run: ``.venv/bin/python benchmarks/bench_temporal.py [--quick] [--json OUT.json]``. Prints one
line per figure; ``--json`` also writes them to a file (benchmarks/gpu_check.sh reads it).
Extraction compares the end-to-end rate (JPEG decode in a DataLoader worker + model + cache
write) with the model's own forward on the same batches already in memory, in one process.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from semifer.data.affwild2 import AffWild2Videos, AffWild2Writer
from semifer.models.backbone import FrameModelSpec, create_backbone
from semifer.models.frame_encoder import FrameEncoder
from semifer.models.temporal import EncoderConfig, TemporalEncoder
from semifer.smoothing import window_vote
from semifer.temporal.extraction import extract_videos
from semifer.temporal.inference import video_logits
from semifer.temporal.trainer import masked_cross_entropy


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs (the shared CPU makes single runs noisy)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def face_like_jpeg(rng: np.random.Generator, side: int) -> bytes:
    """A smooth random image: decodes at the cost of a real face crop, unlike white noise."""
    image = cv2.GaussianBlur(rng.integers(0, 255, (side, side, 3), dtype=np.uint8), (0, 0), 3)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def bench_extraction(
    backbone: str, image_size: int, videos: int, frames: int, batch_size: int, workers: int, device: str = "cpu"
) -> dict[str, object]:
    rng = np.random.default_rng(0)
    model = create_backbone(backbone, 8)
    spec = FrameModelSpec.for_model(model, backbone, image_size, round(image_size * 256 / 224))
    encoder = FrameEncoder(model, spec).to(torch.device(device))
    transform, encode = encoder.resize_crop, encoder.encode
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "data"
        writer = AffWild2Writer(root)
        for index in range(videos):
            images = [face_like_jpeg(rng, spec.resize_size) for _ in range(frames)]
            writer.write_video("validation", f"v{index}", [0] * frames, images)
        listed = list(AffWild2Videos(root, "validation"))

        total = videos * frames
        batches = [
            torch.stack([transform(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)) for path in video.frame_paths[i : i + batch_size]])
            for video in listed
            for i in range(0, frames, batch_size)
        ]
        encode(batches[0])  # warm-up
        # .cpu() of the outputs, as extraction does: it also waits for the GPU to finish.
        model_only = timed(lambda: [[t.cpu() for t in encode(batch)] for batch in batches], repeat=2)
        end_to_end = float("inf")
        for attempt in range(2):
            out = Path(folder) / f"cache{attempt}"
            end_to_end = min(end_to_end, timed(lambda: extract_videos(
                encode, transform, (3, image_size, image_size), listed, out, "validation", "digest", spec.feature_dim, batch_size, workers
            )))
    print(f"extraction {backbone} {image_size}px on {device}, {total} frames, batch {batch_size}, {workers} worker(s), {torch.get_num_threads()} torch threads:")
    print(f"  model only (batches in memory): {total / model_only:8.1f} frames/s")
    print(f"  end to end (decode+model+write): {total / end_to_end:8.1f} frames/s  = {model_only / end_to_end:.0%} of model only")
    return {
        "backbone": backbone, "image_size": image_size, "device": device, "frames": total, "batch_size": batch_size,
        "workers": workers, "model_only_frames_per_s": total / model_only, "end_to_end_frames_per_s": total / end_to_end,
    }


def python_window_vote(labels: np.ndarray | list[int], window: int) -> list[int]:
    """The plain loop the vectorised vote replaces: count per window, frame by frame."""
    out = [0] * len(labels)
    for start in range(0, len(labels), window):
        counts = [0] * 8
        stop = min(start + window, len(labels))
        for t in range(start, stop):
            counts[labels[t]] += 1
        mode = counts.index(max(counts))
        for t in range(start, stop):
            out[t] = mode
    return out


def bench_smoothing(frames: int, loop_frames: int) -> dict[str, object]:
    labels = np.random.default_rng(0).integers(0, 8, size=frames)
    vectorised = timed(lambda: window_vote(labels, 30), repeat=3)
    subset = labels[:loop_frames]
    loop = timed(lambda: python_window_vote(subset, 30))
    as_list = subset.tolist()
    loop_on_list = timed(lambda: python_window_vote(as_list, 30))
    assert python_window_vote(as_list, 30) == window_vote(subset, 30).tolist()
    fast, slow, slow_list = frames / vectorised, loop_frames / loop, loop_frames / loop_on_list
    print(f"smoothing window vote (30): vectorised {fast / 1e6:.1f}M frames/s ({frames} frames); "
          f"Python loop over the numpy labels {slow / 1e6:.2f}M frames/s: {fast / slow:.0f}x; "
          f"same loop over a Python list (conversion not counted) {slow_list / 1e6:.2f}M frames/s: {fast / slow_list:.0f}x")
    return {"frames": frames, "vectorised_frames_per_s": fast, "loop_frames_per_s": slow, "loop_on_list_frames_per_s": slow_list}


def bench_temporal(
    name: str, feature_dim: int, config: EncoderConfig, batch_size: int, steps: int, video_frames: int, device: str = "cpu"
) -> dict[str, object]:
    torch.manual_seed(0)
    target = torch.device(device)
    model = TemporalEncoder(feature_dim, config).to(target)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    length = config.max_length
    features = torch.randn(batch_size, length, feature_dim).half()
    mask = torch.rand(batch_size, length) > 0.1
    targets = torch.randint(-1, 8, (batch_size, length))

    def step() -> None:
        loss = masked_cross_entropy(model(features.to(target).float(), mask.to(target)), targets.to(target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()  # waits for the device

    step()
    seconds = timed(lambda: [step() for _ in range(steps)])
    model.eval()
    video = torch.randn(video_frames, feature_dim).half()
    video_mask = torch.rand(video_frames) > 0.1
    inference = timed(lambda: video_logits(model, video, video_mask, length, length // 2, batch_size=64))
    print(f"temporal {name} on {device} (dim {feature_dim}, width {config.width}, {config.layers} layers, clips of {length}): "
          f"train step {steps * batch_size * length / seconds:,.0f} frames/s (batch {batch_size}); "
          f"whole-video inference {video_frames / inference:,.0f} frames/s ({video_frames} frames, stride {length // 2})")
    return {
        "name": name, "device": device, "feature_dim": feature_dim, "batch_size": batch_size,
        "train_frames_per_s": steps * batch_size * length / seconds, "inference_frames_per_s": video_frames / inference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers for extraction")
    parser.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = parser.parse_args()
    scale = 4 if args.quick else 1
    paper = EncoderConfig(width=512, layers=4, heads=8, feedforward=1024, dropout=0.1, max_length=64)
    figures: dict[str, object] = {"smoothing": bench_smoothing(10_000_000 // scale, 500_000 // scale)}
    if args.device == "cpu":
        demo = EncoderConfig(width=128, layers=2, heads=4, feedforward=256, dropout=0.1, max_length=64)
        figures["temporal"] = [
            bench_temporal("demo", 512, demo, 16, 10 // scale + 1, 20_000 // scale),
            bench_temporal("paper", 2048, paper, 16, 4 // scale + 1, 50_000 // scale),
        ]
        figures["extraction"] = [
            bench_extraction("resnet18", 112, 4, 128 // scale, 64, args.workers),
            bench_extraction("resnet50", 112, 2, 128 // scale, 32, args.workers),
        ]
    else:
        figures["temporal"] = [bench_temporal("paper", 2048, paper, 64, 50, 50_000, args.device)]
        figures["extraction"] = [
            bench_extraction("resnet50", 224, 8, 1024 // scale, 256, args.workers, args.device),
            bench_extraction("resnet50", 112, 8, 1024 // scale, 256, args.workers, args.device),
        ]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
