"""The GPU check's table from fixture JSON: figures where steps finished, FAILED rows where not."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "gpu_check_table.py"


@pytest.fixture(scope="module")
def table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def status(out: Path, step: str, exit_code: int = 0, seconds: float = 2.5) -> None:
    write(out / f"{step}.status.json", {"step": step, "exit_code": exit_code, "started": 100.0, "ended": 100.0 + seconds, "timeout_s": 90})


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A check that ran every step but bench_temporal, whose extract timed out and so skipped temporal."""
    write(tmp_path / "settings.json", {
        "device": "cuda", "quick": False, "nproc": 1, "scale": "demo", "backbone": "resnet50",
        "image_size": 224, "batch": 32, "steps": 60, "workers": 8, "budget_s": 330,
    })
    write(tmp_path / "environment.json", {
        "date": "2026-11-29 00:00 UTC", "python": "3.12.3", "torch": "2.11.0", "timm": "1.0.29", "cuda": True,
        "gpu": "NVIDIA H200", "cpus": 16,
    })
    for step in ("wheels", "environment", "synth", "bench_spatial", "stage1"):
        status(tmp_path, step)
    status(tmp_path, "extract", exit_code=124)
    write(tmp_path / "temporal.status.json", {"step": "temporal", "skipped": "needs the feature cache: extract failed"})
    (tmp_path / "wheels.log").write_text("installing from gpu-check-wheels: omegaconf==2.4.0 av==18.1.0\n")
    write(tmp_path / "bench_spatial.json", {
        "backbone": "resnet50", "image_size": 224, "batch": 32, "where": "NVIDIA H200, bf16 autocast, channels_last",
        "step_s": {"supervised": 0.025, "exact": 0.096, "taylor": 0.08},
        "predicted_s": {"supervised": 0.025, "exact": 0.096, "taylor": 0.1},
        "peak_mb": {"supervised": 1700.0, "exact": 6100.0, "taylor": 6000.0},
        "images_per_step": {"supervised": 32, "exact": 96, "taylor": 96},
    })
    rows = [{"step": 10, "images_per_s": 50.0}, {"step": 20, "images_per_s": 400.0}, {"step": 20, "macro_f1": 0.1},
            {"step": 30, "images_per_s": 600.0}]
    (tmp_path / "stage1").mkdir()
    (tmp_path / "stage1" / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return tmp_path


def results(table: ModuleType, out: Path) -> dict[str, str]:
    return {row.check: row.result for row in table.rows(out, json.loads((out / "settings.json").read_text()))}


def test_figures_of_finished_steps(table: ModuleType, out: Path) -> None:
    found = results(table, out)
    assert found["stage 1 training, end to end (images/s)"] == "500.0"  # the first interval (start-up) left out
    assert found["stage 1 SSL exact step alone (images/s)"] == "1,000.0"  # 96 images in 0.096 s
    assert found["end to end / step alone"] == "0.50"
    assert found["SSL step ms: exact / taylor / supervised"] == "96.0 / 80.0 / 25.0"
    assert found["torchrun --nproc_per_node 1: `semifer train-spatial`"] == "exit 0 in 2.5 s"
    assert found["`semifer synth OUT --scale demo` wall time"] == "exit 0 in 2.5 s"
    assert found["wheels (`gpu_check_wheels.sh install`)"] == "exit 0 in 2.5 s"


def test_missing_timed_out_and_skipped_steps_are_failed_rows(table: ModuleType, out: Path) -> None:
    found = results(table, out)
    assert found["feature extraction, end to end / model only (frames/s)"] == "FAILED (not run)"
    assert found["torchrun --nproc_per_node 1: `semifer extract-features`"] == "FAILED (timed out after 90 s)"
    assert found["torchrun --nproc_per_node 1: `semifer train-temporal`"] == "FAILED (needs the feature cache: extract failed)"


def test_failed_step_fails_every_figure_it_feeds(table: ModuleType, out: Path) -> None:
    status(out, "bench_spatial", exit_code=1)
    found = results(table, out)
    assert found["stage 1 training, end to end (images/s)"] == "500.0"
    for check in ("stage 1 SSL exact step alone (images/s)", "end to end / step alone", "SSL step ms: exact / taylor / supervised"):
        assert found[check] == "FAILED (exit 1, see bench_spatial.log)"


def test_unreadable_results_name_the_file_and_line(table: ModuleType, out: Path) -> None:
    (out / "stage1" / "metrics.jsonl").write_text('{"images_per_s": 1.0}\n{"images_per_s": \n')
    (out / "bench_spatial.json").write_text('{"step_s": {}}')
    found = results(table, out)
    assert found["stage 1 training, end to end (images/s)"] == f"FAILED ({out / 'stage1' / 'metrics.jsonl'}: line 2: Expecting value)"
    assert found["stage 1 SSL exact step alone (images/s)"].startswith("FAILED (unexpected content: KeyError")


def test_main_prints_the_table_and_fails_on_a_failed_row(table: ModuleType, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert table.main([str(out)]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("GPU check, 2026-11-29 00:00 UTC: NVIDIA H200, 16 CPUs, Python 3.12.3, torch 2.11.0")
    assert "| torchrun --nproc_per_node 1: `semifer train-temporal` | FAILED (needs the feature cache: extract failed) |" in printed
    assert "No GPU figure" not in printed
    assert (out / "table.md").read_text() == printed


def test_cpu_run_says_no_gpu_figure_was_measured(table: ModuleType, out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = json.loads((out / "settings.json").read_text())
    write(out / "settings.json", {**settings, "device": "cpu", "quick": True})
    table.main([str(out)])
    assert "**No GPU figure was measured**: every step ran on the CPU at smoke sizes" in capsys.readouterr().out


def test_folder_without_settings_is_refused(table: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert table.main([str(tmp_path)]) == 2
    assert "not a gpu_check.sh output folder (no settings.json)" in capsys.readouterr().err
