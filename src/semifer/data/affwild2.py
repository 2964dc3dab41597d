"""Aff-Wild2 EXPR: per-video annotation files and ``cropped_aligned`` frame folders.

Layout (ABAW): ``<annotations>/{Train_Set,Validation_Set}/<video>.txt`` is an EXPR annotation
(``semifer.abaw.annotation``; line i+1 = frame i = ``cropped_aligned/<video>/%05d.jpg``).
Frames where no face was detected have a label line but no image.
Stage 2 reads whole videos (``AffWild2Videos``); stage 1 reads single frames
(``AffWild2Frames``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semifer.abaw.alignment import video_frames
from semifer.abaw.annotation import write_expr_annotation
from semifer.data.base import FaceReader, read_file
from semifer.errors import DataFormatError

SPLIT_FOLDERS = {"train": "Train_Set", "validation": "Validation_Set"}


def split_folder(split: str) -> str:
    """Map "train"/"validation" (or the ABAW names Train_Set/Validation_Set) to the folder name."""
    lowered = split.lower()
    for short, folder in SPLIT_FOLDERS.items():
        if lowered in (short, folder.lower()):
            return folder
    raise DataFormatError(f"unknown Aff-Wild2 split {split!r}; use one of {sorted(SPLIT_FOLDERS)}")


def find_expr_annotations(root: Path, depth: int = 3) -> Path | None:
    """The folder holding ``Train_Set``/``Validation_Set`` of the EXPR annotations under ``root``.

    The synthetic layout uses ``root/annotations``; the real ABAW release nests them, e.g.
    ``6th_ABAW_Annotations/EXPR_Recognition_Challenge``, next to the VA and AU challenge
    folders (which hold ``Train_Set`` too, so an EXPR path is preferred). Frame folders
    (``cropped*``) are not searched: they hold millions of files.
    """
    found: list[Path] = []
    level = [Path(root)]
    for _ in range(depth + 1):
        following: list[Path] = []
        for folder in level:
            names = {entry.name for entry in os.scandir(folder) if entry.is_dir()}
            if names & set(SPLIT_FOLDERS.values()):
                found.append(folder)
            following.extend(
                folder / name for name in sorted(names) if not name.lower().startswith("cropped")
            )
        level = following
    for candidate in found:
        if candidate == Path(root) / "annotations" or "EXPR" in str(candidate).upper():
            return candidate
    return found[0] if len(found) == 1 else None


@dataclass
class VideoFrames:
    """One video: a label per annotated frame and the face image of each frame, if any.

    Index ``i`` is frame ``i + 1``, i.e. ``%05d.jpg`` of ``i + 1``.
    """

    name: str
    labels: np.ndarray
    frame_paths: list[Path | None]

    @property
    def has_face(self) -> np.ndarray:
        """Boolean mask of frames that have a face image (stage 2 masks the others)."""
        return np.array([path is not None for path in self.frame_paths], dtype=bool)


class AffWild2Videos:
    """The videos of one split, read one annotation file at a time.

    Args:
        root: folder holding ``annotations/`` and ``cropped_aligned/`` (the synthetic layout),
            or the real ABAW folder, whose EXPR annotations are found by
            ``find_expr_annotations``.
        split: "train" or "validation" (or Train_Set / Validation_Set).
        annotations: folder holding ``Train_Set/`` and ``Validation_Set/`` when the real ABAW
            annotations live elsewhere.
        images: the real ``cropped_aligned`` folder, when it lives elsewhere.
    """

    def __init__(
        self,
        root: Path | str,
        split: str,
        *,
        annotations: Path | None = None,
        images: Path | None = None,
    ) -> None:
        root = Path(root)
        if annotations is None and root.is_dir():
            annotations = find_expr_annotations(root)
        self.annotation_folder = Path(annotations or root / "annotations") / split_folder(split)
        self.image_folder = Path(images or root / "cropped_aligned")
        if not self.annotation_folder.is_dir():
            raise DataFormatError(
                f"{self.annotation_folder}: Aff-Wild2 annotation folder not found"
            )
        self.names = sorted(path.stem for path in self.annotation_folder.glob("*.txt"))

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> VideoFrames:
        return self.video(self.names[index])

    def __iter__(self) -> Iterator[VideoFrames]:
        return (self.video(name) for name in self.names)

    def video(self, name: str) -> VideoFrames:
        """Labels and frame paths of video ``name`` (``_left``/``_right`` are separate videos)."""
        labels, numbers = self.frames(name)
        folder = self.image_folder / name
        paths: list[Path | None] = [None] * len(labels)
        for number in numbers:
            paths[number - 1] = folder / f"{number:05d}.jpg"
        return VideoFrames(name=name, labels=labels, frame_paths=paths)

    def frames(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Labels of video ``name`` and the frame numbers that have an image (``video_frames``)."""
        return video_frames(self.annotation_folder / f"{name}.txt", self.image_folder / name)


class AffWild2Frames(FaceReader):
    """Every annotated frame with a face image, as single images (stage 1).

    Frames labeled -1 are included with label -1, so the caller decides whether they serve as
    unlabeled data. Only three small arrays per frame are held, not paths.
    """

    source = "affwild2"

    def __init__(self, root: Path | str, split: str, **folders: Path | None) -> None:
        self.videos = AffWild2Videos(root, split, **folders)
        video_ids: list[np.ndarray] = []
        frame_numbers: list[np.ndarray] = []
        labels: list[np.ndarray] = []
        self.missing_faces = 0
        for video_id, name in enumerate(self.videos.names):
            video_labels, numbers = self.videos.frames(name)
            self.missing_faces += len(video_labels) - len(numbers)
            video_ids.append(np.full(len(numbers), video_id, dtype=np.int32))
            frame_numbers.append(numbers.astype(np.int32))
            labels.append(video_labels[numbers - 1])
        self._video_ids = np.concatenate(video_ids or [np.empty(0, np.int32)])
        self._frame_numbers = np.concatenate(frame_numbers or [np.empty(0, np.int32)])
        self.labels = np.concatenate(labels or [np.empty(0, np.int64)])
        # Plain strings, not Path joins: building paths per load cost ~10% of a 112px decode.
        folder = self.videos.image_folder
        self._prefixes = [f"{folder}{os.sep}{name}{os.sep}" for name in self.videos.names]

    def key(self, index: int) -> str:
        name = self.videos.names[self._video_ids[index]]
        return f"{name}/{int(self._frame_numbers[index]):05d}.jpg"

    def where(self, index: int) -> str:
        return f"{self._prefixes[self._video_ids[index]]}{int(self._frame_numbers[index]):05d}.jpg"

    def read_bytes(self, index: int) -> bytes:
        return read_file(self.where(index))


class AffWild2Writer:
    """Writes videos in the ABAW layout under ``root`` (used by the generator and the tests)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def write_video(
        self,
        split: str,
        name: str,
        labels: Sequence[int],
        frames: Sequence[bytes | None],
        extra_annotation_line: bool = False,
    ) -> None:
        """Write the annotation file and the frame images of one video.

        Args:
            split: "train" or "validation".
            name: video name (``<video>_left`` / ``_right`` for two-person videos).
            labels: one ABAW label (or -1) per frame.
            frames: encoded JPEG bytes per frame, ``None`` where the frame has no face image.
                The last frame needs an image: a missing last face could not be told apart from
                the ABAW annotation's extra line.
            extra_annotation_line: append one more label line than there are frames, as some
                real ABAW files have.
        """
        if len(labels) != len(frames):
            raise ValueError(f"{name}: {len(labels)} labels but {len(frames)} frames")
        if not frames or frames[-1] is None:
            raise ValueError(f"{name}: the last frame must have a face image")
        annotation = self.root / "annotations" / split_folder(split) / f"{name}.txt"
        write_expr_annotation(annotation, labels, extra_line=extra_annotation_line)
        folder = self.root / "cropped_aligned" / name
        folder.mkdir(parents=True, exist_ok=True)
        for number, data in enumerate(frames, start=1):
            if data is not None:
                (folder / f"{number:05d}.jpg").write_bytes(data)
