"""Checks for the exercises of :ref:`ch-resnet`."""

from __future__ import annotations

import math
from typing import Any

import torch

from coursepkg.exercises.framework import Feedback, check_function
from coursepkg.metrics import precision_recall
from coursepkg.resnet import Bottleneck
from coursepkg.visibility import KOSCHMIEDER

__all__ = [
    "check_bottleneck_params",
    "check_precision_recall",
    "check_visibility_from_transmission",
    "reference_bottleneck_params",
    "reference_precision_recall",
    "reference_visibility_from_transmission",
]


def reference_bottleneck_params(inplanes: int, planes: int, downsample: bool) -> int:
    """Count the parameters of a bottleneck block by building one."""
    projection = None
    if downsample:
        projection = torch.nn.Sequential(
            torch.nn.Conv2d(inplanes, planes * Bottleneck.expansion, 1, bias=False),
            torch.nn.BatchNorm2d(planes * Bottleneck.expansion),
        )
    block = Bottleneck(inplanes, planes, downsample=projection)
    return sum(p.numel() for p in block.parameters())


def check_bottleneck_params(bottleneck_params: Any) -> Feedback:
    """Check ``bottleneck_params(inplanes, planes, downsample) -> int`` on ResNet-50's blocks."""
    cases = [(64, 64, True), (256, 64, False), (256, 128, True), (512, 128, False)]
    cases += [(1024, 256, True), (1024, 256, False), (1024, 512, True), (2048, 512, False)]
    cases += [(3, 5, True), (10, 2, False)]
    return check_function(
        "bottleneck_params",
        bottleneck_params,
        reference_bottleneck_params,
        cases,
        rtol=0,
        atol=0,
        hint="three convolutions without bias (1x1, 3x3, then 1x1 to 4 * planes), a batch "
        "norm (weight and bias) after each, and with downsample a 1x1 convolution to "
        "4 * planes and its batch norm",
    )


def reference_visibility_from_transmission(transmission: float, distance: float) -> float:
    """Return the visibility (km) of air that passes ``transmission`` over ``distance`` km."""
    return KOSCHMIEDER * distance / -math.log(transmission)


def check_visibility_from_transmission(visibility_from_transmission: Any) -> Feedback:
    """Check ``visibility_from_transmission(transmission, distance) -> km``."""
    cases = [(0.02, 1.0), (0.5, 0.1), (0.9, 2.0), (0.999, 0.03), (1e-6, 5.0)]
    return check_function(
        "visibility_from_transmission",
        visibility_from_transmission,
        reference_visibility_from_transmission,
        cases,
        rtol=1e-6,
        hint="t = exp(-β d) gives β = -ln(t) / d, and Koschmieder's law V = -ln(0.02) / β",
    )


def reference_precision_recall(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-class precision and recall: :func:`coursepkg.metrics.precision_recall`."""
    return precision_recall(confusion)


def check_precision_recall(student: Any) -> Feedback:
    """Check ``student(confusion) -> (precision, recall)``, with a class never predicted."""
    cases = [
        (torch.tensor([[8, 2], [1, 9]]),),
        (torch.tensor([[5, 3, 0], [2, 7, 1], [0, 4, 6]]),),
        (torch.tensor([[3, 0, 1], [1, 0, 0], [0, 0, 5]]),),  # class 1 is never predicted
        (torch.tensor([[4, 1, 0], [0, 0, 0], [2, 0, 3]]),),  # class 1 never occurs
    ]
    return check_function(
        "precision_recall",
        student,
        reference_precision_recall,
        cases,
        rtol=1e-6,
        hint="rows are the true classes: recall divides the diagonal by the row sums, "
        "precision by the column sums; a zero sum gives 0",
    )
