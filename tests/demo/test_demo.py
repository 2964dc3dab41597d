"""`semifer demo` end to end on small synthetic data: every stage, the report, and skipping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from semifer.demo.pipeline import FULL, QUICK, Demo, DemoSize
from semifer.demo.rows import CHANCE_ROW, FEEDBACK_OFF_ROW, PROBE_ROW

# The smallest scale whose training videos label every class (the balanced sampler needs all 8);
# 5 stage-1 steps, so that the loop's diagnostics (every 5 steps) are measured once.
SMALL = DemoSize(scale="small", spatial_steps=5, eval_every=5, temporal_epochs=1)


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    demo = Demo(tmp_path_factory.mktemp("demo"), SMALL, seed=0, console=Console(quiet=True))
    demo.run()
    return demo


def test_demo_runs_every_stage_and_writes_a_report(finished_demo: Demo) -> None:
    paths = finished_demo.paths
    for stage in ("data", "supervised", "ssl", "ssl-f0", "features", "probe", "temporal", "ablation", "predict", "report", "review"):
        assert paths.marker(stage).is_file(), stage
    assert (paths.review / "index.html").is_file()
    assert len(list(paths.review.glob("**/*.html"))) > 2  # the overview and one page per video
    config = finished_demo.spatial_config("ssl-f0")
    assert config.ssl.feedback == "none" and config.mode == "ssl" and config.seed == 0
    assert finished_demo.spatial_config("ssl").ssl.feedback != "none"
    ablation = json.loads(paths.marker("ablation").read_text())
    assert ablation["order"][:3] == ["supervised (per frame)", FEEDBACK_OFF_ROW, "SSL (per frame)"]
    assert len(ablation["order"]) == 5
    for row in ablation["rows"].values():
        assert 0.0 <= row["macro_f1"] <= 1.0 and row["frames"] > 0
    report = (paths.report / "report.md").read_text()
    html = (paths.report / "index.html").read_text()
    images = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert len(images) >= 7  # per-class F1, 5 confusion matrices, curves, timeline
    for image in images:
        assert (paths.report / image).stat().st_size > 1000, image
        assert f'src="{image}"' in html
    assert "0.4443" in report  # the paper's figure, labeled as the paper's
    probe = finished_demo.results["probe"]
    assert f"| {FEEDBACK_OFF_ROW} | {ablation['rows'][FEEDBACK_OFF_ROW]['macro_f1']:.4f} |" in report
    assert f"| {PROBE_ROW} | {probe['hog']['macro_f1']:.4f} |" in report
    assert f"| {CHANCE_ROW} | {probe['chance_macro_f1']:.4f} |" in report
    assert 0.0 < probe["chance_macro_f1"] <= 1 / 8 and probe["hog"]["frames"] > 0
    rows = [json.loads(line) for line in (paths.run("ssl") / "metrics.jsonl").read_text().splitlines()]
    measured = [row for row in rows if "loop/student_agreement" in row][-1]
    section = report.split("does the student follow its teacher?")[1]
    assert f"face {measured['loop/student_agreement']:.0%} of the time" in section
    assert f"({measured['loop/teacher_self_agreement']:.0%})" in section and "stage1_loop.png" in section
    predicted = finished_demo.results["predict"]
    assert predicted["report"]["frames"] > 0 and 0.0 < predicted["face_share"] <= 1.0
    assert f"{predicted['report']['macro_f1']:.4f}" in report.split("semifer predict` on a held-out raw video")[1]
    assert Path(predicted["predictions"]).is_file()


def test_a_second_run_skips_finished_stages(finished_demo: Demo) -> None:
    checkpoint = Path(finished_demo.results["ssl"]["checkpoint"])
    before = checkpoint.stat().st_mtime_ns
    again = Demo(finished_demo.paths.out, SMALL, seed=0, console=Console(quiet=True))
    again.run()
    assert checkpoint.stat().st_mtime_ns == before
    assert again.results["ssl"]["checkpoint"] == str(checkpoint)


def test_a_shorter_demo_keeps_the_recipes_phases_at_their_share_of_the_run(tmp_path: Path) -> None:
    quick = Demo(tmp_path, QUICK, seed=0, console=Console(quiet=True))
    full = Demo(tmp_path, FULL, seed=0, console=Console(quiet=True))
    short, whole = quick.spatial_config("ssl"), full.spatial_config("ssl")
    assert whole.steps == 1200 and whole.ssl.student_wait_steps == 200
    assert short.steps == 80 and short.ssl.student_wait_steps == 200 * 80 // 1200
    assert short.ssl.lambda_c_warmup == whole.ssl.lambda_c_warmup * 80 // 1200
