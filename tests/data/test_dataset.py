"""FaceDataset and collate_skipping: corrupt images are skipped and counted, never relabeled."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from semifer.data.dataset import FaceDataset, collate_skipping
from semifer.data.imagefolder import ImageFolderReader
from semifer.data.recordio import RecordIOReader, RecordIOWriter


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 255


def make_folder(root, make_image, jpeg):
    for name, payloads in {
        "Anger": [jpeg(make_image(0)), b"garbage"],
        "Fear": [jpeg(make_image(1)), jpeg(make_image(2))],
    }.items():
        (root / name).mkdir()
        for index, data in enumerate(payloads):
            (root / name / f"{index}.jpg").write_bytes(data)
    return ImageFolderReader(root, labeled=True)


def test_items_and_skip(tmp_path, make_image, jpeg):
    reader = make_folder(tmp_path, make_image, jpeg)
    dataset = FaceDataset(reader, indices=np.array([1, 2]))
    assert len(dataset) == 2
    assert dataset[0] is None  # Anger/1.jpg is garbage
    image, label, index = dataset[1]
    assert image.shape == (32, 32, 3) and label == 3 and index == 2


def test_loader_counts_skipped_in_workers(tmp_path, make_image, jpeg):
    reader = make_folder(tmp_path, make_image, jpeg)
    loader = DataLoader(FaceDataset(reader, transform=to_tensor), batch_size=4,
                        num_workers=1, collate_fn=collate_skipping)
    (batch,) = list(loader)
    assert batch["skipped"] == 1
    assert batch["images"].shape == (3, 3, 32, 32)
    assert batch["labels"].tolist() == [1, 3, 3]
    assert batch["indices"].tolist() == [0, 2, 3]


def test_collate_keeps_arrays_without_transform_and_empty_batches():
    image = np.zeros((4, 4, 3), np.uint8)
    batch = collate_skipping([(image, 0, 5), None])
    assert isinstance(batch["images"], list) and batch["skipped"] == 1
    empty = collate_skipping([None, None])
    assert empty["labels"].shape == (0,) and empty["skipped"] == 2


def test_recordio_in_forked_workers_after_use_in_main(tmp_path, make_image, jpeg):
    with RecordIOWriter(tmp_path) as writer:
        for seed in range(8):
            writer.add(jpeg(make_image(seed)), seed // 2)
    reader = RecordIOReader(tmp_path)
    reader.load(0)  # the main process now holds an open file
    loader = DataLoader(FaceDataset(reader, transform=to_tensor), batch_size=4,
                        num_workers=2, collate_fn=collate_skipping)
    batches = list(loader)
    assert sorted(sum((batch["indices"].tolist() for batch in batches), [])) == list(range(8))
    assert sum(batch["skipped"] for batch in batches) == 0
