"""Checks for the exercises of :ref:`ch-penalties`."""

from __future__ import annotations

from typing import Any

import torch

from coursepkg.data import make_sparse_regression
from coursepkg.exercises.framework import Feedback, check_function
from coursepkg.penalties import soft_threshold_

__all__ = [
    "check_adamw_decay",
    "check_alpha_max",
    "check_elastic_net_prox",
    "reference_adamw_decay",
    "reference_alpha_max",
    "reference_elastic_net_prox",
]


def reference_elastic_net_prox(v: torch.Tensor, tau: float, rho: float) -> torch.Tensor:
    """Return ``argmin_w ½(w − v)² + τ·(ρ|w| + (1 − ρ)/2·w²)``, entry by entry.

    That is the soft threshold at ``τρ``, divided by ``1 + τ(1 − ρ)``.
    """
    return soft_threshold_(v.clone(), tau * rho) / (1 + tau * (1 - rho))


def reference_adamw_decay(shrink: float, lr: float, steps: int) -> float:
    """Return the ``weight_decay`` with which AdamW multiplies an unused weight by ``shrink``.

    Each step multiplies it by ``1 − lr·wd``, so ``(1 − lr·wd)**steps = shrink``.
    """
    return (1 - shrink ** (1 / steps)) / lr


def reference_alpha_max(x: torch.Tensor, y: torch.Tensor, rho: float) -> float:
    """Return ``max|Xᵀy| / (n·ρ)``: the smallest α whose elastic-net solution is all zeros."""
    return float((x.T @ y).abs().max() / (len(y) * rho))


def _tensor_cases() -> list[tuple[Any, ...]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(shape, generator=g, dtype=torch.float64),) for shape in [(5,), (3, 4)]]


def check_elastic_net_prox(elastic_net_prox: Any) -> Feedback:
    """Check ``elastic_net_prox(v, tau, rho)``, which must leave ``v`` unchanged."""
    (v5,), (v34,) = _tensor_cases()
    cases = [(v5, 0.5, 0.5), (v34, 1.0, 0.2), (v5, 0.3, 1.0), (v34, 0.8, 0.0)]
    return check_function(
        "elastic_net_prox",
        elastic_net_prox,
        reference_elastic_net_prox,
        cases,
        hint="on w > 0 the objective is smooth: where is its minimum, and when is that "
        "minimum positive? Then use the symmetry w -> -w",
    )


def check_adamw_decay(adamw_decay: Any) -> Feedback:
    """Check ``adamw_decay(shrink, lr, steps)``."""
    cases = [(0.5, 1e-3, 420), (0.9, 0.01, 100), (0.1, 0.1, 20)]
    return check_function(
        "adamw_decay",
        adamw_decay,
        reference_adamw_decay,
        cases,
        rtol=1e-6,
        hint="AdamW multiplies a weight the data do not move by (1 - lr·wd) at every step; "
        "exp(-lr·wd·steps) is only an approximation of that",
    )


def check_alpha_max(alpha_max: Any) -> Feedback:
    """Check ``alpha_max(x, y, rho)``."""
    first, second = make_sparse_regression(50, 8, seed=1), make_sparse_regression(80, 5, seed=2)
    cases = [(first.x, first.y, 1.0), (first.x, first.y, 0.5), (second.x, second.y, 0.25)]
    return check_function(
        "alpha_max",
        alpha_max,
        reference_alpha_max,
        cases,
        hint="at w = 0 the data gradient is -X.T @ y / n, and only the L1 part of the penalty "
        "has a kink there",
    )
