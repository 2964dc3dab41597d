"""The one table of ``benchmarks/gpu_check.sh``, built from the JSON files its steps wrote.

Usage: ``python benchmarks/gpu_check_table.py OUT``: prints the markdown table and writes it to
``OUT/table.md``; exit status 1 when a row is FAILED. Standard library only, so the table comes
out even where a step failed for a missing package.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

TORCHRUN_STEPS = {"stage1": "train-spatial", "extract": "extract-features", "temporal": "train-temporal"}


class CheckFileError(Exception):
    """A file a step should have written is missing or unreadable; the message names it."""


@dataclass(frozen=True)
class Row:
    check: str
    result: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result.startswith("FAILED")


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise CheckFileError(f"no {path.name}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckFileError(f"{path}: line {error.lineno}: {error.msg}") from None


def interval_rates(path: Path) -> list[float]:
    """``images_per_s`` of each logging interval in a stage-1 ``metrics.jsonl`` (validation rows have none)."""
    if not path.is_file():
        raise CheckFileError(f"no {path.parent.name}/{path.name}")
    rates = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise CheckFileError(f"{path}: line {number}: {error.msg}") from None
        if "images_per_s" in row:
            rates.append(float(row["images_per_s"]))
    return rates


def step_failure(out: Path, step: str) -> str | None:
    """Why ``step`` did not finish, from its status file; None when it exited 0."""
    try:
        status = read_json(out / f"{step}.status.json")
    except CheckFileError as error:
        return "not run" if str(error).startswith("no ") else str(error)
    if "skipped" in status:
        return str(status["skipped"])
    code = int(status["exit_code"])
    if code in (124, 137):  # timeout's TERM, then its KILL
        return f"timed out after {status['timeout_s']} s"
    return f"exit {code}, see {step}.log" if code else None


def require(out: Path, step: str) -> None:
    """A figure comes only from a step that exited 0."""
    failure = step_failure(out, step)
    if failure is not None:
        raise CheckFileError(failure)


def wall_s(out: Path, step: str) -> float:
    require(out, step)
    status = read_json(out / f"{step}.status.json")
    return float(status["ended"]) - float(status["started"])


def loop_rate(out: Path) -> tuple[float, int]:
    """Stage-1 training images/s of the real loop, and over how many intervals (the first, start-up, left out)."""
    require(out, "stage1")
    rates = interval_rates(out / "stage1" / "metrics.jsonl")
    if len(rates) < 2:
        raise CheckFileError(f"{len(rates)} logging interval(s) in stage1/metrics.jsonl, 2 needed")
    return statistics.mean(rates[1:]), len(rates) - 1


def spatial_figures(out: Path) -> dict[str, Any]:
    require(out, "bench_spatial")
    return dict(read_json(out / "bench_spatial.json"))


def step_rate(out: Path) -> float:
    """Images/s of the SSL exact step alone, counted as the loop counts them (labeled + both unlabeled views)."""
    figures = spatial_figures(out)
    return float(figures["images_per_step"]["exact"] / figures["step_s"]["exact"])


def stage1_rows(out: Path, settings: dict[str, Any]) -> list[Row]:
    what = f"{settings['backbone']} {settings['image_size']} px, batch {settings['batch']}, bf16, channels_last"
    loop_check, alone_check = "stage 1 training, end to end (images/s)", "stage 1 SSL exact step alone (images/s)"

    def loop() -> list[Row]:
        rate, intervals = loop_rate(out)
        detail = (f"`semifer train-spatial -c abaw6` under torchrun, {what}, loader workers: {settings['workers']}; "
                  f"mean of {intervals} logging intervals after the first")
        return [Row(loop_check, f"{rate:,.1f}", detail)]

    def alone() -> list[Row]:
        where = spatial_figures(out)["where"]
        return [Row(alone_check, f"{step_rate(out):,.1f}", f"`bench_spatial.py` on random tensors, {where}")]

    def ratio() -> list[Row]:
        ratio = loop_rate(out)[0] / step_rate(out)
        return [Row("end to end / step alone", f"{ratio:.2f}", "under 1: the loop waits on data loading or its own work")]

    return [*guarded(loop_check, loop), *guarded(alone_check, alone), *guarded("end to end / step alone", ratio)]


def ssl_step_rows(out: Path) -> list[Row]:
    figures = spatial_figures(out)
    variants = ("exact", "taylor", "supervised")
    times = " / ".join(f"{1000 * figures['step_s'][v]:.1f}" for v in variants)
    ratios = " / ".join(f"{figures['step_s'][v] / figures['predicted_s'][v]:.2f}" for v in variants)
    peaks = " / ".join(f"{figures['peak_mb'][v]:,.0f}" for v in variants)
    detail = (f"`bench_spatial.py`, {figures['backbone']} {figures['image_size']} px, batch {figures['batch']}, "
              f"{figures['where']}; measured / predicted {ratios}; peak MB {peaks}")
    return [Row("SSL step ms: exact / taylor / supervised", times, detail)]


def extraction_rows(out: Path) -> list[Row]:
    require(out, "bench_temporal")
    rows = []
    for run in read_json(out / "bench_temporal.json")["extraction"]:
        end_to_end, model = run["end_to_end_frames_per_s"], run["model_only_frames_per_s"]
        rows.append(Row(
            f"feature extraction {run['backbone']} {run['image_size']} px, end to end / model only (frames/s)",
            f"{end_to_end:,.0f} / {model:,.0f} = {end_to_end / model:.0%}",
            f"`bench_temporal.py` on {run['device']}: {run['frames']} frames, batch {run['batch_size']}, "
            f"decoding workers: {run['workers']}",
        ))
    return rows


def finished(out: Path, step: str, check: str, detail: str = "") -> list[Row]:
    """A row saying that ``step`` exited 0, and in how long."""
    return [Row(check, f"exit 0 in {wall_s(out, step):.1f} s", detail)]


def guarded(check: str, build: Callable[[], list[Row]]) -> list[Row]:
    """``build()``, or one FAILED row saying which step failed or which file was missing or odd."""
    try:
        return build()
    except CheckFileError as error:
        reason = str(error)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        reason = f"unexpected content: {type(error).__name__} {error}"
    return [Row(check, f"FAILED ({reason})")]


def rows(out: Path, settings: dict[str, Any]) -> list[Row]:
    nproc = settings["nproc"]
    backend = "nccl" if settings["device"] == "cuda" else "gloo"
    # semifer.runs.distributed.setup joins a process group in every process torchrun starts.
    group = f"{backend} process group, {nproc} process{'es' if nproc > 1 else ''}"
    wheels = "wheels (`gpu_check_wheels.sh install`)"
    table = [
        *guarded(wheels, lambda: finished(out, "wheels", wheels, first_line(out / "wheels.log"))),
        *stage1_rows(out, settings),
        *guarded("SSL step ms: exact / taylor / supervised", lambda: ssl_step_rows(out)),
        *guarded("feature extraction, end to end / model only (frames/s)", lambda: extraction_rows(out)),
    ]
    for step, command in TORCHRUN_STEPS.items():
        check = f"torchrun --nproc_per_node {nproc}: `semifer {command}`"
        table += guarded(check, partial(finished, out, step, check, group))
    synth = f"`semifer synth OUT --scale {settings['scale']}` wall time"
    table += guarded(synth, lambda: finished(out, "synth", synth))
    return table


def first_line(path: Path) -> str:
    lines = path.read_text().splitlines() if path.is_file() else []
    return lines[0] if lines else ""


def header(out: Path, settings: dict[str, Any]) -> list[str]:
    mode = f"DEVICE={settings['device']}" + (" QUICK=1" if settings["quick"] else "")
    try:
        env = read_json(out / "environment.json")
        machine = (
            f"{env['gpu'] or 'no GPU'}, {env['cpus']} CPUs, Python {env['python']}, torch {env['torch']}, timm {env['timm']}"
        )
        date = env["date"]
    except (CheckFileError, KeyError) as error:
        machine, date = f"environment FAILED ({step_failure(out, 'environment') or error})", "date unknown"
    lines = [f"GPU check, {date}: {machine}; {mode}", ""]
    if settings["device"] != "cuda":
        sizes = " at smoke sizes" if settings["quick"] else ""
        lines += [
            f"**No GPU figure was measured**: every step ran on the CPU{sizes}, torchrun with gloo, not nccl. "
            "The rows show that the whole flow runs; their figures say nothing about a GPU.",
            "",
        ]
    return lines


def render(out: Path) -> tuple[str, bool]:
    """The header and markdown table, and whether any row FAILED."""
    settings = read_json(out / "settings.json")
    table = rows(out, settings)
    lines = header(out, settings) + ["| check | result | detail |", "| --- | ---: | --- |"]
    lines += [f"| {row.check} | {row.result} | {row.detail} |" for row in table]
    return "\n".join(lines) + "\n", any(row.failed for row in table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the output folder of benchmarks/gpu_check.sh")
    args = parser.parse_args(argv)
    try:
        text, failed = render(args.out)
    except CheckFileError as error:
        sys.stderr.write(f"{args.out}: not a gpu_check.sh output folder ({error})\n")
        return 2
    sys.stdout.write(text)
    (args.out / "table.md").write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
