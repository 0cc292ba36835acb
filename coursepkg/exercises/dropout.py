"""Checks for the exercises of :ref:`ch-dropout`."""

from __future__ import annotations

from typing import Any

import torch

import coursepkg.dropout
from coursepkg.exercises.framework import Feedback, check_properties, compare

__all__ = [
    "check_dropout",
    "check_dropout_penalty",
    "reference_dropout",
    "reference_dropout_penalty",
]


def reference_dropout_penalty(w: torch.Tensor, x: torch.Tensor, p: float) -> float:
    """Return ``E(y − ŷ)² − (y − w·x)²``, the penalty dropout adds to a linear unit.

    Here ``ŷ = Σᵢ wᵢ mᵢ xᵢ / (1 − p)`` with independent ``mᵢ ~ Bernoulli(1 − p)``, so
    the expected squared error of the thinned unit is that of the full unit plus
    the variance of ``ŷ``: ``p / (1 − p) · Σᵢ wᵢ² xᵢ²``, an L2 penalty weighted by
    the data (:cite:t:`wager2013dropout`; :ref:`ch-dropout`).
    """
    return p / (1 - p) * float((w**2 * x**2).sum())


# Typical wrong derivations, each with what it gets wrong; tried when an answer is wrong.
_PENALTY_MISTAKES = (
    (
        lambda w, x, p: p * (1 - p) * (w**2 * x**2).sum(),
        "this is the variance of dropout without the 1/(1 - p) scaling; inverted "
        "dropout divides the kept inputs by 1 - p",
    ),
    (
        lambda w, x, p: p * (w**2 * x**2).sum(),
        "the factor is not p: it is the variance of one scaled mask m_i/(1 - p)",
    ),
    (
        lambda w, x, p: (1 - p) / p * (w**2 * x**2).sum(),
        "the factor is upside down: compute the variance of m_i/(1 - p) again",
    ),
    (
        lambda w, x, p: (w**2 * x**2).sum() / (1 - p),
        "that is the second moment of the scaled mask, 1/(1 - p); the penalty is a "
        "variance: subtract the squared mean, 1",
    ),
    (
        lambda w, x, p: p / (1 - p) * (w**2).sum(),
        "the penalty on w_i depends on the input: each term carries x_i²",
    ),
    (
        lambda w, x, p: p / (1 - p) * (w**2 * x).sum(),
        "x_i enters squared, as w_i does: the term is the variance of w_i x_i m_i/(1 - p)",
    ),
    (
        lambda w, x, p: p / (1 - p) * (w @ x) ** 2,
        "you squared the sum w·x: the masks are independent, so the variance of the "
        "sum is the sum of the variances, with no cross terms",
    ),
)


def _penalty_problem(result: Any, w: torch.Tensor, x: torch.Tensor, p: float) -> str | None:
    """Describe what is wrong with ``result = dropout_penalty(w, x, p)``, naming a known slip."""
    problem = compare(reference_dropout_penalty(w, x, p), result)
    if problem is None or p == 0:
        return problem
    for formula, mistake in _PENALTY_MISTAKES:
        if compare(float(formula(w, x, p)), result) is None:
            return f"{problem}: {mistake}"
    return problem


def check_dropout_penalty(dropout_penalty: Any) -> Feedback:
    """Check ``dropout_penalty(w, x, p) -> float``, the penalty that dropout adds to a linear unit.

    The answer is compared with :func:`reference_dropout_penalty` on several
    cases; a wrong one that matches a typical slip (the factor ``p`` or
    ``p(1 − p)``, no ``xᵢ²``, the square of the sum) is named in the feedback.
    """
    cases = [  # (w, x, p); the first tells every slip of _PENALTY_MISTAKES apart
        ([0.5, -1.0, 2.0], [1.0, 3.0, -0.5], 0.2),
        ([1.5, -0.5, 0.25, 2.0, -1.0], [-2.0, 0.5, 4.0, 1.0, 3.0], 0.5),
        ([-0.3, 0.8, 1.2, 0.1], [2.0, -1.5, 0.5, 3.0], 0.75),
        ([2.0, -3.0], [0.7, 1.1], 0.0),
    ]
    cases = [
        (torch.tensor(w, dtype=torch.float64), torch.tensor(x, dtype=torch.float64), p)
        for w, x, p in cases
    ]
    return check_properties(
        "dropout_penalty",
        dropout_penalty,
        cases,
        _penalty_problem,
        success="the expected loss is the full unit's plus p/(1 - p) Σ w_i² x_i²",
        hint="write ŷ - w·x as a sum of independent terms w_i x_i (m_i/(1 - p) - 1)",
    )


_SHAPE = (400, 250)  # every case: a batch of 400 examples × 250 features, 100,000 draws


def _signed_input() -> torch.Tensor:
    """Varied signed activations, none near 0, so that a zero output means a dropped unit."""
    g = torch.Generator().manual_seed(3)
    size = 0.5 + 2.5 * torch.rand(_SHAPE, generator=g, dtype=torch.float64)
    sign = torch.where(torch.rand(_SHAPE, generator=g) < 0.5, -1.0, 1.0).double()
    return sign * size  # (B, n)


def reference_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout in training mode: :func:`coursepkg.dropout.dropout`."""
    return coursepkg.dropout.dropout(x, p)


def _output_problem(out: Any, x: torch.Tensor, p: float) -> str | None:
    """Describe what is wrong with one output ``out = dropout(x, p)``, element by element."""
    if not isinstance(out, torch.Tensor) or out.shape != _SHAPE:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"expected a tensor of shape {_SHAPE}, got {got}"
    if not out.is_floating_point():
        return f"expected a floating-point tensor (the scaled activations), got dtype {out.dtype}"
    out, is_zero = out.double(), out == 0
    if (is_zero | torch.isclose(out, x / (1 - p))).all():
        return None
    if (is_zero | torch.isclose(out, x.abs() / (1 - p))).all():
        return "the signs of x are lost: keep each element x_i itself, scaled by 1/(1 - p)"
    kept = out[~is_zero]
    if kept.numel() > 1 and torch.isclose(kept, kept[0]).all():
        return "every kept output has the same value: scale each element x_i, not one number"
    return "every output must be 0 or x_i/(1 - p), element by element; found other values"


def _mask_problem(result: Any, x: torch.Tensor, p: float) -> str | None:
    """Describe what is wrong with two calls ``result = (dropout(x, p), dropout(x, p))``."""
    for out in result:
        if (problem := _output_problem(out, x, p)) is not None:
            return problem
    first, second = (out == 0 for out in result)
    zeros = first.double().mean().item()
    if abs(zeros - p) > 0.01:  # 100,000 draws: the standard error is below 0.0016
        return f"{zeros:.3f} of the outputs are zero; expected about p = {p}"
    if p == 0:
        return None
    flat = first.flatten()
    switches = (flat[1:] != flat[:-1]).double().mean().item()  # 2p(1 - p) if independent
    if switches < p * (1 - p):
        return "the zeros form contiguous blocks: draw an independent random mask per element"
    if torch.equal(first, second):
        return "two calls returned the same mask: draw a new mask on every call (no fixed seed)"
    if (first == first[0]).all(dim=1).double().mean().item() > 0.5:
        return "every example (row) got the same mask: draw one mask entry per element"
    return None


def check_dropout(dropout: Any) -> Feedback:
    """Check a student's inverted dropout ``dropout(x, p) -> Tensor`` (training mode).

    The masks are random, so the check tests properties rather than values, on a
    signed batch ``x`` of shape ``(400, 250)``, called twice per case: each output
    is 0 or ``x_i/(1 − p)`` element by element, about a fraction ``p`` are 0, the
    zeros are scattered, differ between the two calls and between the rows,
    ``p = 0`` is the identity, and ``x`` is left unchanged.
    """
    student = dropout
    if callable(dropout):

        def student(x: torch.Tensor, p: float) -> tuple[Any, Any]:
            return dropout(x, p), dropout(x, p)

    cases = [(_signed_input(), p) for p in (0.0, 0.3, 0.75)]
    return check_properties(
        "dropout",
        student,
        cases,
        _mask_problem,
        success="zeros, scaling, fresh random masks and p = 0 are all right",
    )
