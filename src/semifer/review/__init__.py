"""``semifer review``: an offline review site per run and per predicted video.

The overview shows the F1 table, per-class F1 and confusion matrices whose cells list their
frames; each video page steps through the frames with the true label, the raw and smoothed
predictions and the class probabilities on scrubbable timelines. Pages open from disk with
every script inside the folder (Plotly is copied from its Python package).
"""

from semifer.review.build import build_review, review, review_predictions, review_run

__all__ = ["build_review", "review", "review_predictions", "review_run"]
