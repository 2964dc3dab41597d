"""Starting Debian's Chromium for the browser tests, or saying clearly why it cannot be started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REQUIRED = "SEMIFER_REQUIRE_BROWSER"


def no_browser(reason: str) -> NoReturn:
    """Skip, or fail where a browser is required: CI sets SEMIFER_REQUIRE_BROWSER=1, so that the
    browser tests cannot pass there by skipping."""
    if os.environ.get(REQUIRED) == "1":
        pytest.fail(f"{REQUIRED}=1 but {reason}")
    pytest.skip(reason)
