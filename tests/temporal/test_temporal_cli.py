"""End to end through the CLI: stage-1 checkpoint -> cache -> temporal run -> submission -> F1 -> ablation."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from semifer.checkpoint import save_tensors
from semifer.cli import app
from semifer.data.affwild2 import AffWild2Writer
from semifer.errors import DataFormatError
from semifer.models.backbone import FrameModelSpec, create_backbone


def stage1_checkpoint(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    model = create_backbone("resnet10t", 8)
    folder.mkdir(parents=True)
    save_tensors(folder / "student.safetensors", model.state_dict())
    FrameModelSpec.for_model(model, "resnet10t", image_size=32, resize_size=36).save(folder)
    return folder


def write_data(root: Path) -> None:
    rng = np.random.default_rng(0)
    writer = AffWild2Writer(root)
    for split, count in (("train", 3), ("validation", 2)):
        for index in range(count):
            frames = int(rng.integers(20, 40))
            labels = np.repeat(rng.integers(0, 8, size=4), 10)[:frames]
            images = [cv2.imencode(".jpg", rng.integers(0, 255, (36, 36, 3), dtype=np.uint8))[1].tobytes() for _ in range(frames)]
            images[3] = None
            writer.write_video(split, f"{split}-{index}", labels.tolist(), images, extra_annotation_line=index == 0)


def test_stage2_end_to_end_through_the_cli(tmp_path: Path) -> None:
    write_data(tmp_path / "data")
    ssl = stage1_checkpoint(tmp_path / "ssl", 0)
    supervised = stage1_checkpoint(tmp_path / "supervised", 1)
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    invoke("extract-features", ssl, tmp_path / "data", tmp_path / "cache", "--workers", "0", "--no-progress")
    assert len(list((tmp_path / "cache" / "validation").glob("*.safetensors"))) == 2
    invoke("train-temporal", "--config", Path("configs/temporal-demo.yaml"), "--no-progress", f"features={tmp_path / 'cache'}",
           f"run_dir={tmp_path / 'run'}", "epochs=1", "clip_length=16", "stride=8", "inference_stride=8")
    invoke("submit", tmp_path / "run" / "best", tmp_path / "cache", tmp_path / "sub.txt")
    annotations = tmp_path / "data" / "annotations" / "Validation_Set"
    output = invoke("evaluate", tmp_path / "sub.txt", annotations, "--plots", tmp_path / "plots")
    assert "sub.txt: 2 videos" in output and (tmp_path / "plots" / "confusion-raw.png").is_file()
    output = invoke("ablation", ssl, tmp_path / "run" / "best", tmp_path / "data", "--supervised", supervised,
                    "--cache", tmp_path / "ablation-cache", "--out", tmp_path / "ablation.md", "--workers", "0")
    table = (tmp_path / "ablation.md").read_text()
    assert all(row in table for row in ("supervised (per frame)", "SSL (per frame)", "SSL + temporal |", "window vote"))
    lines = (tmp_path / "sub.txt").read_text().splitlines()
    for bad, message in ((lines[:5] + lines[6:], "missing frame 00005"), (lines[:-5], "validation-1 has no prediction for frame")):
        (tmp_path / "bad.txt").write_text("\n".join(bad) + "\n")
        with pytest.raises(DataFormatError, match=message):
            runner.invoke(app, ["evaluate", str(tmp_path / "bad.txt"), str(annotations)], catch_exceptions=False)
    (tmp_path / "one.txt").write_text("\n".join(line for line in lines if not line.startswith("validation-1/")) + "\n")
    with pytest.raises(DataFormatError, match="no predictions for 1 video.*validation-1"):
        runner.invoke(app, ["evaluate", str(tmp_path / "one.txt"), str(annotations)], catch_exceptions=False)
