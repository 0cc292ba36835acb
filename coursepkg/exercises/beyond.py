"""Checks for the exercises of :ref:`ch-beyond`."""

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

__all__ = [
    "check_adaptive_ece",
    "check_vote_accuracy",
    "reference_adaptive_ece",
    "reference_vote_accuracy",
]


def reference_adaptive_ece(probs: torch.Tensor, labels: torch.Tensor, bins: int) -> float:
    """Return the expected calibration error over equal-mass bins.

    The predictions, sorted by confidence (ties in their original order), are cut
    into ``bins`` consecutive groups whose sizes differ by at most one, the larger
    groups first (as :meth:`torch.Tensor.tensor_split` cuts); each group's
    ``|accuracy - mean confidence|`` is weighted by its share of the predictions.
    """
    confidence, predicted = probs.max(dim=1)
    right = (predicted == labels).double()
    total = 0.0
    for group in confidence.argsort(stable=True).tensor_split(bins):
        if len(group):
            gap = right[group].mean() - confidence[group].double().mean()
            total += len(group) / len(labels) * abs(gap.item())
    return total


def _ece_cases() -> list[tuple]:
    g = torch.Generator().manual_seed(0)
    cases = []
    for n, c, bins, scale in (
        (200, 10, 10, 3.0),
        (50, 3, 5, 1.0),
        (301, 10, 15, 6.0),
        (7, 4, 3, 2.0),
    ):
        probs = (scale * torch.randn(n, c, generator=g)).softmax(dim=1).double()
        labels = torch.randint(c, (n,), generator=g)
        labels[: n * 7 // 10] = probs[: n * 7 // 10].argmax(
            dim=1
        )  # mostly right: gaps of both signs
        cases.append((probs, labels, bins))
    # Tied confidences keep their order; more bins than predictions leaves groups empty.
    ties = torch.tensor([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.9, 0.1], [0.55, 0.45]])
    cases += [
        (ties.double(), torch.tensor([0, 1, 1, 0, 0]), 2),
        (ties.double(), torch.tensor([0, 1, 1, 0, 0]), 8),
    ]
    return cases


def check_adaptive_ece(adaptive_ece: Any) -> Feedback:
    """Check ``adaptive_ece(probs, labels, bins) -> float`` on equal-mass bins, ties included."""
    return check_function(
        "adaptive_ece",
        adaptive_ece,
        reference_adaptive_ece,
        _ece_cases(),
        rtol=1e-6,
        atol=1e-9,
        hint="sort the predictions by confidence (stable), cut them into `bins` consecutive "
        "groups with tensor_split (sizes differ by at most one, larger first), and weigh "
        "each group's |accuracy - mean confidence| by its share of all N predictions",
    )


def reference_vote_accuracy(p: float, members: int) -> float:
    """Return the chance that most of ``members`` (odd) voters, each right with ``p``, are right."""
    need = members // 2 + 1
    return sum(
        math.comb(members, k) * p**k * (1 - p) ** (members - k) for k in range(need, members + 1)
    )


_VOTE_MISTAKES = [
    (lambda p, m: p**m, "that is the chance that every member is right; a majority suffices"),
    (
        lambda p, m: 1 - (1 - p) ** m,
        "that is the chance that at least one member is right; the vote needs a majority",
    ),
    (
        lambda p, m: math.comb(m, m // 2 + 1) * p ** (m // 2 + 1) * (1 - p) ** (m // 2),
        "that counts only the smallest majority; add the larger ones, up to all members right",
    ),
    (
        lambda p, m: sum(math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m // 2, m + 1)),
        "the sum starts one too low: with an odd number of members, a majority is at least "
        "(M + 1) / 2 of them",
    ),
    (
        lambda p, m: sum(p**k * (1 - p) ** (m - k) for k in range(m // 2 + 1, m + 1)),
        "each count k of right members happens in C(M, k) ways: the binomial coefficient "
        "is missing",
    ),
]


def check_vote_accuracy(vote_accuracy: Any) -> Feedback:
    """Check ``vote_accuracy(p, members) -> float`` for several ``p`` and odd ``members``."""
    cases = [(0.88, 3), (0.6, 3), (0.9, 5), (0.7, 7), (0.51, 11), (0.3, 3), (0.95, 1)]
    return check_properties(
        "vote_accuracy",
        vote_accuracy,
        cases,
        partial(formula_problem, reference_vote_accuracy, _VOTE_MISTAKES),
        success="the binomial tail P(K ≥ (M + 1)/2) on all 7 cases",
        hint="the number K of right members is binomial(M, p); the vote is right when K is "
        "a majority, K ≥ (M + 1) / 2",
    )
