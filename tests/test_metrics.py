import pytest
import torch
from sklearn import metrics as skm

from coursepkg.metrics import accuracy, confusion_matrix


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


@pytest.mark.parametrize(
    ("outputs", "targets", "error", "name"),
    [
        ([0, 1], torch.tensor([0, 1]), TypeError, "outputs"),
        (torch.tensor([0, 1]), [0, 1], TypeError, "targets"),
        (torch.zeros(2, 3), torch.tensor([0.0, 1.0]), ValueError, "targets"),
        (torch.zeros(2, 3), torch.zeros(2, 1, dtype=torch.long), ValueError, "targets"),
        (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), ValueError, "outputs"),
        (torch.zeros(2, 3, 1), torch.tensor([0, 1]), ValueError, "outputs"),
        (torch.zeros(3, 3), torch.tensor([0, 1]), ValueError, "same length"),
        (torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), ValueError, "empty"),
    ],
)
def test_metrics_reject_bad_inputs(outputs, targets, error, name):
    with pytest.raises(error, match=name):
        accuracy(outputs, targets)
    with pytest.raises(error, match=name):
        confusion_matrix(outputs, targets, num_classes=3)


@pytest.mark.parametrize(
    ("outputs", "targets", "num_classes", "error", "name"),
    [
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 0, ValueError, "num_classes"),
        (torch.tensor([0, 1]), torch.tensor([0, 1]), 2.0, TypeError, "num_classes"),
        (torch.tensor([0, 3]), torch.tensor([0, 1]), 3, ValueError, "outputs"),
        (torch.eye(5)[[0, 4]], torch.tensor([0, 1]), 3, ValueError, "outputs"),
        (torch.tensor([0, 1]), torch.tensor([-1, 1]), 3, ValueError, "targets"),
        (torch.tensor([0, 1]), torch.tensor([0, 3]), 3, ValueError, "targets"),
    ],
)
def test_confusion_matrix_rejects_out_of_range_labels(outputs, targets, num_classes, error, name):
    with pytest.raises(error, match=name):
        confusion_matrix(outputs, targets, num_classes=num_classes)


def test_precision_recall_match_sklearn(predictions):
    from coursepkg.metrics import precision_recall

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
    from coursepkg.metrics import precision_recall

    cm = torch.tensor([[8, 2], [1, 9]])
    precision, recall = precision_recall(cm)
    torch.testing.assert_close(precision, torch.tensor([8 / 9, 9 / 11], dtype=torch.float64))
    torch.testing.assert_close(recall, torch.tensor([0.8, 0.9], dtype=torch.float64))


@pytest.mark.parametrize(
    ("cm", "error", "match"),
    [
        ([[1, 0], [0, 1]], TypeError, "confusion must be a tensor"),
        (torch.ones(2, 3), ValueError, "square"),
        (torch.ones(0, 0), ValueError, "square"),
        (torch.tensor([[1, -1], [0, 1]]), ValueError, ">= 0"),
    ],
)
def test_precision_recall_bad_input(cm, error, match):
    from coursepkg.metrics import precision_recall

    with pytest.raises(error, match=match):
        precision_recall(cm)
