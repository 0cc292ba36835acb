"""Metrics computed on tensors: classification, regression error, and the sparsity of weights."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from coursepkg._checks import check_positive_int

__all__ = ["accuracy", "confusion_matrix", "mean_squared_error", "precision_recall", "sparsity"]


def _predicted_labels(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return labels ``(N,)`` from logits ``(N, C)`` or from labels ``(N,)``."""
    if not isinstance(outputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("outputs and targets must be tensors")
    if targets.ndim != 1 or targets.is_floating_point():
        raise ValueError(
            f"targets must be a 1-D integer tensor, got shape {tuple(targets.shape)} "
            f"and dtype {targets.dtype}"
        )
    if outputs.ndim == 2:
        preds = outputs.argmax(dim=1)
    elif outputs.ndim == 1 and not outputs.is_floating_point():
        preds = outputs
    else:
        raise ValueError(
            "outputs must be logits of shape (N, C) or integer labels of shape (N,), "
            f"got shape {tuple(outputs.shape)} and dtype {outputs.dtype}"
        )
    if len(preds) != len(targets):
        raise ValueError(
            f"outputs and targets must have the same length, got {len(preds)} and {len(targets)}"
        )
    if len(targets) == 0:
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
    """
    check_positive_int(num_classes, "num_classes")
    preds = _predicted_labels(outputs, targets)
    for name, labels in (("outputs", preds), ("targets", targets)):
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                f"{name} must hold labels in [0, num_classes - 1] = [0, {num_classes - 1}], got "
                "values in "
                f"[{labels.min().item()}, {labels.max().item()}]"
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
    if not isinstance(confusion, torch.Tensor):
        raise TypeError(f"confusion must be a tensor, got {type(confusion).__name__}")
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1] or confusion.numel() == 0:
        raise ValueError(
            f"confusion must be a non-empty square (C, C) matrix, got {tuple(confusion.shape)}"
        )
    if not torch.isfinite(confusion).all() or (confusion < 0).any():
        raise ValueError("confusion must hold finite counts >= 0")
    counts = confusion.double()
    hits = counts.diagonal()
    predicted, present = counts.sum(dim=0), counts.sum(dim=1)
    precision = torch.where(predicted > 0, hits / predicted.clamp(min=1e-300), 0.0)
    recall = torch.where(present > 0, hits / present.clamp(min=1e-300), 0.0)
    return precision, recall


def mean_squared_error(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """Return ``mean((prediction − target)²)`` as a float."""
    if prediction.shape != target.shape:  # broadcasting would silently compare every pair
        raise ValueError(
            "prediction and target must have the same shape, "
            f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )
    return torch.mean((prediction - target) ** 2).item()


def sparsity(params: Iterable[torch.Tensor], *, tol: float = 0.0) -> float:
    """Return the fraction of entries with ``|w| <= tol`` (exact zeros when ``tol=0``)."""
    tensors = [p.detach() for p in params]
    zeros = sum(int((t.abs() <= tol).sum()) for t in tensors)
    return zeros / sum(t.numel() for t in tensors)
