"""Synthetic mini-ABAW: procedurally drawn faces with known AUs, written in the real formats.

``generate(out, scale, seed)`` builds the data set; ``manifest.true_labels`` gives the true
class of any reader item, so pseudo-label quality can be measured on unlabeled data.
"""

from semifer.synth.generate import SCALES, Scale, generate
from semifer.synth.manifest import true_labels

__all__ = ["SCALES", "Scale", "generate", "true_labels"]
