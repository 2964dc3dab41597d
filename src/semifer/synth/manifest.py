"""The synthetic data set's ground truth: true class, AUs and identity of every face.

Stored column-wise per source (one list per field, keyed by the readers' ``key(i)``), which
keeps ``manifest.json`` a few MB at demo scale and fast to load. Sections are named by the
readers' ``source`` attribute: "affwild2", "affectnet", "expw", "ms1mv2"; "raw_video" holds the
frames of the held-out raw camera video (keys ``<video>.mp4#<frame>``, as ``predict`` names them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from semifer.data.base import FaceReader
from semifer.errors import DataFormatError
from semifer.labels import ABAW_CLASSES, UNLABELED
from semifer.synth.aus import AU_NAMES

MANIFEST_VERSION = 1


@dataclass
class Section:
    """Columns of one source; ``has_image`` is False for video frames without a face image."""

    keys: list[str] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    aus: list[list[float]] = field(default_factory=list)
    identities: list[int] = field(default_factory=list)
    has_image: list[bool] = field(default_factory=list)

    def add(
        self,
        key: str,
        true_class: int,
        label: int,
        aus: Sequence[float],
        identity: int,
        has_image: bool = True,
    ) -> None:
        """Record one face (or one video frame, with or without an image)."""
        self.keys.append(key)
        self.classes.append(int(true_class))
        self.labels.append(int(label))
        self.aus.append([round(float(value), 2) for value in aus])
        self.identities.append(int(identity))
        self.has_image.append(bool(has_image))


@dataclass
class Manifest:
    """What ``semifer synth`` generated, and with which seed and scale."""

    seed: int
    scale: str
    sections: dict[str, Section] = field(default_factory=dict)
    raw_videos: list[str] = field(default_factory=list)  # paths under the output folder

    def section(self, source: str) -> Section:
        return self.sections.setdefault(source, Section())

    def counts(self) -> dict[str, dict[str, int]]:
        """Items, images and labeled items per source."""
        return {
            source: {
                "items": len(section.keys),
                "images": int(sum(section.has_image)),
                "labeled": int(sum(label != UNLABELED for label in section.labels)),
            }
            for source, section in self.sections.items()
        }

    def write(self, path: Path) -> None:
        """Write compact JSON (one key per field, lists of values)."""
        document: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "seed": self.seed,
            "scale": self.scale,
            "classes": list(ABAW_CLASSES),
            "au_names": list(AU_NAMES),
            "counts": self.counts(),
            "raw_videos": self.raw_videos,
            "sources": {name: vars(section) for name, section in sorted(self.sections.items())},
        }
        Path(path).write_text(json.dumps(document, separators=(",", ":")))


@lru_cache(maxsize=4)
def _class_lookup(path: str, modified: float) -> dict[str, dict[str, int]]:
    """``{source: {key: true class}}``, cached per file version (``modified`` keys the cache)."""
    try:
        document = json.loads(Path(path).read_text())
        return {
            source: dict(zip(columns["keys"], columns["classes"], strict=True))
            for source, columns in document["sources"].items()
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataFormatError(f"{path}: not a readable synthetic manifest ({error})") from error


def true_labels(manifest_path: Path, reader: FaceReader) -> np.ndarray:
    """True ABAW class of every item of ``reader`` (-1 where the manifest has none).

    Stage 1 uses it to measure pseudo-label accuracy on the unlabeled sources. Matches the
    reader's ``source`` section by ``reader.key(i)``.
    """
    path = Path(manifest_path)
    if not path.is_file():
        raise DataFormatError(f"{path}: synthetic manifest not found")
    lookup = _class_lookup(str(path.resolve()), path.stat().st_mtime).get(reader.source, {})
    return np.array(
        [lookup.get(reader.key(index), UNLABELED) for index in range(len(reader))], dtype=np.int64
    )
