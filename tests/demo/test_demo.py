"""`semifer demo` end to end on small synthetic data: every stage, the report, and skipping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from semifer.demo.pipeline import Demo, DemoSize

# The smallest scale whose training videos label every class (the balanced sampler needs all 8).
SMALL = DemoSize(scale="small", spatial_steps=4, eval_every=2, temporal_epochs=1)


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    demo = Demo(tmp_path_factory.mktemp("demo"), SMALL, seed=0, console=Console(quiet=True))
    demo.run()
    return demo


def test_demo_runs_every_stage_and_writes_a_report(finished_demo: Demo) -> None:
    paths = finished_demo.paths
    for stage in ("data", "supervised", "ssl", "features", "temporal", "ablation", "report"):
        assert paths.marker(stage).is_file(), stage
    ablation = json.loads(paths.marker("ablation").read_text())
    assert ablation["order"][0].startswith("supervised") and len(ablation["order"]) == 4
    for row in ablation["rows"].values():
        assert 0.0 <= row["macro_f1"] <= 1.0 and row["frames"] > 0
    report = (paths.report / "report.md").read_text()
    html = (paths.report / "index.html").read_text()
    images = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert len(images) >= 6  # per-class F1, 4 confusion matrices, curves, timeline
    for image in images:
        assert (paths.report / image).stat().st_size > 1000, image
        assert f'src="{image}"' in html
    assert "0.4443" in report  # the paper's figure, labeled as the paper's


def test_a_second_run_skips_finished_stages(finished_demo: Demo) -> None:
    checkpoint = Path(finished_demo.results["ssl"]["checkpoint"])
    before = checkpoint.stat().st_mtime_ns
    again = Demo(finished_demo.paths.out, SMALL, seed=0, console=Console(quiet=True))
    again.run()
    assert checkpoint.stat().st_mtime_ns == before
    assert again.results["ssl"]["checkpoint"] == str(checkpoint)
