"""A held-out raw camera video: new people in their scenes, for ``semifer predict --truth``.

The Aff-Wild2-like videos are already face crops; this video is what a camera records before
any detection: a 512x384 frame, the head about 115-140 px wide, drifting a little, shoulders
and a scene around it. Expressions, pose, light and occluders are drawn exactly as for a
validation video (``plan_video``, ``frame_nuisances``), so it is as hard. Like an edited
interview, it cuts between several people (one every ``SHOT_FRAMES`` frames or so), so that its
macro F1 does not rest on one face. Each of the seven expressions is dealt to one shot, as the
rare classes are dealt over a split's videos: a video that showed three classes could score at
most 3/8 macro F1 over the eight, and would not be comparable with the validation split.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import av
import cv2
import numpy as np

from semifer.abaw.annotation import write_expr_annotation
from semifer.labels import NUM_CLASSES
from semifer.synth.episodes import (
    annotation_gaps,
    missing_faces,
    plan_video,
    smooth_walk,
    written_labels,
)
from semifer.synth.faces import CANVAS, FACE_CENTRE, IMAGE_SIZE, draw_face
from semifer.synth.identity import Identity, sample_identity
from semifer.synth.nuisance import (
    Nuisance,
    apply_photometric,
    draw_occluder,
    sample_background,
)
from semifer.synth.videos import VIDEO_WEAK_SHARE, frame_nuisances

RAW_FOLDER = "raw-video"
RAW_NAME = "synth-raw-000"
# (height, width). The width keeps every YUV plane row a multiple of 64 bytes: with 480 the
# encoder read the unset padding after each chroma row, and the bytes changed from run to run.
FRAME_SIZE = (384, 512)
FPS = 25
SHOT_FRAMES = 150  # about one person per 6 s shot; at most MAX_PEOPLE people
MAX_PEOPLE = 8
EXPRESSIONS = tuple(range(1, NUM_CLASSES))  # every class but Neutral, which every shot shows
# The face is drawn at the drawing canvas's scale, twice the 112-px crops: nuisances given in
# crop pixels (shift, blur) are doubled, and so is the sensor noise, whose standard deviation
# halves when the detector's crop is shrunk back to 112 px.
_CROP_TO_FRAME = CANVAS / IMAGE_SIZE


@dataclass
class RawVideoResult:
    """Truth of the raw video, frame by frame; ``has_face`` is False while the person is away."""

    name: str
    labels: np.ndarray  # written labels, -1 where unannotated
    classes: np.ndarray
    aus: np.ndarray  # (frames, 12)
    has_face: np.ndarray
    crop_boxes: np.ndarray  # (frames, 4) left, top, right, bottom of a training crop's square


def _face_centres(length: int, rng: np.random.Generator) -> np.ndarray:
    """Face centre per frame, in frame pixels: a slow drift around a spot in the middle third.

    The face sits low enough that the shoulders run out of the bottom of the frame whatever
    the roll and scale, as in a webcam or interview shot.
    """
    height, width = FRAME_SIZE
    x = width / 2 + rng.uniform(-0.12, 0.12) * width + smooth_walk(rng, length, 12, 40)
    y = height - 160 + rng.uniform(-8, 8) + smooth_walk(rng, length, 5, 40)
    return np.stack([x, y], axis=1)


def _person(
    who: Identity, aus: np.ndarray, nuisance: Nuisance, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The posed person over black (premultiplied colour) and their coverage (alpha).

    Anti-aliased drawing blends linearly with what is underneath, so drawing once over black
    and once over white gives the exact coverage: white - black = (1 - alpha) * 255. The head
    then rolls and scales about its own centre without moving the scene behind it.
    """
    layers = np.zeros((2, *FRAME_SIZE, 3), np.uint8)
    layers[1] = 255
    offset = centre - np.asarray(FACE_CENTRE)
    occluder = nuisance.occluder
    if occluder is not None:
        moved = (occluder.centre[0] + offset[0], occluder.centre[1] + offset[1])
        occluder = replace(occluder, centre=moved)
    for layer in layers:
        draw_face(layer, who, aus, (float(centre[0]), float(centre[1])))
        if occluder is not None:
            draw_occluder(layer, occluder)
    colour = layers[0].astype(np.float32)
    alpha = 1 - (layers[1].astype(np.float32) - colour).mean(axis=2) / 255
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), nuisance.roll, nuisance.scale)
    matrix[:, 2] += np.asarray(nuisance.shift) * _CROP_TO_FRAME
    size = (FRAME_SIZE[1], FRAME_SIZE[0])
    colour = cv2.warpAffine(colour, matrix, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR)
    return colour, alpha[..., None]


def _crf(jpeg_quality: int) -> int:
    """H.264 quality standing in for the video's JPEG quality (45-92 -> CRF 32-18)."""
    return round(18 + (92 - jpeg_quality) * 14 / 47)


def write_raw_video(folder: Path, seed: int, length: int) -> RawVideoResult:
    """Render and encode ``<folder>/<RAW_NAME>.mp4`` and its EXPR annotation ``.txt`` beside it.

    The annotation has exactly one line per video frame. Frames where the person is out of
    the picture keep their label, as Aff-Wild2 frames without a face image do; ``-1`` marks
    the unannotated runs only. H.264 is encoded on one thread, so the bytes depend on the
    seed alone.
    """
    rng = np.random.default_rng(np.random.SeedSequence((seed, 6)))
    shots = plan_shots(length, rng)
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(folder / f"{RAW_NAME}.mp4"), "w") as container:
        options = {"crf": str(_crf(shots[0].nuisances[0].jpeg_quality)), "preset": "veryfast", "threads": "1"}
        stream = container.add_stream("libx264", rate=FPS, options=options)
        stream.height, stream.width = FRAME_SIZE
        stream.pix_fmt = "yuv420p"
        for shot in shots:
            for image in shot.frames(rng):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    labels = np.concatenate([shot.labels for shot in shots])
    write_expr_annotation(folder / f"{RAW_NAME}.txt", labels)
    return RawVideoResult(
        RAW_NAME, labels, np.concatenate([shot.timeline.classes for shot in shots]),
        np.concatenate([shot.timeline.aus for shot in shots]), ~np.concatenate([shot.away for shot in shots]),
        np.concatenate([shot.crop_boxes() for shot in shots]),
    )  # fmt: skip


def plan_shots(length: int, rng: np.random.Generator) -> list[Shot]:
    """The video's shots, one person each, with every expression dealt to one of them."""
    people = int(np.clip(round(length / SHOT_FRAMES), 1, MAX_PEOPLE))
    cuts = np.linspace(0, length, people + 1).round().astype(int)
    return [
        Shot(int(stop - start), EXPRESSIONS[index::people], rng)
        for index, (start, stop) in enumerate(zip(cuts[:-1], cuts[1:]))
    ]


class Shot:
    """One person in one scene for ``length`` frames: who, what they express, how they are seen."""

    def __init__(self, length: int, forced: tuple[int, ...], rng: np.random.Generator) -> None:
        self.who = sample_identity(rng)
        self.scene = sample_background(rng, FRAME_SIZE[1])[: FRAME_SIZE[0]].astype(np.float32)
        self.timeline = plan_video(length, rng, VIDEO_WEAK_SHARE, forced)
        self.labels = written_labels(self.timeline, annotation_gaps(length, rng))
        self.away = missing_faces(length, rng)
        self.centres = _face_centres(length, rng)
        self.nuisances = frame_nuisances(length, rng)

    def crop_boxes(self) -> np.ndarray:
        """Per frame, the square an Aff-Wild2-style training crop of this person covers: the
        drawing canvas around the head, before the frame's roll, scale and shift move the head
        inside it (a training crop keeps those as nuisances)."""
        left_top = self.centres - np.asarray(FACE_CENTRE)
        return np.concatenate([left_top, left_top + CANVAS], axis=1)

    def frames(self, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """The shot's RGB frames, as the camera records them."""
        for index, nuisance in enumerate(self.nuisances):
            frame = self.scene
            if not self.away[index]:
                colour, alpha = _person(self.who, self.timeline.aus[index], nuisance, self.centres[index])
                frame = colour + (1 - alpha) * self.scene
            camera = replace(nuisance, blur=nuisance.blur * _CROP_TO_FRAME, noise=nuisance.noise * _CROP_TO_FRAME)
            yield apply_photometric(np.clip(np.rint(frame), 0, 255).astype(np.uint8), camera, rng)
