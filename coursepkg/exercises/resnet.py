"""Checks for the exercises of :ref:`ch-resnet`."""

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
from coursepkg.metrics import precision_recall
from coursepkg.resnet import Bottleneck
from coursepkg.visibility import KOSCHMIEDER

__all__ = [
    "check_bottleneck_params",
    "check_l2sp_minimum",
    "check_precision_recall",
    "check_smoothed_logit_gap",
    "check_visibility_from_transmission",
    "reference_bottleneck_params",
    "reference_l2sp_minimum",
    "reference_precision_recall",
    "reference_smoothed_logit_gap",
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


def reference_l2sp_minimum(
    w_data: float, curvature: float, w_start: float, strength: float
) -> float:
    """Return the minimizer of ``½·h·(w − w_d)² + λ·(w − w⁰)²`` (L2-SP on one weight).

    Setting the derivative ``h·(w − w_d) + 2λ·(w − w⁰)`` to zero gives the average
    of the data's optimum and the pretrained value, weighted by ``h`` and ``2λ``.
    """
    return (curvature * w_data + 2 * strength * w_start) / (curvature + 2 * strength)


# Plausible wrong derivations, each with what it gets wrong.
_L2SP_MISTAKES = [
    (
        lambda wd, h, w0, lam: (h * wd + lam * w0) / (h + lam),
        "the derivative of λ(w - w⁰)² is 2λ(w - w⁰), so the pretrained value weighs 2λ, not λ",
    ),
    (
        lambda wd, h, w0, lam: h * wd / (h + 2 * lam),
        "that is plain L2, which pulls towards 0; L2-SP pulls towards the pretrained w⁰",
    ),
    (
        lambda wd, h, w0, lam: (2 * lam * wd + h * w0) / (h + 2 * lam),
        "the weights are swapped: the curvature h goes with the data's optimum w_d, "
        "2λ with the pretrained w⁰",
    ),
    (
        lambda wd, h, w0, lam: (wd + 2 * lam * w0) / (1 + 2 * lam),
        "the curvature h is missing: the data loss ½h(w - w_d)² has derivative h(w - w_d)",
    ),
]


def check_l2sp_minimum(l2sp_minimum: Any) -> Feedback:
    """Check ``l2sp_minimum(w_data, curvature, w_start, strength) -> float``, naming slips."""
    cases = [
        (2.0, 4.0, 0.5, 0.5),
        (-1.0, 0.25, 1.0, 2.0),  # a flat data loss: the penalty dominates
        (3.0, 10.0, -2.0, 0.01),  # a weak pull
        (0.5, 0.2, 1.5, 50.0),  # a strong pull: close to w⁰
        (-0.3, 2.5, -1.2, 0.25),
    ]
    return check_properties(
        "l2sp_minimum",
        l2sp_minimum,
        cases,
        partial(formula_problem, reference_l2sp_minimum, _L2SP_MISTAKES),
        success="(h·w_d + 2λ·w⁰) / (h + 2λ) on all 5 cases",
        hint="set the derivative of ½h(w - w_d)² + λ(w - w⁰)² to zero and solve for w",
    )


def reference_smoothed_logit_gap(epsilon: float, classes: int) -> float:
    """Return the logit gap that minimizes the cross-entropy with label smoothing ``epsilon``.

    The target is ``(1 − ε)·one_hot + ε/K`` (PyTorch's convention); the loss is
    least where the softmax equals it, so the true class's logit exceeds every
    other by ``ln((1 − ε + ε/K) / (ε/K))``.
    """
    rest = epsilon / classes
    return math.log((1 - epsilon + rest) / rest)


_GAP_MISTAKES = [
    (
        lambda e, k: math.log((1 - e) / (e / k)),
        "the true class also gets its share ε/K of the smoothing: its target is 1 - ε + ε/K",
    ),
    (
        lambda e, k: math.log((1 - e) / (e / (k - 1))),
        "that is the convention spreading ε over the K - 1 other classes; PyTorch's "
        "label_smoothing spreads it over all K",
    ),
    (
        lambda e, k: math.log10((1 - e + e / k) / (e / k)),
        "log10 where the natural log belongs: the softmax uses exp",
    ),
    (
        lambda e, k: -math.log((1 - e + e / k) / (e / k)),
        "the sign: the true class's logit is the larger one",
    ),
    (
        lambda e, k: 1 - e + e / k,
        "that is the true class's probability at the optimum; the gap between logits is "
        "the log of a ratio of probabilities",
    ),
    (
        lambda e, k: (1 - e + e / k) / (e / k),
        "that is the ratio of the probabilities; the logits differ by its log",
    ),
]


def check_smoothed_logit_gap(smoothed_logit_gap: Any) -> Feedback:
    """Check ``smoothed_logit_gap(epsilon, classes) -> float``, naming the usual slips."""
    cases = [(0.1, 4), (0.2, 10), (0.05, 2), (0.9, 3), (0.01, 100)]
    return check_properties(
        "smoothed_logit_gap",
        smoothed_logit_gap,
        cases,
        partial(formula_problem, reference_smoothed_logit_gap, _GAP_MISTAKES),
        success="ln((1 - ε + ε/K) / (ε/K)) on all 5 cases",
        hint="write the smoothed target of every class; at the optimum the softmax equals it",
    )
