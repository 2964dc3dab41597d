"""One tiny synthetic data set per test session, shared by the synth tests (about 1.5 s)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from semifer.synth import generate


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "tiny"
    generate(out, scale="tiny", seed=0, workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_manifest(tiny: Path) -> dict[str, Any]:
    return json.loads((tiny / "manifest.json").read_text())
