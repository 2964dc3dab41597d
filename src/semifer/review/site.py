"""Writing the review folder: the pages, one data file per video, and every script they load.

Layout of ``OUT``::

    index.html, data/overview.js        the overview and its data
    data/cells.js                       the frames of every confusion-matrix cell (loaded on a click)
    videos/<video>.html, <video>.js     one page per video and its data, loaded by that page only
    frames/<video>/000000.jpg ...       frames decoded from predicted videos (validation crops are linked)
    assets/                             review.css, overview.js, timeline.js, video.js, plotly.min.js

Data files are scripts that set one global (``window.SEMIFER_...``): a page opened from disk
(file://) may load scripts from its folder, while ``fetch`` of a JSON file there is refused by
browsers. Nothing is fetched from a network.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from importlib.resources import files
from pathlib import Path
from string import Template

from semifer.errors import SemiferError
from semifer.inference.render import CLASS_COLOURS
from semifer.labels import ABAW_CLASSES
from semifer.review.summary import PREDICTIONS, MatrixGroup, cell_spans, group_report, report_row, video_summary
from semifer.review.video import ReviewVideo

ASSETS = ("review.css", "overview.js", "timeline.js", "video.js")
PLOTLY_SCRIPT = "plotly.min.js"
COLOURS = ["#{:02x}{:02x}{:02x}".format(*map(int, colour)) for colour in CLASS_COLOURS]


def _asset(name: str) -> str:
    return (files("semifer.review") / "assets" / name).read_text(encoding="utf-8")


def plotly_script() -> Path:
    """``plotly.min.js`` as the ``plotly`` package ships it: copied into the folder, so pages work offline."""
    try:
        import plotly
    except ImportError:
        raise SemiferError("the review pages need the plotly package (pip install plotly)") from None
    path = Path(plotly.__file__).parent / "package_data" / PLOTLY_SCRIPT
    if not path.is_file():
        raise SemiferError(f"{path}: the plotly package has no {PLOTLY_SCRIPT}; reinstall plotly")
    return path


def safe_name(name: str) -> str:
    """A file name for video ``name``: letters, digits, ``-``, ``_`` and ``.`` only."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(".") or "video"


def _unique_names(videos: list[ReviewVideo]) -> list[str]:
    names: list[str] = []
    for video in videos:
        base = f"{video.source}-{safe_name(video.name)}"
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}-{count}"
        names.append(name)
    return names


def _write_script(path: Path, variable: str, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    path.write_text(f"window.{variable} = {text};\n", encoding="utf-8")


def _write_page(path: Path, template: str, **values: str) -> None:
    escaped = {key: html.escape(value) for key, value in values.items()}
    path.write_text(Template(_asset(template)).substitute(escaped), encoding="utf-8")


def write_site(
    out: Path,
    title: str,
    source: str,
    videos: list[ReviewVideo],
    groups: list[MatrixGroup],
    reference_rows: list[dict[str, object]] | None = None,
) -> Path:
    """Write the review of ``videos`` into ``out``; returns the overview page.

    Each group with annotated videos gets an F1 row and a confusion matrix for its raw and for
    its smoothed labels; ``reference_rows`` (an ablation table) come first in the F1 table, and a
    group row of the same name is not repeated.
    """
    out = Path(out)
    assets = out / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        (assets / name).write_text(_asset(name), encoding="utf-8")
    shutil.copyfile(plotly_script(), assets / PLOTLY_SCRIPT)

    pages = _unique_names(videos)
    folder = out / "videos"
    folder.mkdir(exist_ok=True)
    for index, (video, page) in enumerate(zip(videos, pages, strict=True)):
        payload = video.payload(folder) | {
            "classes": list(ABAW_CLASSES),
            "colours": COLOURS,
            "previous": f"{pages[index - 1]}.html" if index > 0 else None,
            "next": f"{pages[index + 1]}.html" if index + 1 < len(pages) else None,
        }
        _write_script(folder / f"{page}.js", "SEMIFER_VIDEO", payload)
        _write_page(folder / f"{page}.html", "video.html", title=f"{video.name} ({video.source})", data=f"{page}.js")

    rows = list(reference_rows or [])
    matrices, cells = [], []
    for group in groups:
        if not any(videos[index].truth is not None for index in group.videos):
            continue
        for which in PREDICTIONS:
            name = group.row_name(which)
            report = group_report([videos[index] for index in group.videos], which)
            if name not in {row["name"] for row in rows}:
                rows.append(report_row(name, report))
            matrices.append({"title": name, "counts": report.matrix.tolist()})
            cells.append(cell_spans(videos, group.videos, which))
    summaries = [
        video_summary(video) | {"page": f"videos/{page}.html", "first": video.images.first}
        for video, page in zip(videos, pages, strict=True)
    ]
    overview = {
        "title": title, "source": source, "classes": list(ABAW_CLASSES), "colours": COLOURS,
        "rows": rows, "matrices": matrices, "videos": summaries,
    }  # fmt: skip
    _write_script(out / "data" / "overview.js", "SEMIFER_OVERVIEW", overview)
    _write_script(out / "data" / "cells.js", "SEMIFER_CELLS", cells)
    _write_page(out / "index.html", "overview.html", title=title)
    return out / "index.html"
