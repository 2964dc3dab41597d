"""`semifer demo --seeds`: parsing, the summary over seeds and the ordering check, without training."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from semifer.cli import main
from semifer.demo.report_builder import stage_one_panels
from semifer.demo.rows import CHANCE_ROW, FEEDBACK_OFF_ROW, MAJORITY_ROW, PROBE_ROW
from semifer.demo.seeds import SeedResult, ordering_checks, ordering_line, parse_seeds, seeds_markdown, summary_cells
from semifer.errors import ConfigError

VOTE = "SSL + temporal + window vote (30)"


def result(seed: int, supervised: float, ssl: float, temporal: float, vote: float, seconds: float = 60.0) -> SeedResult:
    rows = {"supervised (per frame)": supervised, FEEDBACK_OFF_ROW: 0.05, "SSL (per frame)": ssl, "SSL + temporal": temporal, VOTE: vote}
    references = {PROBE_ROW: 0.3, CHANCE_ROW: 0.1, MAJORITY_ROW: 0.05}
    return SeedResult(seed, rows, references, seconds)


def test_parse_seeds() -> None:
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds(" 3, 10 ") == [3, 10]
    assert parse_seeds("7") == [7]


@pytest.mark.parametrize("text", ["", ",", "0,,1", "-1", "1.5", "a", "0;1", "٣"])
def test_bad_seeds_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="comma-separated non-negative integers"):
        parse_seeds(text)


def test_repeated_seeds_are_refused() -> None:
    with pytest.raises(ConfigError, match="seed 1 more than once"):
        parse_seeds("1,2,1")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(["--seeds", "0,0"], "more than once"), (["--seeds", ""], "non-negative"), (["--seeds", "0,1", "--seed", "1"], "together")],
)
def test_cli_refuses_before_any_work(arguments: list[str], message: str, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(sys, "argv", ["semifer", "demo", str(out), *arguments])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and message in error and "\n" not in error
    assert not out.exists()


def test_ordering_is_computed_link_by_link() -> None:
    assert all(holds for _, holds in ordering_checks(result(0, 0.05, 0.09, 0.11, 0.101).rows))
    checks = ordering_checks(result(1, 0.10, 0.09, 0.105, 0.09).rows)
    assert [holds for _, holds in checks] == [False, False, False]
    assert checks[0][0] == "SSL (per frame) 0.0900 >= supervised (per frame) 0.1000 + 0.02"
    assert checks[1][0] == "SSL + temporal 0.1050 >= SSL (per frame) 0.0900 + 0.02"
    assert [holds for _, holds in ordering_checks(result(2, 0.05, 0.07, 0.09, 0.08).rows)] == [True, True, True]  # at the margins
    assert [holds for _, holds in ordering_checks(result(2, 0.05, 0.06, 0.09, 0.08).rows)][0] is False  # SSL + 0.01 only
    assert ordering_line(result(2, 0.05, 0.09, 0.11, 0.10)).startswith("seed 2: ordering holds (")
    missing = result(3, 0.05, 0.09, 0.11, 0.10)
    del missing.rows[VOTE]
    assert ordering_checks(missing.rows)[2] == ("SSL + temporal + vote >= SSL + temporal - 0.01: row missing", False)


def test_summary_has_mean_sd_and_every_seed() -> None:
    results = [result(0, 0.05, 0.09, 0.11, 0.11, seconds=100), result(4, 0.07, 0.08, 0.12, 0.10, seconds=140)]
    header, rows = summary_cells(results)
    assert header == ["row", "mean ± sd", "seed 0", "seed 4"]
    by_name = {row[0]: row[1:] for row in rows}
    assert list(by_name)[:2] == ["supervised (per frame)", FEEDBACK_OFF_ROW]
    assert by_name["supervised (per frame)"] == [f"0.0600 ± {math.sqrt(2e-4):.4f}", "0.0500", "0.0700"]
    assert by_name[CHANCE_ROW] == ["0.1000 ± 0.0000", "0.1000", "0.1000"]
    assert by_name["wall time (s, stages summed)"] == ["120 ± 28", "100", "140"]
    text = seeds_markdown(results)
    assert "- seed 0: ordering holds" in text and "- seed 4: ordering does not hold" in text
    assert f"| {PROBE_ROW} | 0.3000 ± 0.0000 | 0.3000 | 0.3000 |" in text


def test_one_seed_has_no_spread_and_missing_rows_show_a_dash() -> None:
    one = result(0, 0.05, 0.09, 0.11, 0.11)
    other = result(1, 0.05, 0.09, 0.11, 0.11)
    del other.rows[FEEDBACK_OFF_ROW]
    assert {row[0]: row[1] for row in summary_cells([one])[1]}["SSL + temporal"] == "0.1100 (one seed)"
    assert {row[0]: row[1:] for row in summary_cells([one, other])[1]}[FEEDBACK_OFF_ROW] == ["0.0500 (one seed)", "0.0500", "-"]


def test_labeled_cross_entropy_panel_has_three_lines_and_a_chance_line() -> None:
    labeled = stage_one_panels(["supervised", "ssl", "ssl-f0"])[1]
    assert labeled.lines == {
        "supervised": ("supervised", "loss/supervised"),
        "SSL teacher": ("ssl", "loss/supervised"),
        "SSL student": ("ssl", "loss/student_labeled"),
    }
    assert labeled.reference == (pytest.approx(math.log(8)), "chance (ln 8)")
