"""Is stage 2's shortfall temporal, or is it the classifier learned on the training videos?

Stage 2 learns its classifier on the frozen student's features of the training videos. This
fits the HOG probe's classifier (``semifer.probe.fit_probe``: standardised, class-balanced
logistic regression) per frame on the same cached features and scores it on the validation
videos, beside the student's own head (the logits the cache stores). A probe well below the
head says a classifier learned on these training videos does not carry to new people, whatever
the temporal encoder adds on top; a probe near the head points at the encoder.

Usage: python benchmarks/feature_probe.py FEATURE_CACHE
       (a `semifer extract-features` folder, e.g. demo-output/features/ssl)
"""

from __future__ import annotations

import argparse

import numpy as np

from semifer.metrics import macro_f1
from semifer.probe import fit_probe
from semifer.temporal.features import FeatureCache


def annotated_frames(cache: str, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, true labels and the student head's labels of every annotated frame with a face."""
    reader = FeatureCache(cache, split)
    features, labels, head = [], [], []
    for name in reader.names:
        video = reader.load(name)
        keep = (video.labels >= 0) & video.mask
        features.append(video.features[keep].float().numpy())
        labels.append(video.labels[keep].numpy())
        head.append(video.logits[keep].argmax(-1).numpy())
    return np.concatenate(features), np.concatenate(labels), np.concatenate(head)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", help="feature cache folder with train/ and validation/")
    args = parser.parse_args()
    train_x, train_y, train_head = annotated_frames(args.cache, "train")
    val_x, val_y, val_head = annotated_frames(args.cache, "validation")
    probe = fit_probe(train_x, train_y)
    print(f"{args.cache}: {len(train_y)} training frames, {len(val_y)} validation frames (annotated, with a face)")
    print("| per-frame classifier | training videos | validation videos |")
    print("| --- | ---: | ---: |")
    print(f"| the student's own head | {macro_f1(train_y, train_head):.4f} | {macro_f1(val_y, val_head):.4f} |")
    print(f"| logistic regression fitted on the training videos | {macro_f1(train_y, probe.predict(train_x)):.4f} | {macro_f1(val_y, probe.predict(val_x)):.4f} |")


if __name__ == "__main__":
    main()
