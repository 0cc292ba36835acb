"""Reproducibility and device selection, used at the top of every chapter."""

from __future__ import annotations

import operator
import os
import random

import numpy as np
import torch

__all__ = ["get_device", "seed_everything"]


def seed_everything(seed: int) -> int:
    """Seed Python's, NumPy's and PyTorch's random number generators.

    Two runs of the same CPU code after ``seed_everything(seed)`` give identical
    numbers. GPU kernels may still differ from run to run (see :ref:`setup`).

    Parameters
    ----------
    seed : int
        A seed in ``[0, 2**32 - 1]`` (NumPy's range).

    Returns
    -------
    int
        The seed, so that it can be logged.
    """
    seed = operator.index(seed)  # an int, NumPy's integers included; a float is refused
    np.random.seed(seed)  # first: a clear ValueError outside [0, 2**32 - 1], nothing changed
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses started later
    return seed


def get_device() -> torch.device:
    """Return the fastest available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
