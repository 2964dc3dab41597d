import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score

from semifer.labels import NUM_CLASSES
from semifer.metrics import F1Report, confusion_matrix, macro_f1, per_class_f1


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_matches_sklearn_on_random_labels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    targets = rng.integers(-1, NUM_CLASSES, size=500)
    predictions = rng.integers(0, NUM_CLASSES, size=500)
    keep = targets >= 0
    expected = f1_score(targets[keep], predictions[keep], labels=range(NUM_CLASSES), average="macro", zero_division=0)
    assert macro_f1(targets, predictions) == pytest.approx(expected)
    expected_per_class = f1_score(targets[keep], predictions[keep], labels=range(NUM_CLASSES), average=None, zero_division=0)
    np.testing.assert_allclose(per_class_f1(confusion_matrix(targets, predictions)), expected_per_class)
    np.testing.assert_array_equal(
        confusion_matrix(targets, predictions), sk_confusion_matrix(targets[keep], predictions[keep], labels=range(NUM_CLASSES))
    )


def test_absent_classes_count_as_zero_in_the_macro_mean() -> None:
    targets = np.array([0, 0, 4, 4])
    report = F1Report.from_labels(targets, targets)
    assert report.macro_f1 == pytest.approx(2 / NUM_CLASSES)
    assert report.frames == 4


def test_unlabeled_frames_are_excluded_and_bad_labels_rejected() -> None:
    assert confusion_matrix(np.array([-1, 1]), np.array([3, 1])).sum() == 1
    with pytest.raises(ValueError, match="prediction labels"):
        confusion_matrix(np.array([0]), np.array([8]))
