"""Polynomial regression by least squares or ridge: a model whose capacity is one number."""

from __future__ import annotations

import torch

from coursepkg._checks import check_nonnegative, check_positive_int

__all__ = ["fit_polynomial", "fit_polynomial_ridge", "polynomial_features", "predict_polynomial"]


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


def fit_polynomial_ridge(x: torch.Tensor, y: torch.Tensor, degree: int, lam: float) -> torch.Tensor:
    """Fit a polynomial by ridge regression, the intercept ``w₀`` not penalized.

    Minimizes ``J(w₀, w) = 1/(2N) Σᵢ (w₀ + φ(xᵢ)ᵀw − yᵢ)² + λ/2 ‖w‖²`` over the
    intercept ``w₀`` and the weights ``w`` of the powers ``x, …, x^degree``: the
    elastic net of :ref:`ch-penalties` at ``l1_ratio = 0`` with the same strength ``λ``
    (twice that chapter's ``λ`` on ``Ω₂ = ‖w‖²``), and scikit-learn's
    ``Ridge(alpha=N·λ)`` (``fit_intercept=True``). Setting the
    derivative in ``w₀`` to zero gives ``w₀ = ȳ − φ̄ᵀw``; what is left is ridge on
    the centred features ``Φ_c`` and targets ``y_c``,
    ``w = (Φ_cᵀΦ_c/N + λI)⁻¹ Φ_cᵀy_c/N``.

    Parameters
    ----------
    x, y : torch.Tensor
        Inputs and targets of shape ``(N,)``.
    degree : int
        Degree of the polynomial, ``>= 0``.
    lam : float
        Strength ``λ > 0`` (``λ = 0`` is :func:`fit_polynomial`, which also
        handles the singular case).

    Returns
    -------
    torch.Tensor
        Coefficients ``(degree + 1,)``, lowest power first, as :func:`fit_polynomial`.

    Raises
    ------
    ValueError
        If ``lam`` is not a finite number ``> 0``.
    TypeError
        If ``lam`` is not a number.
    """
    if check_nonnegative(lam, "lam") == 0:  # the normal equations can be singular at λ = 0
        raise ValueError("lam must be > 0, got 0; fit_polynomial fits λ = 0")
    n = len(y)
    phi = polynomial_features(x, degree)[:, 1:]  # (N, D): the powers x .. x^D, no 1s
    phi_mean, y_mean = phi.mean(0), y.reshape(-1).mean()
    phi_c, y_c = phi - phi_mean, y.reshape(-1) - y_mean  # (N, D), (N,)
    eye = torch.eye(degree, dtype=phi.dtype, device=phi.device)
    w = torch.linalg.solve(phi_c.T @ phi_c / n + lam * eye, phi_c.T @ y_c / n)  # (D,)
    w0 = y_mean - phi_mean @ w
    return torch.cat([w0.reshape(1), w])  # (D + 1,)


def predict_polynomial(coef: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Evaluate the polynomial with coefficients ``coef`` (lowest power first) at ``x``."""
    return polynomial_features(x, len(coef) - 1) @ coef
