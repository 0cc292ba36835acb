import functools

import pytest
import torch
from sklearn import metrics as skm
from torch import nn

from coursepkg.metrics import (
    accuracy,
    confusion_matrix,
    expected_calibration_error,
    mean_squared_error,
    precision_recall,
    reliability,
    sparsity,
)


@pytest.fixture
def predictions():
    """Logits for 6 classes of which the targets use only 0..3, with about half right."""
    g = torch.Generator().manual_seed(0)
    targets = torch.randint(4, (200,), generator=g)
    logits = torch.randn(200, 6, generator=g)
    logits[torch.arange(200), targets] += torch.rand(200, generator=g) * 3
    return logits, targets


def test_accuracy_known_answer():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([1, 1, 0]), torch.tensor([1, 1, 0])) == 1.0


def test_accuracy_matches_sklearn(predictions):
    logits, targets = predictions
    expected = skm.accuracy_score(targets.numpy(), logits.argmax(1).numpy())
    assert 0.3 < expected < 0.9  # neither trivial nor perfect
    result = accuracy(logits, targets)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, abs=1e-7)
    assert accuracy(logits.argmax(1), targets) == pytest.approx(expected, abs=1e-7)


def test_confusion_matrix_matches_sklearn_with_absent_classes(predictions):
    logits, targets = predictions
    expected = skm.confusion_matrix(targets.numpy(), logits.argmax(1).numpy(), labels=range(6))
    result = confusion_matrix(logits, targets, num_classes=6)
    assert result.dtype == torch.int64
    assert result.shape == (6, 6)
    assert result.tolist() == expected.tolist()
    assert result[4:].sum() == 0  # classes 4 and 5 never occur as targets
    assert torch.equal(confusion_matrix(logits.argmax(1), targets, num_classes=6), result)


def test_confusion_matrix_known_answer():
    result = confusion_matrix(torch.tensor([0, 2, 2, 1]), torch.tensor([0, 1, 2, 1]), num_classes=3)
    assert result.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert result.trace() == 3


def test_metrics_reject_one_float_score_per_sample():
    for metric in (accuracy, functools.partial(confusion_matrix, num_classes=2)):
        with pytest.raises(ValueError, match="outputs must be logits of shape"):
            metric(torch.tensor([0.2, 0.9]), torch.tensor([0, 1]))


def test_metrics_reject_targets_that_would_broadcast():
    logits, targets = torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.long)  # (N, 1), not (N,)
    for metric in (accuracy, functools.partial(confusion_matrix, num_classes=2)):
        with pytest.raises(ValueError, match="one label per sample"):
            metric(logits, targets)


def test_confusion_matrix_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"targets must hold labels in \[0, num_classes - 1\]"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), num_classes=3)
    with pytest.raises(ValueError, match=r"outputs must hold labels in \[0, num_classes - 1\]"):
        confusion_matrix(torch.eye(5)[[0, 4]], torch.tensor([0, 1]), num_classes=3)


def test_precision_recall_match_sklearn(predictions):
    logits, targets = predictions
    preds = logits.argmax(1)
    cm = confusion_matrix(preds, targets, num_classes=6)
    precision, recall = precision_recall(cm)
    p_ref, r_ref, _, _ = skm.precision_recall_fscore_support(
        targets.numpy(), preds.numpy(), labels=range(6), zero_division=0
    )
    assert precision.shape == recall.shape == (6,)
    torch.testing.assert_close(precision, torch.from_numpy(p_ref))
    torch.testing.assert_close(recall, torch.from_numpy(r_ref))
    assert recall[4] == recall[5] == 0  # classes 4 and 5 never occur


def test_precision_recall_known_answer():
    cm = torch.tensor([[8, 2], [1, 9]])
    precision, recall = precision_recall(cm)
    torch.testing.assert_close(precision, torch.tensor([8 / 9, 9 / 11], dtype=torch.float64))
    torch.testing.assert_close(recall, torch.tensor([0.8, 0.9], dtype=torch.float64))


# --- mean_squared_error -----------------------------------------------------------------


def test_mean_squared_error_known_answer_and_sklearn():
    result = mean_squared_error(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 5.0]))
    assert isinstance(result, float)
    assert result == pytest.approx(4 / 3)
    g = torch.Generator().manual_seed(0)
    prediction, target = torch.randn(2, 50, generator=g, dtype=torch.float64)
    expected = skm.mean_squared_error(target.numpy(), prediction.numpy())
    assert mean_squared_error(prediction, target) == pytest.approx(expected, rel=1e-12)


# --- sparsity ---------------------------------------------------------------------------

SPARSE = [
    torch.tensor([0.0, 1e-3, -2.0, 0.0], dtype=torch.float64),
    torch.tensor([[0.0, 5.0], [1e-6, -1e-3]], dtype=torch.float64),
]


@pytest.mark.parametrize(
    ("tol", "expected"), [(0.0, 3 / 8), (0, 3 / 8), (1e-6, 4 / 8), (1e-3, 6 / 8), (10.0, 1.0)]
)
def test_sparsity_counts_entries_within_tol(tol, expected):
    result = sparsity(SPARSE, tol=tol)
    assert type(result) is float
    assert result == expected
    assert sparsity(iter(SPARSE), tol=tol) == expected


def test_sparsity_of_a_tensor_and_of_a_model():
    assert sparsity(SPARSE[1]) == 0.25
    model = nn.Linear(4, 2)
    nn.init.zeros_(model.weight)
    assert sparsity(model.parameters()) == 0.8  # 8 zero weights, 2 non-zero biases


# --- reliability and expected_calibration_error -------------------------------------------


def test_reliability_and_ece_known_answer():
    # bins=4: (0, .25], (.25, .5], (.5, .75], (.75, 1]
    probs = torch.tensor(
        [
            [0.9, 0.05, 0.05],  # conf .9, predicts 0, target 0: right  -> bin 4
            [0.8, 0.1, 0.1],  # conf .8, predicts 0, target 1: wrong  -> bin 4
            [0.3, 0.6, 0.1],  # conf .6, predicts 1, target 1: right  -> bin 3
            [0.2, 0.2, 0.6],  # conf .6, predicts 2, target 0: wrong  -> bin 3
            [0.4, 0.35, 0.25],  # conf .4, predicts 0, target 0: right -> bin 2
        ]
    )
    targets = torch.tensor([0, 1, 1, 0, 0])
    confidence, bin_accuracy, count = reliability(probs, targets, bins=4)
    # float32 probabilities: means within a few ulps of the decimal values
    torch.testing.assert_close(confidence, torch.tensor([0.0, 0.4, 0.6, 0.85]))
    torch.testing.assert_close(bin_accuracy, torch.tensor([0.0, 1.0, 0.5, 0.5]))
    assert count.tolist() == [0, 1, 2, 2]
    # ECE = 1/5 |1 - .4| + 2/5 |.5 - .6| + 2/5 |.5 - .85| = .12 + .04 + .14 = .30
    assert expected_calibration_error(probs, targets, bins=4) == pytest.approx(0.30, abs=1e-6)


def test_reliability_bins_are_right_closed():
    # bins=4 edges .25, .5, .75, 1 are exact in binary: conf b/M lands in bin b (index b - 1)
    probs = torch.tensor([[0.5, 0.5], [0.75, 0.25], [1.0, 0.0], [0.5 + 2**-20, 0.5 - 2**-20]])
    _, _, count = reliability(probs, torch.zeros(4, dtype=torch.long), bins=4)
    assert count.tolist() == [0, 1, 2, 1]  # .5 -> bin 2; .75 and just above .5 -> bin 3; 1 -> 4
    for conf, index in [(0.5, 1), (0.75, 2), (1.0, 3)]:
        _, _, count = reliability(torch.tensor([[conf, 1 - conf]]), torch.tensor([0]), bins=4)
        assert int(count.argmax()) == index


def test_ece_is_zero_when_confidence_equals_accuracy():
    # 10 predictions at .8 with 8 right, 5 at .6 with 3 right: every bin is calibrated.
    probs = torch.tensor([[0.8, 0.2]] * 10 + [[0.4, 0.6]] * 5)
    targets = torch.tensor([0] * 8 + [1] * 2 + [1] * 3 + [0] * 2)
    confidence, bin_accuracy, count = reliability(probs, targets, bins=10)
    assert count[7] == 10 and count[5] == 5
    torch.testing.assert_close(confidence[[5, 7]], bin_accuracy[[5, 7]])  # float32: 1e-5
    # float32: .8 and .6 are each within one ulp (6e-8) of the accuracies 8/10 and 3/5
    assert expected_calibration_error(probs, targets, bins=10) == pytest.approx(0.0, abs=1e-6)
    # one more wrong prediction at .8 makes the gap visible: 11 at .8 with 8 right
    probs, targets = torch.cat([probs, probs[:1]]), torch.cat([targets, torch.tensor([1])])
    expected = 11 / 16 * abs(8 / 11 - 0.8)
    assert expected_calibration_error(probs, targets, bins=10) == pytest.approx(expected, abs=1e-6)


def test_ece_matches_a_loop_over_the_non_empty_bins(predictions):
    logits, targets = predictions
    probs = (logits / 0.3).softmax(dim=1)  # sharp: confidences crowd the top bins
    confidence, bin_accuracy, count = reliability(probs, targets, bins=15)
    assert count.sum() == len(targets)
    assert (count == 0).any()  # some bins are empty, and report 0
    assert (confidence[count == 0] == 0).all() and (bin_accuracy[count == 0] == 0).all()
    conf, predicted = probs.double().max(dim=1)
    right = (predicted == targets).double()
    expected = 0.0
    for b in range(15):
        inside = (conf > b / 15) & (conf <= (b + 1) / 15)
        if inside.any():
            expected += (
                inside.sum().item()
                / len(conf)
                * abs(right[inside].mean().item() - conf[inside].mean().item())
            )
    # float32 means over at most 200 values: within 1e-6 of the float64 ones
    assert expected_calibration_error(probs, targets, bins=15) == pytest.approx(expected, abs=1e-6)


def test_reliability_accepts_float64_probabilities(predictions):
    logits, targets = predictions
    probs = logits.softmax(dim=1)
    expected = expected_calibration_error(probs, targets)
    assert expected_calibration_error(probs.double(), targets) == pytest.approx(expected, abs=1e-6)
