"""Argument checks shared by the modules, kept out of the functions the chapters list.

A check belongs here only when a wrong value would otherwise fail silently or with
a confusing message; each raises a ``TypeError`` or ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sized

import numpy as np
import torch

_MAX_GENERATOR_SEED = 2**64 - 1  # what torch.Generator.manual_seed accepts


def check_positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum`` (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")


def check_nonnegative(value: object, name: str) -> float:
    """Return ``value`` as a float if it is a finite number ``>= 0``."""
    _check_number(value, name)
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if not (math.isfinite(number) and number >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return number


def check_fraction(value: object, name: str) -> float:
    """Return ``value`` as a float if it lies in ``[0, 1]`` (NaN is refused)."""
    _check_number(value, name)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def check_drop_probability(p: object, name: str = "p") -> float:
    """Return ``p`` as a float if it lies in ``[0, 1)``: ``p = 1`` would divide by zero."""
    try:
        p = check_fraction(p, name)
    except ValueError:
        raise ValueError(f"{name} must be in [0, 1), got {p}") from None
    if p == 1:
        raise ValueError(
            f"{name} must be in [0, 1), got 1: every unit would be dropped and "
            "the survivors' scale 1/(1 - p) would divide by zero"
        )
    return p


def seeded_generator(seed: object, name: str = "seed") -> torch.Generator:
    """Return a new :class:`torch.Generator` seeded with the integer ``seed``."""
    seed = check_positive_int(seed, name, minimum=0)
    if seed > _MAX_GENERATOR_SEED:
        raise ValueError(f"{name} must be in [0, 2**64 - 1], got {seed}")
    return torch.Generator().manual_seed(seed)


def tensor_list(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Materialize ``params`` (often a generator), refusing an empty one.

    An exhausted generator, e.g. a ``model.parameters()`` already given to the
    optimizer, would otherwise give a penalty of 0 without a word.
    """
    tensors = [params] if isinstance(params, torch.Tensor) else list(params)
    if not tensors:
        raise ValueError(
            "params holds no tensor: an exhausted generator? Call model.parameters() again"
        )
    return tensors


def check_loader(loader: object, name: str) -> None:
    """Reject what cannot be a non-empty iterable of batches, before any training."""
    if isinstance(loader, (str, bytes)) or not isinstance(loader, Iterable):
        kind = type(loader).__name__
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches, got {kind}")
    if isinstance(loader, Sized) and len(loader) == 0:
        raise ValueError(f"{name} is empty: it must yield at least one batch")
