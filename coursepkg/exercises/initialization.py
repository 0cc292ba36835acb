"""Checks for the exercises of :ref:`ch-init`."""

from __future__ import annotations

import math
from typing import Any

import torch

from coursepkg.exercises.framework import Feedback, check_function, report, student_error

__all__ = ["check_fans", "check_he_normal", "reference_fans"]


def reference_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


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


def check_he_normal(he_normal: Any) -> Feedback:
    """Check ``he_normal(shape) -> Tensor``: mean 0 and std √(2/fan_in), for ReLU layers."""
    name = "he_normal"
    if not callable(he_normal):
        return report(
            Feedback(name, "failed", f"expected a function, got {type(he_normal).__name__}")
        )
    for shape in [(400, 500), (256, 32, 3, 3)]:
        try:
            w = he_normal(shape)
        except Exception as error:  # the student's code may raise anything
            return report(student_error(name, error))
        if not isinstance(w, torch.Tensor) or tuple(w.shape) != shape:
            got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            return report(
                Feedback(name, "failed", f"expected a tensor of shape {shape}, got {got}")
            )
        fan_in = reference_fans(shape)[0]
        want = math.sqrt(2.0 / fan_in)
        std, mean = w.double().std().item(), w.double().mean().item()
        # 200,000 or more samples: the sample std is within 1 % of the truth.
        if not abs(std - want) < 0.03 * want:
            return report(
                Feedback(
                    name,
                    "failed",
                    f"shape {shape}: std {std:.4g}, expected "
                    f"√(2/fan_in) = {want:.4g} (fan_in = {fan_in})",
                )
            )
        if abs(mean) > 0.03 * want:
            return report(Feedback(name, "failed", f"shape {shape}: mean {mean:.3g}, expected 0"))
    return report(Feedback(name, "passed", "std √(2/fan_in) and mean 0 on both shapes"))
