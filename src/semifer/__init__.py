"""semifer: facial expression recognition in video (ABAW 8 classes).

Semi-supervised teacher-student pretraining with feedback (stage 1), a temporal transformer
over frozen per-frame features (stage 2), window smoothing and ABAW evaluation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Recognizer", "__version__"]

if TYPE_CHECKING:
    from semifer.inference.predictor import Recognizer


def __getattr__(name: str) -> Any:
    # Lazy so that `import semifer` (and the CLI's start-up) does not import torch.
    if name == "Recognizer":
        from semifer.inference.predictor import Recognizer

        return Recognizer
    raise AttributeError(name)
