import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import timm
import torch

from semifer.data.affwild2 import AffWild2Videos, AffWild2Writer
from semifer.errors import CheckpointError, DataFormatError
from semifer.temporal.extraction import extract_videos, shard
from semifer.temporal.features import FeatureCache, read_metadata, video_path, write_index

SIZE = 32


def jpeg(seed: int) -> bytes:
    image = np.random.default_rng(seed).integers(0, 255, size=(SIZE, SIZE, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


@pytest.fixture(scope="module")
def network() -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model("resnet10t", num_classes=8, pretrained=False).eval()


def transform(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 255.0


def encoder(model: torch.nn.Module):
    @torch.inference_mode()
    def encode(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = model.forward_head(model.forward_features(images), pre_logits=True)
        return features, model.get_classifier()(features)

    return encode


def write_videos(root: Path) -> None:
    writer = AffWild2Writer(root)
    writer.write_video("validation", "a", [0, 1, -1, 2, 3], [jpeg(1), None, jpeg(2), jpeg(3), jpeg(4)])
    writer.write_video("validation", "b", [4, 4, 5], [jpeg(5), jpeg(6), jpeg(7)], extra_annotation_line=True)
    writer.write_video("validation", "c", [6, 7], [jpeg(8), jpeg(9)])


def run(model: torch.nn.Module, root: Path, out: Path, digest: str = "d1", **kwargs):
    videos = AffWild2Videos(root, "validation")
    write_index(out, {"checkpoint": "x", "checkpoint_digest": digest, "feature_dim": model.num_features})
    return extract_videos(
        encoder(model), transform, (3, SIZE, SIZE), list(videos), out, "validation", digest, model.num_features,
        batch_size=2, num_workers=kwargs.pop("num_workers", 0), **kwargs,
    )


def test_extraction_writes_features_equal_to_the_model_and_masks_missing_faces(tmp_path: Path, network: torch.nn.Module) -> None:
    write_videos(tmp_path / "data")
    summary = run(network, tmp_path / "data", tmp_path / "cache", num_workers=1)
    assert sorted(summary.written) == ["a", "b", "c"] and summary.frames == 9
    cache = FeatureCache(tmp_path / "cache", "validation", expected_digest="d1")
    video = cache.load("a")
    assert video.mask.tolist() == [True, False, True, True, True]
    assert video.labels.tolist() == [0, 1, -1, 2, 3]
    assert (video.features[1] == 0).all()
    image = transform(cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg(3), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    expected, logits = encoder(network)(image[None])
    torch.testing.assert_close(video.features[3].float(), expected[0], atol=2e-3, rtol=2e-3)
    torch.testing.assert_close(video.logits[3], logits[0], atol=1e-4, rtol=1e-4)
    assert cache.check("b") == 3  # the off-by-one annotation line is dropped


def test_rerun_skips_cached_videos_and_resumes_after_a_kill(tmp_path: Path, network: torch.nn.Module) -> None:
    write_videos(tmp_path / "data")
    run(network, tmp_path / "data", tmp_path / "cache")
    video_path(tmp_path / "cache", "validation", "b").unlink()  # as if killed before writing b
    before = video_path(tmp_path / "cache", "validation", "a").stat().st_mtime_ns
    summary = run(network, tmp_path / "data", tmp_path / "cache")
    assert summary.written == ["b"] and sorted(summary.skipped) == ["a", "c"]
    assert video_path(tmp_path / "cache", "validation", "a").stat().st_mtime_ns == before


def test_changed_checkpoint_or_annotation_invalidates(tmp_path: Path, network: torch.nn.Module, caplog: pytest.LogCaptureFixture) -> None:
    write_videos(tmp_path / "data")
    run(network, tmp_path / "data", tmp_path / "cache")
    with caplog.at_level(logging.WARNING):
        summary = run(network, tmp_path / "data", tmp_path / "cache", digest="d2")
    assert sorted(summary.written) == ["a", "b", "c"] and "another checkpoint" in caplog.text
    assert read_metadata(video_path(tmp_path / "cache", "validation", "a"))["checkpoint_digest"] == "d2"
    annotation = tmp_path / "data" / "annotations" / "Validation_Set" / "c.txt"
    annotation.write_text(annotation.read_text().replace("\n7", "\n0"))
    assert run(network, tmp_path / "data", tmp_path / "cache", digest="d2").written == ["c"]


def test_reading_a_cache_of_another_checkpoint_or_feature_size_names_the_file(tmp_path: Path, network: torch.nn.Module) -> None:
    write_videos(tmp_path / "data")
    run(network, tmp_path / "data", tmp_path / "cache")
    with pytest.raises(CheckpointError, match="expected"):
        FeatureCache(tmp_path / "cache", "validation", expected_digest="other")
    write_index(tmp_path / "cache", {"checkpoint": "x", "checkpoint_digest": "d9", "feature_dim": network.num_features})
    with pytest.raises(CheckpointError, match=r"a\.safetensors: written by checkpoint d1"):
        FeatureCache(tmp_path / "cache", "validation").load("a")
    write_index(tmp_path / "cache", {"checkpoint": "x", "checkpoint_digest": "d1", "feature_dim": 7})
    with pytest.raises(CheckpointError, match="feature size"):
        FeatureCache(tmp_path / "cache", "validation").check("a")
    with pytest.raises(CheckpointError, match="no cache.json"):
        FeatureCache(tmp_path, "validation")


def test_empty_video_and_far_too_long_annotation_are_clear_errors(tmp_path: Path, network: torch.nn.Module) -> None:
    write_videos(tmp_path / "data")
    empty = tmp_path / "data" / "annotations" / "Validation_Set" / "empty.txt"
    empty.write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n")
    with pytest.raises(DataFormatError, match="video empty is empty"):
        run(network, tmp_path / "data", tmp_path / "cache")
    empty.write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n" + "0\n" * 500)
    with pytest.raises(DataFormatError, match="empty has 500 annotated frames"):
        run(network, tmp_path / "data", tmp_path / "cache")


def test_videos_are_sharded_across_ranks_without_overlap() -> None:
    names = [f"v{i}" for i in range(7)]
    shards = [shard(names, rank, 3) for rank in range(3)]
    assert sorted(sum(shards, [])) == names
    assert [len(s) for s in shards] == [3, 2, 2]


def test_frame_encoder_split_matches_the_stage1_eval_transform(network: torch.nn.Module) -> None:
    from semifer.data.transforms import eval_transform
    from semifer.models.backbone import FrameModelSpec, frame_features
    from semifer.models.frame_encoder import FrameEncoder

    spec = FrameModelSpec.for_model(network, "resnet10t", image_size=32, resize_size=36)
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg(11), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    encoder = FrameEncoder(network, spec)
    pixels = encoder.resize_crop(image)  # what DataLoader workers ship
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, 32, 32)
    features, logits = encoder.encode(pixels[None])
    with torch.inference_mode():
        expected = frame_features(network, eval_transform(spec)(image)[None])
    torch.testing.assert_close(features, expected, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(logits, network(eval_transform(spec)(image)[None]), atol=1e-4, rtol=1e-4)
