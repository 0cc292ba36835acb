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
