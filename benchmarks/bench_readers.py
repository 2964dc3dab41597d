"""Decode throughput of every format reader next to a plain decode of the same bytes.

Writes a small data set of each format with the format writers into a temporary folder, then
times, in one process and interleaved (best of ``--repeats``, files in the page cache):

- each reader's ``load`` over all its items, in order;
- the plain baselines on the very same image files: read + ``cv2.imdecode`` (the decode the
  readers use), read + PIL decode, and ``torchvision.datasets.ImageFolder`` (PIL) for folders;
- RecordIO: ``load`` in order and in a random order, against one sequential pass over
  ``train.rec`` (+ the same decode) and against separate JPEG files read in the same random order.

With ``--index N``, times instead what opening a reader costs at real scale: a RecordIO
index of N records (MS1MV2 has 5.8M; a sparse ``train.rec``, nothing decoded) and an AffectNet
CSV of the matching size (414,799 rows for N = 5.8M), with the memory the reader keeps.

Usage: ``python benchmarks/bench_readers.py [--count 1500] [--repeats 3] [--size 112]``
       ``python benchmarks/bench_readers.py --index 5800000``
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table
from torchvision.datasets import ImageFolder

from semifer.data.affectnet import COLUMNS as AFFECTNET_COLUMNS
from semifer.data.affectnet import AffectNetReader, AffectNetWriter
from semifer.data.affwild2 import AffWild2Frames, AffWild2Writer
from semifer.data.base import Box, FaceReader, decode_image
from semifer.data.expw import ExpWReader, ExpWWriter
from semifer.data.imagefolder import ImageFolderReader
from semifer.data.recordio import HEADER, MAGIC, RecordIOReader, RecordIOWriter, read_index
from semifer.labels import ABAW_CLASSES


def face_like(rng: np.random.Generator, size: int) -> bytes:
    """A smooth image with texture, JPEG quality 90: about the byte size of a real face crop."""
    rows = np.linspace(0, 1, size)[:, None, None]
    cols = np.linspace(0, 1, size)[None, :, None]
    base = rng.uniform(40, 200, 3) + 60 * np.sin(6 * rows + rng.uniform(0, 6)) * cols
    image = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buffer.tobytes()


def write_sources(root: Path, count: int, size: int, seed: int = 0) -> dict[str, list[Path]]:
    """Write every format with ``count`` images; returns the image file of each reader item."""
    rng = np.random.default_rng(seed)
    images = [face_like(rng, size) for _ in range(count)]
    files: dict[str, list[Path]] = {}
    writer = AffWild2Writer(root / "aff-wild2")
    per_video = 100
    for start in range(0, count, per_video):
        frames = images[start : start + per_video]
        writer.write_video("train", f"video{start // per_video:03d}", [0] * len(frames), frames)
    files["affwild2"] = sorted((root / "aff-wild2" / "cropped_aligned").glob("*/*.jpg"))
    box = Box(8, 8, size - 8, size - 8)
    with AffectNetWriter(root / "affectnet") as affectnet:
        for index, data in enumerate(images):
            affectnet.add("train", f"{index % 10}/{index:06d}.jpg", data, box, index % 7)
    files["affectnet"] = [
        root / "affectnet" / "Manually_Annotated_Images" / f"{i % 10}/{i:06d}.jpg"
        for i in range(count)
    ]
    half = size // 2
    with ExpWWriter(root / "expw") as expw:
        for index, data in enumerate(images[: count // 2]):
            faces = [(0, Box(0, 0, half, half), 1.0, 3), (1, Box(half, half, size, size), 1.0, 6)]
            expw.add_image(f"{index:06d}.jpg", data, faces)
    files["expw"] = [
        root / "expw" / "image" / "origin" / f"{i:06d}.jpg"
        for i in range(count // 2)
        for _ in (0, 1)
    ]
    folder = root / "folder"
    for index, data in enumerate(images):
        target = folder / ABAW_CLASSES[index % 8] / f"{index:06d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    files["imagefolder"] = [
        folder / name / f"{i:06d}.jpg"
        for name in sorted(ABAW_CLASSES)
        for i in range(ABAW_CLASSES.index(name), count, 8)
    ]
    with RecordIOWriter(root / "ms1mv2", image_size=(size, size)) as recordio:
        for index, data in enumerate(images):
            recordio.add(data, index // 20)
    files["ms1mv2"] = files["affectnet"]  # the same bytes, as separate files
    return files


def load_all(reader: FaceReader, order: np.ndarray) -> None:
    for index in order:
        reader.load(int(index))


def files_cv2(paths: list[Path]) -> None:
    for path in paths:
        decode_image(path.read_bytes(), str(path))


def files_pil(paths: list[Path]) -> None:
    for path in paths:
        with Image.open(path) as image:
            np.asarray(image.convert("RGB"))


def torchvision_folder(root: Path) -> Callable[[], None]:
    dataset = ImageFolder(str(root))

    def run() -> None:
        for index in range(len(dataset)):
            np.asarray(dataset[index][0])

    return run


def recordio_sequential(reader: RecordIOReader) -> Callable[[], None]:
    """One sequential read of train.rec, records cut at the .idx offsets, then decoded."""
    size = reader.rec_path.stat().st_size
    _, offsets = read_index(reader.idx_path, size)
    bounds = [*offsets[1 : reader.image_end + 1].tolist(), size][: reader.image_end]

    def run() -> None:
        raw = reader.rec_path.read_bytes()
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            decode_image(raw[start + 8 + HEADER.size : end], "sequential")

    return run


def index_costs(records: int) -> None:
    """Open a RecordIO reader over ``records`` records and an AffectNet reader of matching size."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        record_size = 5000
        header = HEADER.pack(2, 0.0, 0, 0) + struct.pack("<2f", records + 1, records + 1)
        with (folder / "train.rec").open("wb") as rec:
            rec.write(struct.pack("<II", MAGIC, len(header)) + header)
            rec.truncate(8 + len(header) + records * record_size)
        offsets = 8 + len(header) + np.arange(records, dtype=np.int64) * record_size
        lines = ["0\t0"] + [f"{key}\t{offset}" for key, offset in enumerate(offsets, start=1)]
        (folder / "train.idx").write_text("\n".join(lines) + "\n")
        start = time.perf_counter()
        recordio = RecordIOReader(folder)
        opened = time.perf_counter() - start
        arrays = [value for value in vars(recordio).values() if isinstance(value, np.ndarray)]
        kept = sum(array.nbytes for array in arrays)
        rows = records * 414_799 // 5_800_000  # AffectNet's training.csv next to MS1MV2
        landmarks = ";".join(["123.45"] * 136)  # 68 points, as in the real CSV
        csv_path = folder / "Manually_Annotated_file_lists" / "training.csv"
        csv_path.parent.mkdir()
        with csv_path.open("w") as handle:
            handle.write(",".join(AFFECTNET_COLUMNS) + "\n")
            for row in range(rows):
                path = f"{row % 1000}/{row:040x}.jpg"
                handle.write(f"{path},10,12,200,210,{landmarks},{row % 11},0.1,-0.2\n")
        csv_size = csv_path.stat().st_size
        start = time.perf_counter()
        affectnet = AffectNetReader(folder)
        csv_opened = time.perf_counter() - start
    Console().print(
        f"RecordIO index of {len(recordio):,} records: opened in {opened:.2f} s, "
        f"keeps {kept / 2**20:.0f} MiB of arrays\n"
        f"AffectNet CSV of {len(affectnet):,} rows ({csv_size / 2**20:.0f} MiB): "
        f"opened in {csv_opened:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--index", type=int, default=0, help="time opening N-record indexes")
    args = parser.parse_args()
    if args.index:
        index_costs(args.index)
        return
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        files = write_sources(root, args.count, args.size)
        readers: dict[str, FaceReader] = {
            "affwild2": AffWild2Frames(root / "aff-wild2", "train"),
            "affectnet": AffectNetReader(root / "affectnet"),
            "expw": ExpWReader(root / "expw"),
            "imagefolder": ImageFolderReader(root / "folder", labeled=True),
        }
        recordio = RecordIOReader(root / "ms1mv2")
        shuffled = np.random.default_rng(1).permutation(len(recordio))
        cases: dict[str, tuple[int, Callable[[], None]]] = {}
        for name, reader in readers.items():
            order = np.arange(len(reader))
            cases[f"{name} reader"] = (len(reader), lambda r=reader, o=order: load_all(r, o))
            cases[f"{name} files cv2"] = (len(files[name]), lambda p=files[name]: files_cv2(p))
            cases[f"{name} files PIL"] = (len(files[name]), lambda p=files[name]: files_pil(p))
        cases["imagefolder torchvision"] = (args.count, torchvision_folder(root / "folder"))
        in_order = np.arange(len(recordio))
        cases["ms1mv2 reader"] = (len(recordio), lambda: load_all(recordio, in_order))
        cases["ms1mv2 reader random"] = (len(recordio), lambda: load_all(recordio, shuffled))
        cases["ms1mv2 sequential rec"] = (len(recordio), recordio_sequential(recordio))
        random_files = [files["ms1mv2"][i] for i in shuffled]
        cases["ms1mv2 files cv2 random"] = (len(recordio), lambda: files_cv2(random_files))
        best = {name: float("inf") for name in cases}
        for _ in range(args.repeats):
            for name, (_, run) in cases.items():
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
    report(cases, best, args)


def report(cases: dict, best: dict[str, float], args: argparse.Namespace) -> None:
    """Print images/s per case and each reader's ratio to the fastest plain decode of its bytes."""
    rate = {name: cases[name][0] / best[name] for name in cases}
    table = Table(
        title=f"decode throughput, {args.count} images of {args.size}px, best of {args.repeats}"
    )
    for column in ("case", "images/s", "vs fastest plain decode"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name in cases:
        source = name.split()[0]
        randomness = "random" in name
        plain = [
            rate[other]
            for other in rate
            if other.startswith(source)
            and "reader" not in other
            and ("random" in other) == randomness
        ]
        ratio = f"{rate[name] / max(plain):.2f}" if "reader" in name else ""
        table.add_row(name, f"{rate[name]:,.0f}", ratio)
    Console().print(table)


if __name__ == "__main__":
    main()
