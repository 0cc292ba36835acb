"""Checks for the exercises of :ref:`ch-schedules`."""

from __future__ import annotations

from functools import partial
from typing import Any

from coursepkg.exercises.framework import (
    Feedback,
    check_function,
    check_properties,
    formula_problem,
)
from coursepkg.schedules import cosine_annealing, warmup_cosine

__all__ = [
    "check_cosine_annealing",
    "check_linear_warmup",
    "check_nesterov_edge",
    "check_plain_sgd_rate",
    "reference_cosine_annealing",
    "reference_linear_warmup",
    "reference_nesterov_edge",
    "reference_plain_sgd_rate",
]


def reference_cosine_annealing(step: int, base_lr: float, total_steps: int, min_lr: float) -> float:
    """Return the rate of :func:`coursepkg.schedules.cosine_annealing` at ``step``."""
    return cosine_annealing(step, base_lr=base_lr, total_steps=total_steps, min_lr=min_lr)


def check_cosine_annealing(cosine: Any) -> Feedback:
    """Check ``cosine(step, base_lr, total_steps, min_lr) -> lr``, past the end included."""
    cases = [
        (step, base_lr, total, min_lr)
        for base_lr, total, min_lr in ((0.1, 100, 0.0), (1.0, 37, 0.05))
        for step in (0, 1, total // 4, total // 2, total - 1, total, total + 10)
    ]
    return check_function(
        "cosine_annealing",
        cosine,
        reference_cosine_annealing,
        cases,
        rtol=1e-6,
        hint="min_lr + (base_lr - min_lr) * (1 + cos(pi * t / T)) / 2, with t capped at T",
    )


def reference_linear_warmup(step: int, base_lr: float, warmup_steps: int) -> float:
    """Return ``base_lr * (step + 1) / warmup_steps`` during warmup, ``base_lr`` after it.

    That is the warmup of :func:`coursepkg.schedules.warmup_cosine`, whose cosine
    stays at ``base_lr`` when ``min_lr = base_lr``.
    """
    return warmup_cosine(
        step,
        base_lr=base_lr,
        warmup_steps=warmup_steps,
        total_steps=warmup_steps + 1,
        min_lr=base_lr,
    )


def check_linear_warmup(warmup: Any) -> Feedback:
    """Check ``warmup(step, base_lr, warmup_steps) -> lr``."""
    cases = [
        (step, base_lr, warmup_steps)
        for base_lr, warmup_steps in ((0.1, 10), (3e-3, 1), (0.5, 7))
        for step in (0, 1, warmup_steps // 2, warmup_steps - 1, warmup_steps, 3 * warmup_steps)
    ]
    return check_function(
        "linear_warmup",
        warmup,
        reference_linear_warmup,
        cases,
        hint="the first step (step 0) already uses base_lr / warmup_steps; "
        "step warmup_steps - 1 reaches base_lr, and the rate stays there",
    )


def reference_plain_sgd_rate(
    lr: float, momentum: float, max_curvature: float, safety: float = 0.9
) -> float:
    """Return the plain-SGD rate that replaces heavy ball's ``lr`` with ``momentum``.

    ``lr / (1 - momentum)`` matches heavy ball's progress in flat directions, but
    plain SGD's edge of stability is ``2 / max_curvature`` (heavy ball's is
    ``2 (1 + momentum) / max_curvature``): the rate is capped at ``safety`` times it.
    """
    return min(lr / (1 - momentum), safety * 2 / max_curvature)


def _edge_only_if_past(lr: float, momentum: float, max_curvature: float, safety: float) -> float:
    """Return the misreading that caps only rates at or past the edge itself."""
    rate, edge = lr / (1 - momentum), 2 / max_curvature
    return rate if rate < edge else safety * edge


# Plausible wrong answers, each with what it gets wrong; in this order: below the
# edge, the literal misreading and lr / (1 - m) agree.
_PLAIN_RATE_MISTAKES = [
    (
        _edge_only_if_past,
        "you kept lr / (1 - momentum) because it is below the edge, but it is above "
        "safety times the edge: cap at min(lr / (1 - momentum), safety * 2 / max_curvature)",
    ),
    (
        lambda lr, m, c, safety: lr / (1 - m),
        "that is lr / (1 - momentum) uncapped, above plain SGD's edge "
        "2 / max_curvature: plain SGD diverges there",
    ),
    (
        lambda lr, m, c, safety: min(lr / (1 - m), safety * 2 * (1 + m) / c),
        "you capped at heavy ball's edge 2 (1 + momentum) / max_curvature; plain SGD's "
        "edge is 2 / max_curvature",
    ),
    (
        lambda lr, m, c, safety: lr,
        "that is the momentum run's rate unchanged; in flat directions plain SGD needs "
        "lr / (1 - momentum) to make the same progress",
    ),
    (
        lambda lr, m, c, safety: min(lr * (1 - m), safety * 2 / c),
        "the factor goes the other way: momentum makes the effective rate larger, "
        "lr / (1 - momentum)",
    ),
    (
        lambda lr, m, c, safety: min(lr / (1 - m), 2 / c),
        "the cap is safety times the edge, not the edge itself (at the edge the steep "
        "direction never shrinks)",
    ),
]


def check_plain_sgd_rate(plain_sgd_rate: Any) -> Feedback:
    """Check ``plain_sgd_rate(lr, momentum, max_curvature, safety) -> lr`` for plain SGD."""
    cases = [
        (0.01, 0.9, 1.0, 0.9),  # flat: far below the edge
        (0.05, 0.9, 10.0, 0.9),  # lr / (1 - momentum) = 0.5 is past the edge 0.2
        (0.1, 0.0, 5.0, 0.9),  # no momentum: nothing to change
        (0.02, 0.5, 20.0, 0.5),
        (0.3, 0.5, 5.0, 0.8),
        (0.019, 0.9, 10.0, 0.9),  # 0.19: below the edge 0.2, above safety times it, 0.18
    ]
    return check_properties(
        "plain_sgd_rate",
        plain_sgd_rate,
        cases,
        partial(formula_problem, reference_plain_sgd_rate, _PLAIN_RATE_MISTAKES),
        success=f"all {len(cases)} cases right",
        hint="match heavy ball's progress in flat directions, capped at safety times "
        "plain SGD's edge",
    )


def reference_nesterov_edge(curvature: float, momentum: float) -> float:
    """Return the largest stable rate of Nesterov SGD on ``f(w) = curvature * w**2 / 2``.

    ``2 (1 + beta) / ((1 + 2 beta) lambda)``: where an eigenvalue of the update
    ``(w_t, b_{t-1}) -> (w_{t+1}, b_t)`` of ``torch.optim.SGD(nesterov=True)`` reaches -1.
    """
    return 2 * (1 + momentum) / ((1 + 2 * momentum) * curvature)


def check_nesterov_edge(nesterov_edge: Any) -> Feedback:
    """Check ``nesterov_edge(curvature, momentum) -> lr``, the edge of stability."""
    cases = [(10.0, 0.9), (1.0, 0.0), (2.0, 0.5), (0.3, 0.99)]
    return check_function(
        "nesterov_edge",
        nesterov_edge,
        reference_nesterov_edge,
        cases,
        rtol=1e-9,
        hint="with momentum 0 it is 2 / curvature; for heavy ball it would be "
        "2 (1 + momentum) / curvature, and Nesterov's look-ahead lowers it: set z = -1 "
        "in the characteristic polynomial of the update",
    )
