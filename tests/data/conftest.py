"""Small synthetic images for the data-format tests (no dependency on the generator)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """Encode an RGB uint8 array as JPEG bytes."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                              [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buffer.tobytes()


def smooth_image(seed: int, height: int = 32, width: int = 32) -> np.ndarray:
    """A smooth RGB gradient (JPEG keeps it within a few grey levels), different per seed."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0, 1, height)[:, None, None]
    cols = np.linspace(0, 1, width)[None, :, None]
    low, high = rng.uniform(20, 120, 3), rng.uniform(130, 235, 3)
    image = low + (high - low) * (0.6 * rows + 0.4 * cols)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def make_image() -> Callable[..., np.ndarray]:
    return smooth_image


@pytest.fixture
def jpeg() -> Callable[..., bytes]:
    return encode_jpeg


def assert_close(decoded: np.ndarray, original: np.ndarray, tolerance: float = 4.0) -> None:
    """Pixels equal within JPEG tolerance (mean absolute difference in grey levels)."""
    assert decoded.shape == original.shape
    difference = np.abs(decoded.astype(np.float64) - original.astype(np.float64)).mean()
    assert difference < tolerance, difference


@pytest.fixture
def pixels_close() -> Callable[..., None]:
    return assert_close
