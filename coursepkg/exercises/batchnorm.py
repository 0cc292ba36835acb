"""Checks for the exercises of :ref:`ch-batchnorm`."""

from __future__ import annotations

from typing import Any

import torch

from coursepkg.batchnorm import normalize
from coursepkg.exercises.framework import Feedback, check_function, check_properties, compare

__all__ = [
    "check_batches_to_reach",
    "check_bn_backward",
    "check_bn_forward",
    "reference_batches_to_reach",
    "reference_bn_backward",
    "reference_bn_forward",
]


def reference_bn_forward(
    x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float
) -> torch.Tensor:
    """Training-mode batch norm of ``x`` ``(N, C)``: ``γ·(x − μ)/√(σ² + ε) + β``, σ² biased.

    The normalization is :func:`coursepkg.batchnorm.normalize` with the batch's statistics.
    """
    return gamma * normalize(x, x.mean(dim=0), x.var(dim=0, correction=0), eps=eps) + beta


def reference_bn_backward(
    x: torch.Tensor, gamma: torch.Tensor, grad_out: torch.Tensor, eps: float
) -> torch.Tensor:
    """Return ∂L/∂x of training-mode batch norm on ``x`` ``(N, C)``, given ``grad_out`` = ∂L/∂y.

    With ``g = γ·grad_out``, ``x̂`` the normalized batch and ``s = √(σ² + ε)`` (σ² biased),
    ``∂L/∂x = (g − mean(g) − x̂·mean(g·x̂)) / s``, the means over the batch.
    """
    x = x.detach().clone().requires_grad_()
    y = gamma * normalize(x, x.mean(dim=0), x.var(dim=0, correction=0), eps=eps)
    (grad_x,) = torch.autograd.grad(y, x, grad_out)  # autograd: the definition
    return grad_x


def _bn_backward_formula(
    x, gamma, grad_out, eps, *, mean_term=True, projection=True, correction=0, use_eps=True
):
    """Compute the closed form of :func:`reference_bn_backward`, optionally with a part left out."""
    scale = torch.sqrt(x.var(dim=0, correction=correction) + (eps if use_eps else 0.0))
    x_hat = (x - x.mean(dim=0)) / scale
    g = gamma * grad_out
    grad = g
    if mean_term:
        grad = grad - g.mean(dim=0)
    if projection:
        grad = grad - x_hat * (g * x_hat).mean(dim=0)
    return grad / scale


_BACKWARD_MISTAKES = (
    (
        {"mean_term": False},
        "the term -mean(g) is missing: μ depends on every x_i, so each x_i also "
        "receives -1/N of the gradient of every output through the mean",
    ),
    (
        {"projection": False},
        "the projection term -x̂·mean(g·x̂) is missing: σ² depends on every x_i too",
    ),
    (
        {"mean_term": False, "projection": False},
        "both terms through the batch statistics are missing: μ and σ² depend on x "
        "(that is the gradient with the statistics held fixed, as in evaluation mode)",
    ),
    (
        {"correction": 1},
        "you used the unbiased variance (divide by N - 1); the batch is normalized with "
        "the biased one (divide by N)",
    ),
    ({"projection": False, "correction": 1}, "the unbiased variance and no projection term"),
    (
        {"use_eps": False},
        "ε is missing: s = √(σ² + ε), as in the forward pass; it matters when a channel's "
        "variance is not large compared with ε",
    ),
)


def _backward_problem(
    result: Any, x: torch.Tensor, gamma: torch.Tensor, grad_out: torch.Tensor, eps: float
) -> str | None:
    """Describe what is wrong with ``result = bn_backward(...)``, naming a known slip."""
    problem = compare(reference_bn_backward(x, gamma, grad_out, eps), result)
    if problem is None:
        return None
    if isinstance(result, torch.Tensor) and result.shape == x.shape:
        for options, mistake in _BACKWARD_MISTAKES:
            if compare(_bn_backward_formula(x, gamma, grad_out, eps, **options), result) is None:
                return f"{problem}: {mistake}"
    return problem


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


def check_bn_backward(bn_backward: Any) -> Feedback:
    """Check ``bn_backward(x, gamma, grad_out, eps)`` against autograd, naming typical slips."""
    cases = []
    g = torch.Generator().manual_seed(1)
    for x in _batches():
        c = x.shape[1]
        gamma = torch.linspace(0.5, 2.0, c, dtype=torch.float64)
        grad_out = torch.randn(x.shape, generator=g, dtype=torch.float64)
        cases.append((x, gamma, grad_out, 1e-5))
    x = _batches()[0] * 1e-3  # variance ~1e-5, against ε = 1e-3: ε matters here
    grad_out = torch.randn(x.shape, generator=g, dtype=torch.float64)
    cases.append((x, torch.ones(3, dtype=torch.float64), grad_out, 1e-3))
    return check_properties(
        "bn_backward",
        bn_backward,
        cases,
        _backward_problem,
        success=f"all {len(cases)} cases agree with autograd",
        hint="differentiate through μ and σ² as well as through x directly",
    )


def reference_batches_to_reach(momentum: float, fraction: float) -> int:
    """Return the fewest batches ``k`` with ``1 − (1 − m)^k ≥ fraction``, counted one by one.

    A running mean that starts at 0 on data of constant mean μ is μ·(1 − (1 − m)^k)
    after ``k`` batches (:ref:`ch-batchnorm`).
    """
    k, reached = 0, 0.0
    while reached < fraction:
        reached = (1 - momentum) * reached + momentum  # the running mean for μ = 1
        k += 1
    return k


def check_batches_to_reach(batches_to_reach: Any) -> Feedback:
    """Check ``batches_to_reach(momentum, fraction)``, the derivation of the warm-up exercise."""
    # No case sits on a boundary, where ln(1 − f)/ln(1 − m) is a whole number.
    cases = [(0.1, 0.99), (0.01, 0.99), (0.1, 0.9), (0.5, 0.9), (0.3, 0.5), (0.01, 0.999)]
    return check_function(
        "batches_to_reach",
        batches_to_reach,
        reference_batches_to_reach,
        cases,
        rtol=0.0,
        atol=0.0,
        hint="the gap to μ shrinks by (1 - m) per batch; return the smallest whole k",
    )
