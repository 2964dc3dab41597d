"""Face tracks across frames: IoU association, and the choice of the main face.

Detectors see one frame at a time; a track id ties the boxes of one person together so that
the temporal model sees one face's history, and ``--all-faces`` output can be split by
person. Association is greedy on box overlap, which is enough at video frame rates where a
face moves a fraction of its width between frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from semifer.inference.detect import Detection


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two ``(left, top, right, bottom)`` boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face's state: its last box, when it was last seen and how often."""

    track_id: int
    box: tuple[float, float, float, float]
    last_seen: int
    hits: int = 1


class IoUTracker:
    """Gives every detection a track id that persists while the face keeps overlapping itself.

    Args:
        iou_threshold: least overlap with a track's last box to continue that track.
        max_gap: frames a track may go unseen (missed detections, occlusion) and still continue.
    """

    def __init__(self, iou_threshold: float = 0.3, max_gap: int = 15) -> None:
        self.iou_threshold = iou_threshold
        self.max_gap = max_gap
        self.tracks: dict[int, Track] = {}
        self._next_id = 0

    def alive(self, track_id: int, frame_index: int) -> bool:
        track = self.tracks.get(track_id)
        return track is not None and frame_index - track.last_seen <= self.max_gap

    def update(self, frame_index: int, detections: list[Detection]) -> list[tuple[int, Detection]]:
        """Assign a track id to each detection of frame ``frame_index``; returns ``(id, detection)`` pairs."""
        self.tracks = {tid: t for tid, t in self.tracks.items() if self.alive(tid, frame_index)}
        pairs = sorted(
            ((iou(t.box, d.box), tid, di) for tid, t in self.tracks.items() for di, d in enumerate(detections)),
            reverse=True,
        )
        assigned: dict[int, int] = {}
        used_tracks: set[int] = set()
        for overlap, tid, di in pairs:
            if overlap < self.iou_threshold:
                break
            if tid in used_tracks or di in assigned:
                continue
            assigned[di] = tid
            used_tracks.add(tid)
        result = []
        for di, detection in enumerate(detections):
            tid = assigned.get(di)
            if tid is None:
                tid = self._next_id
                self._next_id += 1
                self.tracks[tid] = Track(tid, detection.box, frame_index, 0)
            track = self.tracks[tid]
            track.box, track.last_seen, track.hits = detection.box, frame_index, track.hits + 1
            result.append((tid, detection))
        return result


class MainFaceTracker:
    """Follows one face: the largest one when it starts, kept until it has been gone a while.

    While the main face is briefly lost (a missed detection), the frame has no face rather
    than switching to a bystander; only once its track has ended does the largest face
    present become the main face.
    """

    def __init__(self, tracker: IoUTracker | None = None) -> None:
        self.tracker = tracker or IoUTracker()
        self.main_id: int | None = None

    def update(self, frame_index: int, detections: list[Detection]) -> list[tuple[int, Detection]]:
        """Return the main face of this frame as a one-item list, or an empty list."""
        tracked = self.tracker.update(frame_index, detections)
        for tid, detection in tracked:
            if tid == self.main_id:
                return [(tid, detection)]
        if not tracked or (self.main_id is not None and self.tracker.alive(self.main_id, frame_index)):
            return []
        self.main_id, detection = max(tracked, key=lambda pair: pair[1].area)
        return [(self.main_id, detection)]


def make_tracker(all_faces: bool) -> IoUTracker | MainFaceTracker:
    """The tracker for ``--all-faces`` (every face) or the default main-face mode."""
    return IoUTracker() if all_faces else MainFaceTracker()
