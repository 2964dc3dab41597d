"""`semifer demo OUT --seeds 0,1,2`: the demo once per seed, then the spread of every row.

One seed's ablation moves by several points between runs on the synthetic data (a ranking of
supervised and SSL flipped between two runs), so a claim about the ordering of the rows needs
the rows over seeds. Each seed is a normal demo folder ``OUT/seed-<n>/`` (resumable); the
summary, ``OUT/seeds.md``, is rebuilt from their stage markers every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from semifer.checkpoint import atomic_write_text
from semifer.demo.page import table
from semifer.demo.pipeline import FULL, QUICK, Demo
from semifer.demo.rows import CHANCE_ROW, MAJORITY_ROW, PROBE_ROW
from semifer.errors import ConfigError
from semifer.temporal.ablation import SSL_ROW, SUPERVISED_ROW, TEMPORAL_ROW

# The ordering the method predicts, with the margins asked of it: SSL must add at least 0.02
# over the supervised baseline, the temporal encoder 0.02 over its per-frame input, and the
# vote may cost at most 0.01.
SSL_GAIN = 0.02
TEMPORAL_GAIN = 0.02
VOTE_TOLERANCE = 0.01
WALL_TIME_ROW = "wall time (s, stages summed)"


def parse_seeds(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``: distinct non-negative integers, comma-separated."""
    parts = [part.strip() for part in text.split(",")]
    if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
        raise ConfigError(f"--seeds takes comma-separated non-negative integers such as 0,1,2, not {text!r}")
    seeds = [int(part) for part in parts]
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise ConfigError(f"--seeds names seed {', '.join(map(str, repeated))} more than once: {text!r}")
    return seeds


@dataclass
class SeedResult:
    """What one seed's demo scored: ablation rows in table order, reference rows, wall time."""

    seed: int
    rows: dict[str, float]
    references: dict[str, float]
    seconds: float


def seed_result(demo: Demo) -> SeedResult:
    """Read a finished demo's stage results."""
    ablation, probe = demo.results["ablation"], demo.results["probe"]
    return SeedResult(
        seed=demo.seed,
        rows={name: float(ablation["rows"][name]["macro_f1"]) for name in ablation["order"]},
        references={
            PROBE_ROW: float(probe["hog"]["macro_f1"]),
            CHANCE_ROW: float(probe["chance_macro_f1"]),
            MAJORITY_ROW: float(probe["majority_macro_f1"]),
        },
        seconds=float(sum(result.get("seconds", 0.0) for result in demo.results.values())),
    )


def ordering_checks(rows: dict[str, float]) -> list[tuple[str, bool]]:
    """Each link of SSL >= supervised + 0.02; SSL + temporal >= SSL + 0.02; vote >= SSL + temporal - 0.01.

    A row that is missing fails its checks.
    """
    vote = next((name for name in rows if name.startswith(f"{TEMPORAL_ROW} + ")), f"{TEMPORAL_ROW} + vote")
    links = [
        (SSL_ROW, SUPERVISED_ROW, SSL_GAIN),
        (TEMPORAL_ROW, SSL_ROW, TEMPORAL_GAIN),
        (vote, TEMPORAL_ROW, -VOTE_TOLERANCE),
    ]
    checks = []
    for left, right, margin in links:
        shift = f" {'+' if margin > 0 else '-'} {abs(margin):.2f}" if margin else ""
        if left not in rows or right not in rows:
            checks.append((f"{left} >= {right}{shift}: row missing", False))
            continue
        # Compared at the 4 decimals printed, so the verdict agrees with the figures shown.
        value, bound = round(rows[left], 4), round(rows[right] + margin, 4)
        checks.append((f"{left} {rows[left]:.4f} >= {right} {rows[right]:.4f}{shift}", value >= bound))
    return checks


def ordering_line(result: SeedResult) -> str:
    checks = ordering_checks(result.rows)
    verdict = "holds" if all(holds for _, holds in checks) else "does not hold"
    return f"seed {result.seed}: ordering {verdict} (" + "; ".join(f"{text}: {'yes' if holds else 'no'}" for text, holds in checks) + ")"


def _spread(values: list[float | None], digits: int) -> str:
    known = [value for value in values if value is not None]
    if not known:
        return "-"
    if len(known) < 2:
        return f"{known[0]:.{digits}f} (one seed)"
    return f"{np.mean(known):.{digits}f} ± {np.std(known, ddof=1):.{digits}f}"


def summary_cells(results: list[SeedResult]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: every ablation and reference row, then wall time; mean ± sd, then each seed."""
    names = list(dict.fromkeys(name for result in results for name in [*result.rows, *result.references]))
    header = ["row", "mean ± sd", *(f"seed {result.seed}" for result in results)]
    rows = []
    for name in names:
        values = [result.rows.get(name, result.references.get(name)) for result in results]
        rows.append([name, _spread(values, 4), *("-" if value is None else f"{value:.4f}" for value in values)])
    seconds: list[float | None] = [result.seconds for result in results]
    rows.append([WALL_TIME_ROW, _spread(seconds, 0), *(f"{value:.0f}" for value in seconds)])
    return header, rows


def seeds_markdown(results: list[SeedResult]) -> str:
    header, rows = summary_cells(results)
    return (
        f"# semifer demo over seeds {', '.join(str(result.seed) for result in results)}\n\n"
        "Validation macro F1 of each row of every seed's report (`seed-<n>/report/report.md`); "
        "sd is the sample standard deviation over seeds (n - 1).\n\n"
        + table(header, rows)
        + "\n\n## Does the ordering hold?\n\n"
        + f"SSL >= supervised + {SSL_GAIN:.2f}; SSL + temporal >= SSL + {TEMPORAL_GAIN:.2f}; "
        f"vote >= SSL + temporal - {VOTE_TOLERANCE:.2f}.\n\n"
        + "\n".join(f"- {ordering_line(result)}" for result in results)
        + "\n"
    )


def seeds_table(results: list[SeedResult]) -> Table:
    header, rows = summary_cells(results)
    view = Table(*header, title="validation macro F1 over seeds")
    for row in rows:
        view.add_row(*row)
    return view


def run_seeds(out: Path, seeds: list[int], quick: bool = False, console: Console | None = None) -> Path:
    """Run (or finish) the demo in ``out/seed-<n>`` for each seed; returns ``out/seeds.md``."""
    console = console or Console()
    results = []
    for seed in seeds:
        console.rule(f"[bold]seed {seed}")
        size = replace(QUICK if quick else FULL, feedback_ablation=True)
        demo = Demo(Path(out) / f"seed-{seed}", size, seed, console)
        demo.run()
        results.append(seed_result(demo))
    path = Path(out) / "seeds.md"
    atomic_write_text(path, seeds_markdown(results))
    console.print(seeds_table(results))
    for result in results:
        console.print(ordering_line(result), highlight=False)
    return path
