import hashlib
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save

from semifer.labels import NUM_CLASSES
from semifer.models.backbone import FrameModelSpec, create_backbone
from semifer.temporal.features import frames_digest, video_path, write_index, write_video


def _fake_stage1() -> tuple[bytes, FrameModelSpec]:
    """Student weights (the same bytes in every process) and spec of the fake caches' stage-1 checkpoint."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = create_backbone("test_resnet", NUM_CLASSES)
    return save(model.state_dict()), FrameModelSpec.for_model(model, "test_resnet", image_size=32, resize_size=36)


STAGE1_WEIGHTS, STAGE1_SPEC = _fake_stage1()
DIGEST = hashlib.sha256(STAGE1_WEIGHTS).hexdigest()  # what extraction records for that checkpoint


def write_fake_stage1(folder: Path) -> Path:
    """The stage-1 checkpoint folder the fake caches name, as stage 1 writes it; its digest is ``DIGEST``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "student.safetensors").write_bytes(STAGE1_WEIGHTS)
    STAGE1_SPEC.save(folder)
    return folder


def write_fake_cache(
    folder: Path,
    videos: dict[str, int],
    feature_dim: int = 16,
    split: str = "train",
    seed: int = 0,
    digest: str = DIGEST,
    checkpoint: Path | None = None,
) -> None:
    """A cache of random features whose labels are recoverable from the features (a learnable task).

    ``cache.json`` names ``checkpoint`` as the stage-1 checkpoint that wrote it (default: the
    fake one, written to ``folder/stage1``), which stage-2 training stores in its checkpoints.
    """
    rng = np.random.default_rng(seed)
    checkpoint = checkpoint or write_fake_stage1(folder / "stage1")
    write_index(folder, {"checkpoint": str(checkpoint), "checkpoint_digest": digest, "feature_dim": feature_dim, "backbone": "fake"})
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
