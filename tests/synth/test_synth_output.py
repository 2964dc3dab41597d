"""What ``semifer synth`` writes reads back through the format readers, and matches the manifest."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from semifer.cli.app import app
from semifer.data.affectnet import AffectNetReader
from semifer.data.affwild2 import AffWild2Frames, AffWild2Videos
from semifer.data.base import FaceReader
from semifer.data.expw import ExpWReader
from semifer.data.recordio import RecordIOReader
from semifer.errors import ConfigError, SemiferError
from semifer.labels import NUM_CLASSES, UNLABELED
from semifer.synth import generate, true_labels
from semifer.synth.contact_sheet import sheet_size


def _digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _readers(root: Path) -> list[FaceReader]:
    return [
        AffWild2Frames(root / "aff-wild2", "train"),
        AffWild2Frames(root / "aff-wild2", "validation"),
        AffectNetReader(root / "affectnet", "train"),
        AffectNetReader(root / "affectnet", "validation"),
        ExpWReader(root / "expw"),
        RecordIOReader(root / "ms1mv2"),
    ]


def test_same_seed_gives_identical_files_whatever_the_worker_count(
    tiny: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    generate(again, scale="tiny", seed=0, workers=2)
    assert _digests(again) == _digests(tiny)


def test_another_seed_gives_other_data(tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, scale="tiny", seed=1, workers=1)
    assert (other / "manifest.json").read_bytes() != (tiny / "manifest.json").read_bytes()


def test_every_format_reads_back_with_the_manifest_counts(
    tiny: Path, tiny_manifest: dict[str, Any]
) -> None:
    sources = tiny_manifest["sources"]
    readers = _readers(tiny)
    frames = sum(len(reader) for reader in readers[:2])
    assert frames == sum(sources["affwild2"]["has_image"])
    assert len(readers[2]) + len(readers[3]) == len(sources["affectnet"]["keys"])
    assert len(readers[4]) == len(sources["expw"]["keys"])
    assert len(readers[5]) == len(sources["ms1mv2"]["keys"])
    assert len(readers[3]) > 0, "the AffectNet validation split is empty"
    for reader in readers:
        face = reader.load(len(reader) - 1)
        assert face.ndim == 3 and face.shape[2] == 3 and min(face.shape[:2]) >= 40


def test_manifest_covers_every_item_and_agrees_with_the_written_labels(
    tiny: Path, tiny_manifest: dict[str, Any]
) -> None:
    for reader in _readers(tiny):
        truth = true_labels(tiny / "manifest.json", reader)
        assert truth.shape == (len(reader),)
        assert ((truth >= 0) & (truth < NUM_CLASSES)).all(), f"{reader.source}: item without truth"
        columns = tiny_manifest["sources"][reader.source]
        written = dict(zip(columns["keys"], columns["labels"], strict=True))
        assert [written[reader.key(i)] for i in range(len(reader))] == reader.labels.tolist()
        assert all(len(aus) == 12 and 0 <= min(aus) and max(aus) <= 1 for aus in columns["aus"])


def test_unlabeled_sources_keep_their_truth(tiny: Path) -> None:
    identities = RecordIOReader(tiny / "ms1mv2").identities
    assert (RecordIOReader(tiny / "ms1mv2").labels == UNLABELED).all()
    assert len(np.unique(identities)) > 1 and (np.diff(identities) >= 0).all()
    affectnet = AffectNetReader(tiny / "affectnet", "train")
    unlabeled = affectnet.labels == UNLABELED
    assert unlabeled.any(), "no Contempt/None/Uncertain codes in the AffectNet-like data"
    assert (true_labels(tiny / "manifest.json", affectnet)[unlabeled] >= 0).all()


def test_videos_have_the_quirks_of_real_aff_wild2(
    tiny: Path, tiny_manifest: dict[str, Any]
) -> None:
    videos = AffWild2Videos(tiny / "aff-wild2", "train")
    assert len(videos) == 3 and len(AffWild2Videos(tiny / "aff-wild2", "validation")) == 2
    columns = tiny_manifest["sources"]["affwild2"]
    assert not all(columns["has_image"]), "no frame without a face image"
    for video in videos:
        annotation = (
            (tiny / "aff-wild2" / "annotations" / "Train_Set" / f"{video.name}.txt")
            .read_text()
            .splitlines()
        )
        assert len(annotation) - 1 in (len(video.labels), len(video.labels) + 1)
        assert video.frame_paths[-1] is not None


def test_contact_sheet_has_the_documented_size(tiny: Path) -> None:
    image = cv2.imread(str(tiny / "contact_sheet.png"))
    assert image is not None
    width, height = sheet_size()
    assert image.shape == (height, width, 3)
    assert image.std() > 20, "the contact sheet is blank"


def test_cli_writes_a_data_set_and_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["synth", str(tmp_path / "cli"), "--scale", "tiny", "--seed", "2", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "manifest.json").is_file() and "ms1mv2" in result.output
    again = runner.invoke(app, ["synth", str(tmp_path / "cli"), "--scale", "tiny"])
    assert isinstance(again.exception, SemiferError)
    unknown = runner.invoke(app, ["synth", str(tmp_path / "new"), "--scale", "enormous"])
    assert isinstance(unknown.exception, ConfigError)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("source", ["affwild2", "affectnet", "expw", "ms1mv2", "raw_video"])
def test_manifest_counts_match_its_columns(tiny_manifest: dict[str, Any], source: str) -> None:
    columns = tiny_manifest["sources"][source]
    counts = tiny_manifest["counts"][source]
    assert counts["items"] == len(columns["keys"]) == len(set(columns["keys"]))
    assert counts["labeled"] == sum(label != UNLABELED for label in columns["labels"])


def test_output_does_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import hashlib, numpy as np\n"
        "from semifer.synth.aus import expression_aus\n"
        "from semifer.labels import OTHER\n"
        "rng = np.random.default_rng(0)\n"
        "aus = [expression_aus(c, 0.8, rng) for c in list(range(8)) * 20 + [OTHER] * 50]\n"
        "print(hashlib.sha256(np.stack(aus).tobytes()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout  # fmt: skip
        for seed in ("1", "2")
    }
    assert len(digests) == 1
