"""Checks for the exercises of :ref:`ch-batchnorm`."""

from __future__ import annotations

from typing import Any

import torch

from coursepkg.batchnorm import BatchNorm1d, normalize
from coursepkg.exercises.framework import Feedback, check_function

__all__ = [
    "check_bn_forward",
    "check_running_update",
    "reference_bn_forward",
    "reference_running_update",
]


def reference_bn_forward(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    """Training-mode batch norm of ``x`` ``(N, C)``: ``γ·(x − μ)/√(σ² + ε) + β``, σ² biased.

    The normalization is :func:`coursepkg.batchnorm.normalize` with the batch's statistics.
    """
    return gamma * normalize(x, x.mean(dim=0), x.var(dim=0, correction=0), eps=eps) + beta


def reference_running_update(
    running_mean: torch.Tensor, running_var: torch.Tensor, x: torch.Tensor, momentum: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the running mean and (unbiased) running variance after the batch ``x`` ``(N, C)``.

    They are the buffers of a :class:`coursepkg.batchnorm.BatchNorm1d` after one
    training step on ``x``.
    """
    layer = BatchNorm1d(x.shape[1], momentum=momentum).to(x.dtype)
    layer.running_mean.copy_(running_mean)
    layer.running_var.copy_(running_var)
    layer(x)
    return layer.running_mean, layer.running_var


def _batches() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        3 * torch.randn(shape, generator=g, dtype=torch.float64) + 1
        for shape in [(8, 3), (32, 5), (2, 4)]
    ]


def check_bn_forward(bn_forward: Any) -> Feedback:
    """Check ``bn_forward(x, gamma, beta, eps)`` for ``(N, C)`` inputs in training mode."""
    cases = []
    for x in _batches():
        c = x.shape[1]
        gamma = torch.linspace(0.5, 2.0, c, dtype=torch.float64)
        beta = torch.linspace(-1.0, 1.0, c, dtype=torch.float64)
        cases.append((x, gamma, beta, 1e-5))
    cases.append(
        (
            _batches()[0] * 1e-3,
            torch.ones(3, dtype=torch.float64),
            torch.zeros(3, dtype=torch.float64),
            1e-3,
        )
    )  # ε matters here
    return check_function(
        "bn_forward",
        bn_forward,
        reference_bn_forward,
        cases,
        hint="normalize each column with its mean and biased variance, ε inside the root",
    )


def check_running_update(running_update: Any) -> Feedback:
    """Check ``running_update(running_mean, running_var, x, momentum)``."""
    cases = []
    for x in _batches():
        c = x.shape[1]
        cases.append(
            (torch.zeros(c, dtype=torch.float64), torch.ones(c, dtype=torch.float64), x, 0.1)
        )
    cases.append(
        (
            torch.full((3,), 2.0, dtype=torch.float64),
            torch.full((3,), 0.5, dtype=torch.float64),
            _batches()[0],
            0.5,
        )
    )
    return check_function(
        "running_update",
        running_update,
        reference_running_update,
        cases,
        hint="the running variance uses the unbiased batch variance (divide by N - 1)",
    )
