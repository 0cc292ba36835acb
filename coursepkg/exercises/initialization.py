"""Checks for the exercises of :ref:`ch-init`."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import torch

from coursepkg.exercises.framework import (
    Feedback,
    check_function,
    check_properties,
    formula_problem,
)
from coursepkg.initialization import fan_in_and_fan_out

__all__ = [
    "check_fans",
    "check_he_std_after_dropout",
    "check_leaky_relu_gain",
    "check_right_width",
    "reference_fans",
    "reference_he_std_after_dropout",
    "reference_leaky_relu_gain",
    "reference_right_width",
]


def reference_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``.

    That is :func:`coursepkg.initialization.fan_in_and_fan_out` of such a weight.
    """
    return fan_in_and_fan_out(torch.empty(shape))


def check_fans(fans: Any) -> Feedback:
    """Check ``fans(shape) -> (fan_in, fan_out)`` on linear and convolution shapes."""
    cases = [((10, 20),), ((64, 3, 3, 3),), ((128, 64, 1, 1),), ((16, 8, 5),), ((6, 4, 2, 3, 3),)]
    return check_function(
        "fans",
        fans,
        reference_fans,
        cases,
        hint="each output of a convolution sums in_channels * kernel-size products",
    )


def reference_leaky_relu_gain(a: float) -> float:
    """Return the gain ``√(2 / (1 + a²))`` of a leaky ReLU with negative slope ``a``.

    A symmetric pre-activation keeps half its second moment on each side; the negative
    side is multiplied by ``a²``, so ``E[f(y)²] = (1 + a²)/2 · E[y²]``.
    """
    return math.sqrt(2.0 / (1.0 + a**2))


# Plausible wrong derivations, each with what it gets wrong.
_GAIN_MISTAKES = [
    (
        lambda a: math.sqrt(2.0),
        "your formula ignores the slope a: the negative half keeps a² of its second moment",
    ),
    (
        lambda a: math.sqrt(2.0 / (1.0 + a)),
        "your formula uses a where a² belongs: the negative half's second moment is "
        "multiplied by a²",
    ),
    (
        lambda a: 2.0 / (1.0 + a**2),
        "your formula is the factor for the variance; the gain multiplies the standard deviation "
        "(take the square root)",
    ),
    (
        lambda a: math.sqrt((1.0 + a**2) / 2.0),
        "your formula is the inverse: it is what the activation keeps, the gain must make "
        "up for it",
    ),
    (lambda a: 1.0, "your formula is the gain of a linear unit, whatever a is"),
]


def check_leaky_relu_gain(leaky_relu_gain: Any) -> Feedback:
    """Check ``leaky_relu_gain(a) -> float``, the gain of a leaky ReLU, on several slopes."""
    return check_properties(
        "leaky_relu_gain",
        leaky_relu_gain,
        [(0.0,), (0.2,), (0.5,), (1.0,), (0.01,)],
        partial(formula_problem, reference_leaky_relu_gain, _GAIN_MISTAKES),
        success="√(2/(1 + a²)) on all 5 slopes",
        hint="split E[f(y)²] into the halves y > 0 and y ≤ 0",
    )


def reference_he_std_after_dropout(n_in: int, p: float) -> float:
    """Return ``√(2(1 - p)/n_in)``, He's std for a layer fed by ReLU then inverted dropout.

    Inverted dropout keeps a unit with probability ``1 - p`` and divides it by
    ``1 - p``, so it multiplies the second moment by ``(1 - p)/(1 - p)² = 1/(1 - p)``;
    the weights' variance must shrink by the same factor.
    """
    return math.sqrt(2.0 * (1.0 - p) / n_in)


# Plausible wrong derivations, each with what it gets wrong.
_DROPOUT_MISTAKES = [
    (
        lambda n, p: math.sqrt(2.0 / n),
        "your formula ignores dropout: inverted dropout multiplies the second moment by 1/(1 - p)",
    ),
    (
        lambda n, p: math.sqrt(2.0 / ((1.0 - p) * n)),
        "your formula grows the weights: dropout already raises the second moment by "
        "1/(1 - p), the weights' variance must shrink by (1 - p)",
    ),
    (
        lambda n, p: (1.0 - p) * math.sqrt(2.0 / n),
        "your formula shrinks the std by (1 - p); dropout multiplies the second moment "
        "(a variance) by 1/(1 - p), so the std shrinks by √(1 - p)",
    ),
    (
        lambda n, p: 2.0 * (1.0 - p) / n,
        "your formula is the variance; the function must return the standard deviation",
    ),
    (
        lambda n, p: math.sqrt(2.0 * p / n),
        "your formula uses the drop rate p where the keep probability 1 - p belongs",
    ),
    (
        lambda n, p: math.sqrt((1.0 - p) / n),
        "your formula forgets the ReLU, which keeps half of the second moment (the factor 2)",
    ),
]


def check_he_std_after_dropout(he_std_after_dropout: Any) -> Feedback:
    """Check ``he_std_after_dropout(n_in, p) -> float`` on several fans and rates."""
    return check_properties(
        "he_std_after_dropout",
        he_std_after_dropout,
        [(100, 0.2), (512, 0.5), (64, 0.0), (1000, 0.1), (256, 0.8)],
        partial(formula_problem, reference_he_std_after_dropout, _DROPOUT_MISTAKES),
        success="√(2(1 - p)/n_in) on all 5 cases",
        hint="compute E[(m·h/(1 - p))²] for a mask m that is 1 with probability 1 - p",
    )


def reference_right_width(std: float) -> float:
    """Return ``2 / std²``, the width at which weights of std ``std`` keep a ReLU's variance.

    A ReLU layer multiplies the second moment by ``n · std² / 2``; that is 1 at
    ``n = 2 / std²``.
    """
    return 2.0 / std**2


# Plausible wrong derivations, each with what it gets wrong.
_WIDTH_MISTAKES = [
    (lambda std: 2.0 / std, "your formula uses std where the variance std² belongs"),
    (
        lambda std: 1.0 / std**2,
        "your formula forgets the ReLU, which keeps half of the second moment (the factor 2)",
    ),
    (
        lambda std: 1.0 / std,
        "your formula uses std for the variance and forgets the ReLU's factor 2",
    ),
    (lambda std: std**2 / 2.0, "your formula is the inverse: solve n · std² / 2 = 1 for n"),
    (
        lambda std: math.sqrt(2.0) / std,
        "your formula is √n: it solves √n · std / √2 = 1 for √n; the width is its square",
    ),
]


def check_right_width(right_width: Any) -> Feedback:
    """Check ``right_width(std) -> float``, the width where a fixed std keeps the variance."""
    return check_properties(
        "right_width",
        right_width,
        [(0.01,), (0.1 / math.sqrt(3),), (0.05,), (0.2,), (1.0,)],
        partial(formula_problem, reference_right_width, _WIDTH_MISTAKES),
        success="2/std² on all 5 standard deviations",
        hint="a ReLU layer multiplies the variance by n · std² / 2; set that to 1",
    )
