from pathlib import Path

import pytest
from temporal_fixtures import write_fake_cache


@pytest.fixture
def fake_cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    write_fake_cache(folder, {"v1": 400, "v2": 300, "v3": 40}, split="train", seed=0)
    write_fake_cache(folder, {"w1": 120, "w2": 30}, split="validation", seed=0)
    return folder
