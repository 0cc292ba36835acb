"""Checks for the exercises of :ref:`ch-schedules`."""

from __future__ import annotations

from typing import Any

from coursepkg.exercises.framework import Feedback, check_function
from coursepkg.schedules import cosine_annealing, exponential_decay, warmup_cosine

__all__ = [
    "check_cosine_annealing",
    "check_exponential_gamma",
    "check_linear_warmup",
    "reference_cosine_annealing",
    "reference_exponential_gamma",
    "reference_linear_warmup",
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


def reference_exponential_gamma(decay_rate: float, decay_steps: int) -> float:
    """Return the per-step factor that gives ``decay_rate`` over ``decay_steps`` steps.

    That is the rate after one step of :func:`coursepkg.schedules.exponential_decay`
    from a base rate of 1.
    """
    return exponential_decay(1, base_lr=1.0, decay_rate=decay_rate, decay_steps=decay_steps)


def check_exponential_gamma(exponential_gamma: Any) -> Feedback:
    """Check ``exponential_gamma(decay_rate, decay_steps) -> gamma``."""
    cases = [(0.96, 100), (0.5, 1), (0.1, 1000), (0.9, 7)]
    return check_function(
        "exponential_gamma",
        exponential_gamma,
        reference_exponential_gamma,
        cases,
        rtol=1e-9,
        hint="ExponentialLR multiplies by gamma every step; decay_steps steps must give decay_rate",
    )
