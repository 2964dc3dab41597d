"""The kill-and-resume benchmark, shortened: 3 SIGKILLs per stage (a few minutes on 2 cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "kill_resume.py"


@pytest.mark.slow
def test_three_kills_per_stage_lose_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--kills", "3", "--seed", "1", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.count("corrupt visible checkpoints: 0") == 2
    assert result.stdout.count("lost best/: 0 ") == 2
    assert result.stdout.count("final weights and optimizer state bit-identical to the uninterrupted run: yes") == 2
