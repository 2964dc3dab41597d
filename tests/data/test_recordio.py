"""MS1MV2 RecordIO: round trip, split records rejoined, identities, and broken files."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import torch

from semifer.data.recordio import HEADER, MAGIC_BYTES, RecordIOReader, RecordIOWriter
from semifer.errors import CorruptImageError, DataFormatError


def with_aligned_magic(data: bytes, copies: int) -> bytes:
    """JPEG bytes, then the magic at 4-aligned payload offsets (decoders stop at EOI)."""
    pad = (-(HEADER.size + len(data))) % 4
    return data + b"\0" * pad + (MAGIC_BYTES + b"abcd") * copies


@pytest.fixture
def images(make_image):
    return [make_image(seed) for seed in range(6)]


def write(folder, jpegs, identities):
    with RecordIOWriter(folder) as writer:
        ids = [writer.add(data, identity) for data, identity in zip(jpegs, identities)]
    return ids


def test_round_trip_ids_identities_pixels(tmp_path, images, jpeg, pixels_close):
    ids = write(tmp_path, [jpeg(image) for image in images], [3, 3, 5, 5, 5, 9])
    assert ids == [1, 2, 3, 4, 5, 6]
    reader = RecordIOReader(tmp_path)
    assert len(reader) == 6 and (reader.labels == -1).all()
    assert [reader.key(i) for i in range(6)] == ["1", "2", "3", "4", "5", "6"]
    assert reader.identity_end == reader.image_end + 3  # one identity record each
    np.testing.assert_array_equal(reader.identities, [3, 3, 5, 5, 5, 9])
    assert (tmp_path / "property").read_text() == "3,112,112"
    for index, image in enumerate(images):
        pixels_close(reader.load(index), image)


def test_interleaved_identities_fall_back_to_image_headers(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:4]], [7, 8, 7, 8])
    reader = RecordIOReader(tmp_path)
    assert reader.identity_end == reader.image_end
    np.testing.assert_array_equal(reader.identities, [7, 8, 7, 8])


@pytest.mark.parametrize("copies", [1, 3])
def test_magic_in_payload_is_split_and_rejoined(tmp_path, images, jpeg, copies):
    payloads = [with_aligned_magic(jpeg(images[0]), copies), jpeg(images[1])]
    write(tmp_path, payloads, [0, 1])
    raw = (tmp_path / "train.rec").read_bytes()
    # The first image record was written as start/(middle)/end parts, not one record.
    first_image = int((tmp_path / "train.idx").read_text().split()[3])
    lrec = struct.unpack_from("<I", raw, first_image + 4)[0]
    assert lrec >> 29 == 1
    reader = RecordIOReader(tmp_path)
    assert reader.read_bytes(0) == payloads[0]
    assert reader.read_bytes(1) == payloads[1]
    assert reader.load(0).shape == (32, 32, 3)


def test_reader_survives_pickling_and_reopens(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:2]], [0, 0])
    reader = RecordIOReader(tmp_path)
    first = reader.read_bytes(1)
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.read_bytes(1) == first


def offset_of(folder, record):
    lines = (folder / "train.idx").read_text().splitlines()
    return int(lines[record].split("\t")[1])


def test_bad_magic_names_record(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:3]], [0, 1, 2])
    raw = bytearray((tmp_path / "train.rec").read_bytes())
    raw[offset_of(tmp_path, 2)] ^= 0xFF
    (tmp_path / "train.rec").write_bytes(bytes(raw))
    reader = RecordIOReader(tmp_path)
    with pytest.raises(DataFormatError, match="record 2 at byte .*: bad magic"):
        reader.read_bytes(1)


def test_a_broken_record_is_skipped_and_counted_in_training(tmp_path, images, jpeg):
    from semifer.data.decoded_cache import open_decoded
    from semifer.ssl.data import FacePool, SeededViews, collate_views

    write(tmp_path, [jpeg(image) for image in images[:3]], [0, 1, 2])
    raw = bytearray((tmp_path / "train.rec").read_bytes())
    raw[offset_of(tmp_path, 2)] ^= 0xFF
    (tmp_path / "train.rec").write_bytes(bytes(raw))
    reader = RecordIOReader(tmp_path)
    with pytest.raises(CorruptImageError):
        reader.load(1)
    pool = FacePool([(reader, np.arange(3))], labeled=False)
    batch = collate_views([SeededViews(pool, lambda image: torch.from_numpy(image[:4, :4].copy()), 0, 1)[(i, i)] for i in range(3)])
    assert batch["skipped"] == 1 and batch["indices"].tolist() == [0, 2]
    assert open_decoded(pool, 8, tmp_path / "cache" / "pool.npy").valid.tolist() == [True, False, True]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float() / 255


def test_reader_in_forked_workers_after_use_in_main(tmp_path, make_image, jpeg):
    from torch.utils.data import DataLoader

    from semifer.ssl.data import FacePool, SeededViews, collate_views

    write(tmp_path, [jpeg(make_image(seed)) for seed in range(8)], [seed // 2 for seed in range(8)])
    reader = RecordIOReader(tmp_path)
    reader.load(0)  # the main process now holds an open file
    views = SeededViews(FacePool([(reader, np.arange(8))], labeled=False), to_tensor, 0, 1)
    loader = DataLoader(views, batch_size=4, sampler=[(i, i) for i in range(8)], num_workers=2, collate_fn=collate_views)
    batches = list(loader)
    assert sorted(sum((batch["indices"].tolist() for batch in batches), [])) == list(range(8))
    assert sum(batch["skipped"] for batch in batches) == 0


def test_truncated_record(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:2]], [0, 0])
    rec = tmp_path / "train.rec"
    cut = offset_of(tmp_path, 2) + 40
    rec.write_bytes(rec.read_bytes()[:cut])
    (tmp_path / "train.idx").write_text(
        "\n".join((tmp_path / "train.idx").read_text().splitlines()[:3]) + "\n"
    )
    reader = RecordIOReader(tmp_path)
    with pytest.raises(DataFormatError, match="record 2 .*truncated record"):
        reader.read_bytes(1)


def test_idx_offset_past_end_names_line(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:2]], [0, 0])
    idx = tmp_path / "train.idx"
    lines = idx.read_text().splitlines()
    lines[2] = "2\t999999"
    idx.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"train\.idx:3: offset 999999 of record 2"):
        RecordIOReader(tmp_path)


def test_corrupt_record_header(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(images[0])], [0])
    raw = bytearray((tmp_path / "train.rec").read_bytes())
    struct.pack_into("<I", raw, offset_of(tmp_path, 1) + 8, 1_000_000)  # absurd label count
    (tmp_path / "train.rec").write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match="record 1: header says 1000000 labels"):
        RecordIOReader(tmp_path).read_bytes(0)


def test_undecodable_jpeg_is_a_corrupt_image(tmp_path, images, jpeg):
    write(tmp_path, [b"\xff\xd8 not really a jpeg", jpeg(images[0])], [0, 1])
    reader = RecordIOReader(tmp_path)
    with pytest.raises(CorruptImageError, match="record 1"):
        reader.load(0)
    assert reader.load(1).shape == (32, 32, 3)


def test_missing_files(tmp_path):
    with pytest.raises(DataFormatError, match="train.rec: RecordIO file not found"):
        RecordIOReader(tmp_path)


def test_index_in_any_order_and_with_gaps(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:3]], [0, 1, 1])
    idx = tmp_path / "train.idx"
    lines = idx.read_text().splitlines()
    idx.write_text("\n".join(reversed(lines)) + "\n")
    assert RecordIOReader(tmp_path).read_bytes(2) == jpeg(images[2])
    del lines[4]  # the first identity record is not indexed: keys are no longer 0..N-1
    idx.write_text("\n".join(lines) + "\n")
    reader = RecordIOReader(tmp_path)
    assert reader.read_bytes(2) == jpeg(images[2])
    with pytest.raises(DataFormatError, match="no record 4 in the index"):
        reader.identities


def test_header_naming_more_images_than_indexed(tmp_path, images, jpeg):
    write(tmp_path, [jpeg(image) for image in images[:2]], [0, 0])
    idx = tmp_path / "train.idx"
    idx.write_text("\n".join(idx.read_text().splitlines()[:2]) + "\n")
    with pytest.raises(DataFormatError, match=r"header names images 1\.\.2 but .* indexes 2"):
        RecordIOReader(tmp_path)
