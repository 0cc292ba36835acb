"""Checks for the exercises of :ref:`ch-init`."""

from __future__ import annotations

import math
from typing import Any

import torch

from coursepkg.exercises.framework import Feedback, check_function, check_properties
from coursepkg.initialization import fan_in_and_fan_out, kaiming_normal_

__all__ = ["check_fans", "check_he_normal", "reference_fans", "reference_he_normal"]


def reference_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``.

    That is :func:`coursepkg.initialization.fan_in_and_fan_out` of such a weight.
    """
    return fan_in_and_fan_out(torch.empty(shape))


def reference_he_normal(shape: tuple[int, ...]) -> torch.Tensor:
    """Return a weight of ``shape`` drawn from ``N(0, 2/fan_in)``.

    That is :func:`coursepkg.initialization.kaiming_normal_` for ReLU layers.
    """
    return kaiming_normal_(torch.empty(shape))


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


def _he_normal_problem(w: Any, shape: tuple[int, ...]) -> str | None:
    """Describe what is wrong with ``w = he_normal(shape)``."""
    if not isinstance(w, torch.Tensor) or tuple(w.shape) != shape:
        got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
        return f"expected a tensor of shape {shape}, got {got}"
    if not w.is_floating_point():
        return f"expected floating-point weights, got dtype {w.dtype}"
    fan_in = reference_fans(shape)[0]
    want = math.sqrt(2.0 / fan_in)
    std, mean = w.double().std().item(), w.double().mean().item()
    # 200,000 or more samples: the sample std is within 1 % of the truth.
    if not abs(std - want) < 0.03 * want:
        return f"std {std:.4g}, expected √(2/fan_in) = {want:.4g} (fan_in = {fan_in})"
    if abs(mean) > 0.03 * want:
        return f"mean {mean:.3g}, expected 0"
    return None


def check_he_normal(he_normal: Any) -> Feedback:
    """Check ``he_normal(shape) -> Tensor``: mean 0 and std √(2/fan_in), for ReLU layers."""
    return check_properties(
        "he_normal",
        he_normal,
        [((400, 500),), ((256, 32, 3, 3),)],
        _he_normal_problem,
        success="std √(2/fan_in) and mean 0 on both shapes",
    )
