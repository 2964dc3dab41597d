"""The decoded-image cache: same pixels as decoding on the fly, rebuilt whenever it no longer
matches its images, and batch views that are seeded, shaped and normalised like the originals."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from semifer.data.batch_views import BatchViews
from semifer.data.decoded_cache import open_decoded, square_face
from semifer.data.imagefolder import ImageFolderReader
from semifer.ssl.data import FacePool


def _faces(root: Path, count: int = 6, shape: tuple[int, int] = (40, 30)) -> FacePool:
    rng = np.random.default_rng(0)
    folder = root / "faces" / "happiness"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        cv2.imwrite(str(folder / f"{index}.png"), rng.integers(0, 255, (*shape, 3), dtype=np.uint8))
    reader = ImageFolderReader(root / "faces", True)
    return FacePool([(reader, np.arange(len(reader)))], labeled=True)


def test_cache_holds_the_eval_geometry_of_every_image(tmp_path: Path) -> None:
    pool = _faces(tmp_path)
    cache = open_decoded(pool, 24, tmp_path / "cache" / "pool.npy")
    assert cache.pixels.shape == (6, 24, 24, 3) and cache.valid.all()
    for index in range(6):
        np.testing.assert_array_equal(cache.pixels[index], square_face(pool.load(index), 24))
    assert isinstance(cache.pixels, np.memmap)


def test_matching_cache_is_reused_without_decoding(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pool = _faces(tmp_path)
    path = tmp_path / "pool.npy"
    open_decoded(pool, 24, path)
    built = path.stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        open_decoded(pool, 24, path)
    assert path.stat().st_mtime_ns == built and "reused" in caplog.text


@pytest.mark.parametrize("damage", ["changed image", "other size", "truncated", "record removed"])
def test_cache_that_does_not_match_is_rebuilt_and_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    pool = _faces(tmp_path)
    path = tmp_path / "pool.npy"
    open_decoded(pool, 24, path)
    side = 24
    if damage == "changed image":
        first = sorted((tmp_path / "faces" / "happiness").iterdir())[0]
        cv2.imwrite(str(first), np.zeros((40, 30, 3), dtype=np.uint8))
    elif damage == "other size":
        side = 20
    elif damage == "truncated":
        with open(path, "r+b") as handle:
            handle.truncate(path.stat().st_size // 2)
    else:
        path.with_suffix(".json").unlink()
    with caplog.at_level(logging.WARNING):
        cache = open_decoded(pool, side, path)
    assert str(path) in caplog.text and "rebuilding" in caplog.text
    for index in range(len(pool)):
        np.testing.assert_array_equal(cache.pixels[index], square_face(pool.load(index), side))
    assert json.loads(path.with_suffix(".json").read_text())["side"] == side


def test_undecodable_image_is_marked_invalid_not_cached_as_pixels(tmp_path: Path) -> None:
    pool = _faces(tmp_path, count=3)
    broken = sorted((tmp_path / "faces" / "happiness").iterdir())[1]
    broken.write_bytes(b"not an image")
    cache = open_decoded(pool, 16, tmp_path / "pool.npy")
    assert cache.valid.tolist() == [True, False, True]


def test_batch_views_shapes_range_and_seeding() -> None:
    views = BatchViews(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    pixels = torch.randint(0, 256, (5, 3, 20, 20), dtype=torch.uint8)
    torch.manual_seed(1)
    weak_a, strong_a = views.weak(pixels), views.strong(pixels)
    torch.manual_seed(1)
    weak_b, strong_b = views.weak(pixels), views.strong(pixels)
    assert weak_a.shape == strong_a.shape == (5, 3, 16, 16) and weak_a.dtype == torch.float32
    assert torch.equal(weak_a, weak_b) and torch.equal(strong_a, strong_b)
    assert weak_a.min() >= -2.0 and weak_a.max() <= 2.0  # (0 - 0.5) / 0.25 .. (1 - 0.5) / 0.25
    assert not torch.equal(weak_a, views.weak(pixels))  # a fresh draw differs


def test_weak_view_without_jitter_is_a_crop_of_the_image() -> None:
    views = BatchViews(8, (0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255), jitter=0.0)
    pixels = torch.randint(0, 256, (4, 3, 12, 12), dtype=torch.uint8)
    weak = views.weak(pixels).round().to(torch.uint8)
    for image, view in zip(pixels, weak):
        windows = [image[:, t : t + 8, l : l + 8] for t in range(5) for l in range(5)]
        assert any(torch.equal(view, w) or torch.equal(view, w.flip(-1)) for w in windows)


def test_centre_view_is_the_centred_crop() -> None:
    views = BatchViews(8, (0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))
    pixels = torch.randint(0, 256, (2, 3, 12, 12), dtype=torch.uint8)
    assert torch.equal(views.centre(pixels).round().to(torch.uint8), pixels[..., 2:10, 2:10])
