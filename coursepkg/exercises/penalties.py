"""Checks for the exercises of :ref:`ch-penalties`."""

from __future__ import annotations

from typing import Any

import torch

from coursepkg.data import make_sparse_regression
from coursepkg.exercises.framework import Feedback, check_function
from coursepkg.penalties import soft_threshold_

__all__ = [
    "check_alpha_max",
    "check_l2_sgd_step",
    "check_soft_threshold",
    "reference_alpha_max",
    "reference_l2_sgd_step",
    "reference_soft_threshold",
]


def reference_l2_sgd_step(
    w: torch.Tensor, grad: torch.Tensor, lr: float, lam: float
) -> torch.Tensor:
    """Return ``w − lr·(grad + 2·lam·w)``: one SGD step on ``L(w) + lam·‖w‖²``."""
    return w - lr * (grad + 2 * lam * w)


def reference_soft_threshold(w: torch.Tensor, threshold: float) -> torch.Tensor:
    """Return ``sign(w)·max(|w| − threshold, 0)`` as a new tensor.

    That is :func:`~coursepkg.penalties.soft_threshold_` applied to a copy of ``w``.
    """
    return soft_threshold_(w.clone(), threshold)


def reference_alpha_max(x: torch.Tensor, y: torch.Tensor) -> float:
    """Return ``max|Xᵀy| / n``: the smallest α whose lasso solution is all zeros."""
    return float((x.T @ y).abs().max() / len(y))


def _tensor_cases() -> list[tuple[Any, ...]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(shape, generator=g, dtype=torch.float64),) for shape in [(5,), (3, 4)]]


def check_l2_sgd_step(l2_sgd_step: Any) -> Feedback:
    """Check ``l2_sgd_step(w, grad, lr, lam)``."""
    cases = []
    for (w,), lr, lam in zip(_tensor_cases(), (0.1, 0.05), (0.01, 0.5), strict=True):
        cases.append((w, torch.ones_like(w) * 0.3, lr, lam))
    cases.append(
        (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), 0.1, 1.0)
    )
    return check_function(
        "l2_sgd_step",
        l2_sgd_step,
        reference_l2_sgd_step,
        cases,
        hint="the gradient of lam·Σw² is 2·lam·w",
    )


def check_soft_threshold(soft_threshold: Any) -> Feedback:
    """Check ``soft_threshold(w, threshold)``, which must leave ``w`` unchanged."""
    cases = [(w, t) for (w,), t in zip(_tensor_cases(), (0.5, 1.0), strict=True)]
    cases.append((torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=torch.float64), 0.5))
    return check_function(
        "soft_threshold",
        soft_threshold,
        reference_soft_threshold,
        cases,
        hint="entries with |w| <= threshold become 0, the others move threshold towards 0",
    )


def check_alpha_max(alpha_max: Any) -> Feedback:
    """Check ``alpha_max(x, y)``."""
    cases = [
        (data.x, data.y)
        for data in (make_sparse_regression(50, 8, seed=1), make_sparse_regression(80, 5, seed=2))
    ]
    return check_function(
        "alpha_max",
        alpha_max,
        reference_alpha_max,
        cases,
        hint="at w = 0 the data gradient is -X.T @ y / n; w = 0 is optimal while alpha covers it",
    )
