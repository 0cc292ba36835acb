"""Least-squares polynomial regression: the model whose capacity is one number, the degree."""

from __future__ import annotations

import torch

from coursepkg._checks import check_positive_int

__all__ = ["fit_polynomial", "polynomial_features", "predict_polynomial"]


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

    Raises
    ------
    ValueError
        If ``x`` is not 1-D (a column ``(N, 1)`` would give a wrong fit silently)
        or ``degree < 0``.
    TypeError
        If ``degree`` is not an integer.
    """
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, of shape (N,), got shape {tuple(x.shape)}")
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
    # gelsd (SVD based) gives the minimum-norm solution of a rank-deficient system too
    # (degree >= N, repeated x); it exists on the CPU only, so the small solve runs there.
    solution = torch.linalg.lstsq(phi.cpu(), y.cpu().reshape(-1, 1), driver="gelsd").solution
    return solution[:, 0].to(x.device)  # (D + 1,)


def predict_polynomial(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Evaluate the polynomial with coefficients ``coef`` (lowest power first) at ``x``."""
    return polynomial_features(x, len(coef) - 1) @ coef
