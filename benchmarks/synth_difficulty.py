"""How hard is the synthetic mini-ABAW? A linear probe on HOG features, with and without truth.

Trains scikit-learn logistic regression (class-balanced) on HOG descriptors of 48x48 grey faces
(``semifer.probe``, the probe `semifer demo` reports) and reports macro F1 on the Aff-Wild2-like
validation frames:

1. labeled data only: AffectNet-like + ExpW-like written labels (with their label noise) and
   the annotated Aff-Wild2-like training frames: what a supervised baseline can see;
2. every image with its true class from the manifest (adds the unlabeled AffectNet codes, the
   -1 frames and all of MS1MV2, and removes label noise): the room semi-supervision can use;
3. (1) with its frame probabilities averaged over a centred 15-frame window in each video:
   the room temporal modelling can use;
4. logistic regression on the true AU intensities themselves: how separable the classes are
   once the face is read perfectly (weak expressions stay ambiguous).

Usage: python benchmarks/synth_difficulty.py OUT   (OUT from `semifer synth OUT --scale demo`)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from semifer.data.affectnet import AffectNetReader
from semifer.data.affwild2 import AffWild2Frames
from semifer.data.base import FaceReader
from semifer.data.expw import ExpWReader
from semifer.data.recordio import RecordIOReader
from semifer.metrics import macro_f1
from semifer.probe import fit_probe, hog_features
from semifer.synth import true_labels

_SMOOTH = 15


def features(reader: FaceReader) -> np.ndarray:
    """HOG of every item's face; rows 2 and 3 need every item, so an undecodable one stops the run."""
    x, kept = hog_features(reader, np.arange(len(reader)))
    if not kept.all():
        sys.exit(f"{reader.where(int(np.flatnonzero(~kept)[0]))}: undecodable image")
    return x


def smoothed(probabilities: np.ndarray, reader: AffWild2Frames) -> np.ndarray:
    """Average probabilities over a centred window of frames of the same video."""
    videos = np.array([reader.key(i).split("/")[0] for i in range(len(reader))])
    out = np.empty_like(probabilities)
    kernel = np.ones(_SMOOTH) / _SMOOTH
    for name in np.unique(videos):
        rows = np.flatnonzero(videos == name)
        for column in range(probabilities.shape[1]):
            padded = np.pad(probabilities[rows, column], _SMOOTH // 2, mode="edge")
            out[rows, column] = np.convolve(padded, kernel, mode="valid")
    return out


def main(root: Path) -> None:
    started = time.perf_counter()
    manifest = root / "manifest.json"
    labeled_readers = [
        AffectNetReader(root / "affectnet", "train"),
        AffectNetReader(root / "affectnet", "validation"),
        ExpWReader(root / "expw"),
        AffWild2Frames(root / "aff-wild2", "train"),
    ]
    all_readers = [*labeled_readers, RecordIOReader(root / "ms1mv2")]
    validation = AffWild2Frames(root / "aff-wild2", "validation")
    x = np.concatenate([features(reader) for reader in all_readers])
    written = np.concatenate([reader.labels for reader in all_readers])
    truth = np.concatenate([true_labels(manifest, reader) for reader in all_readers])
    x_val, y_val = features(validation), validation.labels
    annotated = y_val >= 0
    print(
        f"features: {len(x)} training faces, {int(annotated.sum())} annotated validation frames ({time.perf_counter() - started:.0f} s)"
    )

    # Row 1 is `semifer.probe.hog_probe` on these labeled items; fitted here once, since row 3
    # reuses its probabilities.
    model = fit_probe(x[written >= 0], written[written >= 0])
    probabilities = model.predict_proba(x_val)
    supervised = macro_f1(y_val[annotated], model.classes_[probabilities.argmax(1)][annotated])
    temporal = macro_f1(
        y_val[annotated], model.classes_[smoothed(probabilities, validation).argmax(1)][annotated]
    )
    model = fit_probe(x, truth)
    oracle = macro_f1(y_val[annotated], model.predict(x_val)[annotated])

    columns = json.loads(manifest.read_text())["sources"]["affwild2"]
    aus = dict(zip(columns["keys"], columns["aus"], strict=True))
    train_frames = labeled_readers[3]
    au_train = np.array([aus[train_frames.key(i)] for i in range(len(train_frames))])
    au_val = np.array([aus[validation.key(i)] for i in range(len(validation))])
    known = train_frames.labels >= 0
    au_model = LogisticRegression(max_iter=500, class_weight="balanced").fit(
        au_train[known], train_frames.labels[known]
    )
    au_probe = macro_f1(y_val[annotated], au_model.predict(au_val)[annotated])

    print(f"1. HOG + logistic regression, labeled data only:        macro F1 {supervised:.3f}")
    print(f"2. HOG + logistic regression, true labels everywhere:   macro F1 {oracle:.3f}")
    print(f"3. (1) + {_SMOOTH}-frame temporal averaging:                macro F1 {temporal:.3f}")
    print(f"4. logistic regression on the true AU intensities:      macro F1 {au_probe:.3f}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
