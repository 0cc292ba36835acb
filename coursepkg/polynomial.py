"""Least-squares polynomial regression: the model whose capacity is one number, the degree."""

from __future__ import annotations

import torch

from coursepkg._checks import check_positive_int

__all__ = ["fit_polynomial", "polynomial_features", "predict_polynomial"]


def _check_1d(x: object, name: str, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Require a non-empty 1-D floating-point tensor (of the same dtype as ``like``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(x.shape)}")
    if like is not None and x.dtype != like.dtype:
        raise TypeError(
            f"{name} must have the dtype of the other input ({like.dtype}), got {x.dtype}"
        )
    return x


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Return the Vandermonde matrix ``[1, x, x², …, x^degree]``.

    Parameters
    ----------
    x : torch.Tensor
        Inputs of shape ``(N,)``.
    degree : int
        Highest power, ``>= 0``.

    Returns
    -------
    torch.Tensor
        Matrix of shape ``(N, degree + 1)`` whose column ``k`` is ``x**k``.
    """
    _check_1d(x, "x")
    check_positive_int(degree, "degree", minimum=0)
    powers = torch.arange(degree + 1, dtype=x.dtype, device=x.device)  # (D + 1,)
    return x[:, None] ** powers  # (N, D + 1)


def fit_polynomial(x: torch.Tensor, y: torch.Tensor, degree: int) -> torch.Tensor:
    """Fit a polynomial by least squares, ``w = argmin ‖Φw − y‖²`` with ``Φ`` the features.

    Parameters
    ----------
    x, y : torch.Tensor
        Inputs and targets of shape ``(N,)``.
    degree : int
        Degree of the polynomial, ``>= 0``. With ``degree >= N - 1`` the
        polynomial can pass through every training point.

    Returns
    -------
    torch.Tensor
        Coefficients ``(degree + 1,)``, lowest power first.
    """
    phi = polynomial_features(x, degree)  # (N, D + 1)
    _check_1d(y, "y", like=x)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    # gelsd (SVD based) returns the minimum-norm solution when the system is
    # under-determined (degree >= N), where the default QR driver would fail.
    # It exists on the CPU only, so the small solve runs there.
    solution = torch.linalg.lstsq(phi.cpu(), y.cpu()[:, None], driver="gelsd").solution
    return solution[:, 0].to(x.device)  # (D + 1,)


def predict_polynomial(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Evaluate the polynomial with coefficients ``coef`` (lowest power first) at ``x``."""
    _check_1d(coef, "coef")
    _check_1d(x, "x", like=coef)
    return polynomial_features(x, len(coef) - 1) @ coef
