"""Fixtures of the review tests: one tiny demo folder and its review, built once; a headless Chromium."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from review_browser import CHROMIUM, CHROMIUM_ARGS, no_browser  # noqa: E402
from review_fixtures import DemoFixture, make_demo_folder  # noqa: E402


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFixture:
    return make_demo_folder(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def review_site(demo: DemoFixture, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The review of ``demo``, written by the function the demo calls."""
    from semifer.review import build_review

    return build_review(demo.root, tmp_path_factory.mktemp("review") / "site").parent


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by playwright (no browser download)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        no_browser("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        no_browser(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as error:
            no_browser(f"{CHROMIUM} did not start: {str(error).strip().splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test on any request that is not a file on disk."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    remote: list[str] = []
    errors: list[str] = []
    opened.on("request", lambda request: None if request.url.startswith("file://") else remote.append(request.url))
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not remote, f"pages must work offline, but they requested {remote}"
    assert not errors, f"script errors: {errors}"
