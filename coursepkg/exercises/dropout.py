"""Checks for the exercises of :ref:`ch-dropout`."""

from __future__ import annotations

from typing import Any

import torch

import coursepkg.dropout
from coursepkg.exercises.framework import Feedback, check_function, check_properties

__all__ = [
    "check_dropout",
    "check_dropout_moments",
    "reference_dropout",
    "reference_dropout_moments",
]


def reference_dropout_moments(a: float, p: float) -> tuple[float, float]:
    """Return the mean and variance of ``a·m/(1 − p)`` with ``m ~ Bernoulli(1 − p)``."""
    return a, a * a * p / (1 - p)


def check_dropout_moments(dropout_moments: Any) -> Feedback:
    """Check ``dropout_moments(a, p) -> (mean, variance)``."""
    cases = [(2.0, 0.5), (1.0, 0.2), (-3.0, 0.75), (0.5, 0.0)]
    return check_function(
        "dropout_moments",
        dropout_moments,
        reference_dropout_moments,
        cases,
        hint="the output is a/(1 - p) with probability 1 - p and 0 otherwise",
    )


_SHAPE = (100_000,)  # the shape of x in every case: 100,000 draws of the mask


def reference_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout in training mode: :func:`coursepkg.dropout.dropout`."""
    return coursepkg.dropout.dropout(x, p)


def _dropout_problem(out: Any, x: torch.Tensor, p: float) -> str | None:
    """Describe what is wrong with ``out = dropout(x, p)`` for ``x`` all equal to 3."""
    if not isinstance(out, torch.Tensor) or out.shape != _SHAPE:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"expected a tensor of shape {_SHAPE}, got {got}"
    if not out.is_floating_point():
        return f"expected a floating-point tensor (the scaled activations), got dtype {out.dtype}"
    kept = 3.0 / (1 - p)
    is_zero, is_kept = out == 0, torch.isclose(out, torch.tensor(kept, dtype=out.dtype))
    if not (is_zero | is_kept).all():
        return f"every output must be 0 or x/(1 - p) = {kept:.4g}; found other values"
    zeros = is_zero.double().mean().item()
    if abs(zeros - p) > 0.01:  # 100,000 draws: the standard error is below 0.0016
        return f"{zeros:.3f} of the outputs are zero; expected about p = {p}"
    return None


def check_dropout(dropout: Any) -> Feedback:
    """Check a student's inverted dropout ``dropout(x, p) -> Tensor`` (training mode).

    The masks are random, so the check tests properties rather than values: the
    outputs are 0 or ``x/(1 − p)``, about a fraction ``p`` are 0, ``p = 0`` is the
    identity, and ``x`` is left unchanged.
    """
    cases = [(torch.full(_SHAPE, 3.0, dtype=torch.float64), p) for p in (0.0, 0.3, 0.75)]
    return check_properties(
        "dropout",
        dropout,
        cases,
        _dropout_problem,
        success="zeros, scaling and p = 0 are all right",
    )
