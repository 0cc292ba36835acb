"""Metrics on tensors: classification, calibration, regression error, sparsity of weights."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from coursepkg._checks import check_positive_int, tensor_list

__all__ = [
    "accuracy",
    "confusion_matrix",
    "expected_calibration_error",
    "mean_squared_error",
    "precision_recall",
    "reliability",
    "sparsity",
]


def _predicted_labels(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return labels ``(N,)`` from logits ``(N, C)`` or from labels ``(N,)``."""
    if outputs.ndim == 1 and outputs.is_floating_point():  # one score per sample: no arg-max
        raise ValueError("outputs must be logits of shape (N, C) or integer labels of shape (N,)")
    preds = outputs.argmax(dim=1) if outputs.ndim == 2 else outputs
    if preds.shape != targets.shape:  # broadcasting would silently compare every pair
        raise ValueError(
            f"outputs and targets must give one label per sample, got {tuple(preds.shape)} "
            f"predicted labels and targets of shape {tuple(targets.shape)}"
        )
    if len(targets) == 0:  # a mean over nothing is nan, which would pass unnoticed
        raise ValueError("targets must not be empty")
    return preds


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Return the fraction of correct predictions.

    Parameters
    ----------
    outputs : torch.Tensor
        Logits or scores ``(N, C)`` (the arg-max is the prediction) or labels ``(N,)``.
    targets : torch.Tensor
        True labels ``(N,)``.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``outputs`` is a 1-D float tensor (one score per sample, not logits or
        labels), or does not give one label per target, e.g. targets of shape ``(N, 1)``.
    """
    preds = _predicted_labels(outputs, targets)
    return (preds == targets).float().mean().item()


def confusion_matrix(
    outputs: torch.Tensor, targets: torch.Tensor, *, num_classes: int
) -> torch.Tensor:
    """Count predictions per (true class, predicted class) pair.

    Parameters
    ----------
    outputs : torch.Tensor
        Logits ``(N, C)`` or predicted labels ``(N,)``.
    targets : torch.Tensor
        True labels ``(N,)``.
    num_classes : int
        Number of classes ``C``; labels must lie in ``0 .. C - 1``.

    Returns
    -------
    torch.Tensor
        ``(C, C)`` int64 matrix; entry ``[i, j]`` counts samples of class ``i``
        predicted as ``j``, so the diagonal holds the correct predictions.

    Raises
    ------
    ValueError
        As :func:`accuracy`, and if a predicted or a true label lies outside
        ``[0, num_classes)``.
    """
    preds = _predicted_labels(outputs, targets)
    for name, labels in (("outputs", preds), ("targets", targets)):
        if labels.min() < 0 or labels.max() >= num_classes:  # bincount would count them elsewhere
            raise ValueError(
                f"{name} must hold labels in [0, num_classes - 1] = [0, {num_classes - 1}], "
                f"got values in [{labels.min().item()}, {labels.max().item()}]"
            )
    flat = targets.long() * num_classes + preds.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def precision_recall(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Per-class precision and recall from a confusion matrix.

    With :math:`M_{ij}` the count of class :math:`i` predicted as :math:`j`,
    precision is :math:`M_{kk} / \sum_i M_{ik}` (of the images called :math:`k`,
    the fraction that are :math:`k`) and recall is :math:`M_{kk} / \sum_j M_{kj}`
    (of the images of class :math:`k`, the fraction found). A class never
    predicted (or never present) gets precision (or recall) 0, as in scikit-learn.

    Parameters
    ----------
    confusion : torch.Tensor
        Square ``(C, C)`` matrix of non-negative counts, rows the true classes,
        as from :func:`confusion_matrix`.

    Returns
    -------
    precision, recall : torch.Tensor
        Each ``(C,)`` float64.
    """
    counts = confusion.double()
    hits = counts.diagonal()
    predicted, present = counts.sum(dim=0), counts.sum(dim=1)
    precision = torch.where(predicted > 0, hits / predicted.clamp(min=1e-300), 0.0)
    recall = torch.where(present > 0, hits / present.clamp(min=1e-300), 0.0)
    return precision, recall


def mean_squared_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Return ``mean((prediction − target)²)`` as a float.

    Raises
    ------
    ValueError
        If the shapes differ: broadcasting, e.g. ``(N, 1)`` against ``(N,)``, would
        silently compare every pair.
    """
    if prediction.shape != target.shape:
        raise ValueError(
            "prediction and target must have the same shape, "
            f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    return torch.mean((prediction - target) ** 2).item()


def sparsity(params: Iterable[torch.Tensor], *, tol: float = 0.0) -> float:
    """Return the fraction of entries with ``|w| <= tol`` (exact zeros when ``tol=0``)."""
    tensors = [t.detach() for t in tensor_list(params)]
    zeros = sum(int((t.abs() <= tol).sum()) for t in tensors)
    return zeros / sum(t.numel() for t in tensors)


def reliability(
    probs: torch.Tensor, targets: torch.Tensor, *, bins: int = 10
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bin predictions by confidence: the data of a reliability diagram.

    The confidence of a prediction is its largest probability; bin :math:`b` holds
    the confidences in :math:`((b-1)/M, b/M]` for ``bins`` :math:`M`
    :cite:p:`guo2017calibration`.

    Parameters
    ----------
    probs : torch.Tensor
        Predicted probabilities ``(N, C)``, rows summing to 1.
    targets : torch.Tensor
        True labels ``(N,)``.
    bins : int, default 10
        Number of equal-width bins on ``[0, 1]``.

    Returns
    -------
    tuple of torch.Tensor
        Per bin ``(bins,)``: mean confidence, accuracy (both 0 in an empty bin) and count.
    """
    check_positive_int(bins, "bins")
    if (
        probs.ndim != 2
        or probs.min() < 0
        or not torch.allclose(probs.sum(1), torch.ones_like(probs[:, 0]), atol=1e-4)
    ):
        raise ValueError(
            "probs must be probabilities (N, C) whose rows sum to 1: apply softmax to logits"
        )
    confidence, predicted = probs.max(dim=1)
    correct = (_predicted_labels(predicted, targets) == targets).float()
    which = (confidence * bins).ceil().long().clamp(1, bins) - 1  # bin of (b-1)/M < conf <= b/M
    count = torch.bincount(which, minlength=bins).float()
    per_bin = count.clamp_min(1)
    mean_confidence = torch.bincount(which, confidence, minlength=bins) / per_bin
    bin_accuracy = torch.bincount(which, correct, minlength=bins) / per_bin
    return mean_confidence, bin_accuracy, count


def expected_calibration_error(
    probs: torch.Tensor, targets: torch.Tensor, *, bins: int = 10
) -> float:
    r"""Return :math:`\sum_b (n_b/N)|\text{acc}_b - \text{conf}_b|` :cite:p:`guo2017calibration`.

    Parameters
    ----------
    probs : torch.Tensor
        Predicted probabilities ``(N, C)``.
    targets : torch.Tensor
        True labels ``(N,)``.
    bins : int, default 10
        Number of equal-width confidence bins.

    Returns
    -------
    float
        The gap between confidence and accuracy, weighted by each bin's share of the
        predictions, in ``[0, 1]``.
    """
    confidence, bin_accuracy, count = reliability(probs, targets, bins=bins)
    return ((count / count.sum()) * (bin_accuracy - confidence).abs()).sum().item()
