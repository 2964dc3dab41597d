"""The rendering pool: results in job order, thread limits in the workers, no hang on a dead worker."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from semifer.synth.generate import _run


def test_results_come_in_job_order_from_single_threaded_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "16")
    jobs = [("OMP_NUM_THREADS",), ("OPENBLAS_NUM_THREADS",), ("HOME",)]
    assert list(_run(os.getenv, jobs, workers=2)) == ["1", "1", os.environ.get("HOME")]
    assert os.environ["OPENBLAS_NUM_THREADS"] == "16"  # the parent's environment is given back


def test_a_worker_that_dies_stops_generation_instead_of_hanging() -> None:
    with pytest.raises(BrokenProcessPool):
        list(_run(os._exit, [(3,), (3,)], workers=2))
