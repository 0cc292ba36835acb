"""Offline data sets: generated regression data and scikit-learn's bundled digits.

Nothing here downloads: the digits (1,797 images of 8×8 pixels) ship inside
scikit-learn's wheel.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from sklearn.datasets import load_digits
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

from coursepkg._checks import (
    check_fraction,
    check_nonnegative,
    check_positive_int,
    seeded_generator,
)

__all__ = [
    "DigitsSplit",
    "RegressionData",
    "SparseRegression",
    "corrupt_labels",
    "load_digits_split",
    "make_loader",
    "make_polynomial_regression",
    "make_sparse_regression",
    "true_function",
]

DIGITS_SIZE = 1797
NUM_DIGIT_CLASSES = 10


class RegressionData(NamedTuple):
    """A one-dimensional regression problem: inputs ``(N,)`` and targets ``(N,)``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


class SparseRegression(NamedTuple):
    """A linear problem ``y = X w_true + ε`` whose ``w_true`` has few non-zeros."""

    x: torch.Tensor
    y: torch.Tensor
    w_true: torch.Tensor


class DigitsSplit(NamedTuple):
    """Digits as tensors: inputs ``(N, 64)`` float32, labels ``(N,)`` int64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def true_function(x: torch.Tensor) -> torch.Tensor:
    """Return the noise-free target of :func:`make_polynomial_regression`, ``sin(πx)``."""
    return torch.sin(math.pi * x)


def make_polynomial_regression(
    n_train: int = 15, n_test: int = 500, *, noise: float = 0.2, seed: int = 0
) -> RegressionData:
    """Sample ``y = sin(πx) + ε`` with ``x ~ U(-1, 1)`` and ``ε ~ N(0, noise²)``, in float64.

    Used by :ref:`ch-overfitting` to fit polynomials of growing degree.

    Parameters
    ----------
    n_train, n_test : int
        Number of training and test points (at least 1 each).
    noise : float, default 0.2
        Standard deviation of the Gaussian noise, ``>= 0``.
    seed : int, default 0
        Seed of the generator; the same seed gives the same data.

    Returns
    -------
    RegressionData
        ``x_train, y_train, x_test, y_test``, each of shape ``(N,)``.
    """
    check_positive_int(n_train, "n_train")
    check_positive_int(n_test, "n_test")
    check_nonnegative(noise, "noise")
    g = seeded_generator(seed)
    x = torch.rand(n_train + n_test, generator=g, dtype=torch.float64) * 2 - 1
    y = true_function(x) + noise * torch.randn(n_train + n_test, generator=g, dtype=torch.float64)
    return RegressionData(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def make_sparse_regression(
    n_samples: int = 100,
    n_features: int = 20,
    *,
    n_informative: int = 3,
    noise: float = 0.5,
    seed: int = 0,
) -> SparseRegression:
    """Sample a linear regression problem where only a few features matter, in float64.

    The features are independent standard normal; the first ``n_informative``
    coefficients of ``w_true`` are drawn from ``±U(1, 3)``, the others are 0.
    Used by :ref:`ch-penalties` to see which methods find the true support.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the design matrix ``x``.
    n_informative : int, default 3
        Number of non-zero coefficients, ``<= n_features``.
    noise : float, default 0.5
        Standard deviation of the Gaussian noise on ``y``.
    seed : int, default 0
        Seed of the generator.

    Returns
    -------
    SparseRegression
        ``x`` ``(n, d)``, ``y`` ``(n,)`` and ``w_true`` ``(d,)``.
    """
    check_positive_int(n_samples, "n_samples")
    check_positive_int(n_features, "n_features")
    check_positive_int(n_informative, "n_informative", minimum=0)
    if n_informative > n_features:
        raise ValueError(f"n_informative must be <= n_features ({n_features}), got {n_informative}")
    check_nonnegative(noise, "noise")
    g = seeded_generator(seed)
    x = torch.randn(n_samples, n_features, generator=g, dtype=torch.float64)
    w_true = torch.zeros(n_features, dtype=torch.float64)
    signs = torch.randint(2, (n_informative,), generator=g) * 2 - 1
    w_true[:n_informative] = signs * (
        1 + 2 * torch.rand(n_informative, generator=g, dtype=torch.float64)
    )
    y = x @ w_true + noise * torch.randn(n_samples, generator=g, dtype=torch.float64)
    return SparseRegression(x, y, w_true)


def load_digits_split(
    *,
    n_train: int | None = None,
    n_val: int = 360,
    n_test: int = 360,
    seed: int = 0,
    standardize: bool = True,
) -> DigitsSplit:
    """Split scikit-learn's digits into standardized train, validation and test tensors.

    The images are shuffled once with ``seed``; the first ``n_test`` form the test
    set, the next ``n_val`` the validation set, and the training set is the first
    ``n_train`` of the rest. So for a fixed seed, growing ``n_train`` adds images
    to the training set while validation and test stay the same. Each pixel is
    standardized with the mean and standard deviation of the *training* images
    only, so nothing leaks from validation or test data.

    Parameters
    ----------
    n_train : int, optional
        Training-set size; all remaining images when ``None``.
    n_val, n_test : int, default 360
        Validation- and test-set sizes (at least 1 each).
    seed : int, default 0
        Seed of the shuffle.
    standardize : bool, default True
        Standardize each pixel; with ``False`` the pixels are scaled to ``[0, 1]``
        instead, so a blank pixel stays 0 (what shifting and rotating images needs).

    Returns
    -------
    DigitsSplit
        Inputs of shape ``(N, 64)`` (float32) and labels of shape ``(N,)`` (int64).
    """
    check_positive_int(n_val, "n_val")
    check_positive_int(n_test, "n_test")
    g = seeded_generator(seed)
    pool = DIGITS_SIZE - n_val - n_test
    if pool < 1:
        raise ValueError(
            f"n_val + n_test must leave images to train on (< {DIGITS_SIZE}), "
            f"got {n_val} + {n_test}"
        )
    if n_train is None:
        n_train = pool
    check_positive_int(n_train, "n_train")
    if n_train > pool:
        raise ValueError(
            f"n_train must be <= {pool} with n_val={n_val}, n_test={n_test}, got {n_train}"
        )
    x, y = load_digits(return_X_y=True)
    x = torch.as_tensor(x, dtype=torch.float32)  # (1797, 64), pixel values 0..16
    y = torch.as_tensor(y, dtype=torch.int64)  # (1797,)
    order = torch.randperm(DIGITS_SIZE, generator=g)
    test, val = order[:n_test], order[n_test : n_test + n_val]
    train = order[n_test + n_val : n_test + n_val + n_train]
    if not standardize:
        x = x / 16
        return DigitsSplit(x[train], y[train], x[val], y[val], x[test], y[test])
    mean = x[train].mean(dim=0)  # (64,)
    # Floor of one intensity level (pixels are integers 0..16): a pixel that barely
    # varies in a small training set must not blow up in validation or test images.
    std = x[train].std(dim=0, correction=0).clamp_min(1.0)
    x = (x - mean) / std
    return DigitsSplit(x[train], y[train], x[val], y[val], x[test], y[test])


def corrupt_labels(
    labels: torch.Tensor, fraction: float, *, num_classes: int = NUM_DIGIT_CLASSES, seed: int = 0
) -> torch.Tensor:
    """Replace a ``fraction`` of the labels by labels drawn uniformly at random.

    With ``fraction=1`` every label is random, as in the memorization experiment of
    :cite:t:`zhang2017understanding`. A replaced label may by chance equal the old one.

    Parameters
    ----------
    labels : torch.Tensor
        Integer class labels of shape ``(N,)``.
    fraction : float
        Fraction of labels to replace, in ``[0, 1]``.
    num_classes : int, default 10
        Labels are drawn from ``0 .. num_classes - 1``.
    seed : int, default 0
        Seed of the choice of labels and of their new values.

    Returns
    -------
    torch.Tensor
        A new label tensor; ``labels`` is left unchanged.
    """
    check_fraction(fraction, "fraction")
    if len(labels) and not 0 <= labels.min() <= labels.max() < num_classes:
        low, high, top = labels.min().item(), labels.max().item(), num_classes - 1
        raise ValueError(f"labels must be in [0, num_classes - 1] = [0, {top}], got {low}..{high}")
    g = seeded_generator(seed)
    n_corrupt = round(fraction * len(labels))
    idx = torch.randperm(len(labels), generator=g)[:n_corrupt]
    out = labels.clone()
    out[idx] = torch.randint(num_classes, (n_corrupt,), generator=g, dtype=labels.dtype)
    return out


def make_loader(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
) -> DataLoader:
    """Wrap tensors in a :class:`~torch.utils.data.DataLoader` that slices whole batches.

    A plain ``DataLoader(TensorDataset(x, y), batch_size=...)`` fetches one
    sample at a time and stacks them: Python work per image. Here the sampler
    yields a list of indices per batch and the dataset indexes the tensors with it
    once, so one batch costs one tensor operation. Shuffling uses its own seeded
    generator, so the order of batches is reproducible.

    Parameters
    ----------
    x, y : torch.Tensor
        Inputs and targets with the same first dimension ``N >= 1``.
    batch_size : int, default 64
        Samples per batch; the last batch may be smaller.
    shuffle : bool, default True
        Reshuffle at every epoch.
    seed : int, default 0
        Seed of the shuffle.

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(x_batch, y_batch)`` pairs.
    """
    dataset = TensorDataset(x, y)
    if shuffle:
        sampler = RandomSampler(dataset, generator=seeded_generator(seed))
    else:
        sampler = SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=False)
    # batch_size=None: each item the sampler yields is already a whole batch.
    return DataLoader(dataset, sampler=batches, batch_size=None)
