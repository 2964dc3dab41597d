"""What a data folder holds: formats, splits, images, frames and classes (``semifer inspect``).

Recognises the formats in a folder or in its immediate sub-folders (the synthetic layout puts
``aff-wild2/``, ``affectnet/``, ``expw/`` and ``ms1mv2/`` side by side) and counts from the
indexes alone, which is fast even on real data. Two cheap checks always run, so that a bad
item shows up here rather than when the sampler first draws it mid-run: every face box against
its image's size read from the file header (PIL opens lazily, nothing is decoded), and the
framing of every RecordIO record in the index. Decoding every image to find corrupt ones is
optional (``check_images``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from semifer.data.affectnet import LISTS, SPLIT_FILES
from semifer.data.affwild2 import (
    SPLIT_FOLDERS,
    AffWild2Frames,
    AffWild2Videos,
    find_expr_annotations,
)
from semifer.data.base import FaceReader, ListedFaceReader
from semifer.data.expw import LABEL_FILE
from semifer.data.imagefolder import CLASS_BY_NAME
from semifer.data.recordio import RecordIOReader
from semifer.data.sources import OPENERS, SourceConfig
from semifer.errors import CorruptImageError, DataFormatError
from semifer.labels import ABAW_CLASSES, NUM_CLASSES, UNLABELED

logger = logging.getLogger(__name__)
EXAMPLES = 5  # offending items named per check


@dataclass
class Check:
    """One up-front check of a source: how many items it looked at, how many failed, the first few."""

    name: str
    checked: int
    failure: str  # what a problem is, e.g. "outside their image"
    problems: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class SourceSummary:
    """Counts of one source and split. ``None`` where a count does not apply to the format."""

    format: str
    path: str
    split: str
    images: int
    class_counts: dict[str, int]
    unlabeled: int
    frames: int | None = None
    videos: int | None = None
    missing_faces: int | None = None
    identities: int | None = None
    corrupt: int | None = None
    corrupt_examples: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def class_shares(self) -> dict[str, float]:
        """Share of each class among the labeled items (frames for Aff-Wild2)."""
        total = sum(self.class_counts.values())
        return {name: count / total if total else 0.0 for name, count in self.class_counts.items()}


@dataclass
class InspectReport:
    """Everything ``semifer inspect`` shows, as plain data."""

    path: str
    sources: list[SourceSummary]

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "sources": [
                {**asdict(source), "class_shares": source.class_shares} for source in self.sources
            ],
        }


def detect_formats(folder: Path) -> list[tuple[str, Path]]:
    """Formats held by ``folder`` itself, else by its immediate sub-folders, as (format, path)."""
    found = _formats_here(folder)
    if not found:
        for child in sorted(path for path in folder.iterdir() if path.is_dir()):
            found.extend(_formats_here(child))
    return found


def _formats_here(folder: Path) -> list[tuple[str, Path]]:
    checks = {
        "affwild2": (folder / "cropped_aligned").is_dir()
        and find_expr_annotations(folder) is not None,
        "affectnet": (folder / LISTS).is_dir(),
        "expw": (folder / LABEL_FILE).is_file(),
        "ms1mv2": (folder / "train.rec").is_file() and (folder / "train.idx").is_file(),
        "imagefolder": any(
            path.is_dir() and path.name.lower() in CLASS_BY_NAME for path in folder.iterdir()
        ),
    }
    return [(name, folder) for name, present in checks.items() if present]


def inspect_folder(path: Path | str, check_images: bool = False) -> InspectReport:
    """Summarise every source and split under ``path``.

    Raises ``DataFormatError`` when ``path`` is missing or holds no known format, and for any
    structural error in a source (bad header, label, box, magic, offset).
    """
    path = Path(path)
    if not path.is_dir():
        raise DataFormatError(f"{path}: no such folder")
    formats = detect_formats(path)
    if not formats:
        raise DataFormatError(
            f"{path}: no known data format here or in its sub-folders "
            "(looked for Aff-Wild2, AffectNet, ExpW, MS1MV2 RecordIO, ABAW class folders)"
        )
    sources: list[SourceSummary] = []
    for name, folder in formats:
        sources.extend(_summaries(name, folder, check_images))
    return InspectReport(path=str(path), sources=sources)


def _class_counts(labels: np.ndarray) -> dict[str, int]:
    counts = np.bincount(labels[labels != UNLABELED], minlength=NUM_CLASSES)
    return {name: int(count) for name, count in zip(ABAW_CLASSES, counts, strict=True)}


def _count_corrupt(reader: FaceReader, summary: SourceSummary) -> None:
    """Decode every image; count (and name a few of) the undecodable ones."""
    summary.corrupt = 0
    for index in range(len(reader)):
        try:
            reader.load(index)
        except CorruptImageError as error:
            summary.corrupt += 1
            if len(summary.corrupt_examples) < EXAMPLES:
                summary.corrupt_examples.append(error.where)
    if summary.corrupt:
        logger.warning("%s: %d undecodable images", summary.path, summary.corrupt)


def _header_size(path: str) -> tuple[int, int] | None:
    """``(width, height)`` from the image file's header alone; ``None`` when it is not an image."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, Image.DecompressionBombError):
        return None


def _check_boxes(reader: ListedFaceReader) -> Check:
    """Every face box against its image's size (ExpW lists the faces of one image together)."""
    check = Check("face boxes", len(reader), "outside their image (or image unreadable)")
    last_path, size = "", None
    for index in range(len(reader)):
        path = reader.image_file(index)
        if path != last_path:
            last_path, size = path, _header_size(path)
        box = reader.box(index)
        if size is None:
            reason = "image file missing or not an image"
        elif not box.fits(*size):
            reason = f"face box {box} lies outside the {size[0]}x{size[1]} image"
        else:
            continue
        check.problems += 1
        if len(check.examples) < EXAMPLES:
            check.examples.append(f"{reader.where(index)}: {reason}")
    return check


def _summarise_reader(
    name: str, folder: Path, split: str, reader: FaceReader, check_images: bool
) -> SourceSummary:
    summary = SourceSummary(
        format=name,
        path=str(folder),
        split=split,
        images=len(reader),
        class_counts=_class_counts(reader.labels),
        unlabeled=int((reader.labels == UNLABELED).sum()),
    )
    if isinstance(reader, ListedFaceReader):
        summary.checks.append(_check_boxes(reader))
    if isinstance(reader, RecordIOReader):
        # The framing of every record the .idx names (magic, flag, length, header room).
        records = Check("record headers", reader.indexed_records, "malformed")
        records.problems, records.examples = reader.check_headers(EXAMPLES)
        summary.checks.append(records)
        if (folder / "property").is_file():
            summary.identities = int((folder / "property").read_text().split(",")[0])
    for check in summary.checks:
        if check.problems:
            logger.warning("%s %s: %d of %d %s %s", name, split, check.problems, check.checked, check.name, check.failure)
    if check_images:
        _count_corrupt(reader, summary)
    return summary


def _summaries(name: str, folder: Path, check_images: bool) -> list[SourceSummary]:
    """One summary per split of the ``name`` source in ``folder``."""
    if name == "affwild2":
        return _affwild2(folder, check_images)
    splits = ["all"]
    if name == "affectnet":
        splits = [split for split in ("train", "validation") if (folder / LISTS / SPLIT_FILES[split]).is_file()]
    readers = {split: OPENERS[name](folder, SourceConfig(name, str(folder), split)) for split in splits}
    return [_summarise_reader(name, folder, split, reader, check_images) for split, reader in readers.items()]


def _affwild2(folder: Path, check_images: bool) -> list[SourceSummary]:
    summaries = []
    annotations = find_expr_annotations(folder)
    for split, split_name in SPLIT_FOLDERS.items():
        if annotations is None or not (annotations / split_name).is_dir():
            continue
        videos = AffWild2Videos(folder, split)
        per_video = [videos.frames(video) for video in videos.names]
        labels = np.concatenate([labels for labels, _ in per_video] or [np.empty(0, np.int64)])
        images = sum(len(numbers) for _, numbers in per_video)
        summary = SourceSummary(
            format="affwild2",
            path=str(folder),
            split=split,
            images=images,
            class_counts=_class_counts(labels),
            unlabeled=int((labels == UNLABELED).sum()),
            frames=len(labels),
            videos=len(videos),
            missing_faces=len(labels) - images,
        )
        if check_images:
            _count_corrupt(AffWild2Frames(folder, split), summary)
        summaries.append(summary)
    return summaries


def _cell(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_report(report: InspectReport, console: Console) -> None:
    """Print one table with a column per source and split: counts, then the class counts.

    Sources are columns (not rows) so that the table stays readable in an 80-column terminal.
    """
    table = Table(
        title=f"Data in {report.path}",
        caption="classes: labeled items (Aff-Wild2: all annotated frames, with or without a "
        "face image); corrupt: ? = not checked (--check-images)",
    )
    table.add_column("", no_wrap=True)
    for source in report.sources:
        table.add_column(f"{source.format}\n{source.split}", justify="right")
    root = Path(report.path)
    folders = [Path(source.path) for source in report.sources]
    table.add_row("folder", *(str(folder.relative_to(root)) for folder in folders))
    rows = [("videos", "videos"), ("frames", "frames"), ("images", "images"),
            ("-1", "unlabeled"), ("no face", "missing_faces"),
            ("identities", "identities")]
    for title, attribute in rows:
        table.add_row(title, *(_cell(getattr(source, attribute)) for source in report.sources))
    table.add_row(
        "corrupt",
        *("?" if source.corrupt is None else f"{source.corrupt:,}" for source in report.sources),
        end_section=True,
    )
    for name in ABAW_CLASSES:
        table.add_row(
            name,
            *(
                f"{source.class_counts[name]:,} {100 * source.class_shares[name]:.0f}%"
                for source in report.sources
            ),
        )
    console.print(table)
    for source in report.sources:
        for where in source.corrupt_examples:
            console.print(f"[yellow]corrupt:[/] {where}", highlight=False)
    for source in report.sources:
        for check in source.checks:
            style = "yellow" if check.problems else "green"
            console.print(
                f"[{style}]checked[/] {source.format} {source.split} {check.name}: "
                f"{check.problems:,} of {check.checked:,} {check.failure}",
                highlight=False,
            )
            for example in check.examples:
                console.print(f"  {example}", highlight=False, soft_wrap=True)
