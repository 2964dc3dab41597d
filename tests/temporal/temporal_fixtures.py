from pathlib import Path

import numpy as np
import torch

from semifer.labels import NUM_CLASSES
from semifer.temporal.features import frames_digest, video_path, write_index, write_video

DIGEST = "a" * 64


def write_fake_cache(
    folder: Path, videos: dict[str, int], feature_dim: int = 16, split: str = "train", seed: int = 0, digest: str = DIGEST
) -> None:
    """A cache of random features whose labels are recoverable from the features (a learnable task)."""
    rng = np.random.default_rng(seed)
    write_index(folder, {"checkpoint": "/nowhere", "checkpoint_digest": digest, "feature_dim": feature_dim, "backbone": "fake"})
    centres = rng.normal(size=(NUM_CLASSES, feature_dim)) * 2
    for name, frames in videos.items():
        labels = np.repeat(rng.integers(0, NUM_CLASSES, size=frames // 20 + 1), 20)[:frames]
        labels[rng.random(frames) < 0.1] = -1
        mask = rng.random(frames) > 0.1
        features = centres[np.maximum(labels, 0)] + rng.normal(size=(frames, feature_dim))
        features[~mask] = 0
        metadata = {
            "checkpoint_digest": digest,
            "frames_digest": frames_digest(name, mask, labels),
            "feature_dim": str(feature_dim),
            "frames": str(frames),
            "video": name,
        }
        logits = torch.from_numpy(features[:, :NUM_CLASSES]).float()
        write_video(video_path(folder, split, name), torch.from_numpy(features), torch.from_numpy(mask), torch.from_numpy(labels), logits, metadata)
