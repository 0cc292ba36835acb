"""The lasso and the elastic net on a linear model, solved two ways.

The objective is scikit-learn's, so the solutions can be compared with
``sklearn.linear_model.Lasso`` and ``ElasticNet``::

    J(w) = 1/(2n)·‖y − Xw‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖²

with ``ρ = l1_ratio``. :func:`subgradient_descent` takes plain steps along a
subgradient; :func:`proximal_gradient` (ISTA) takes a gradient step on the
smooth part, then the proximal step of the non-smooth part
:cite:p:`parikh2014proximal`. Only the second gives exact zeros
(:ref:`ch-penalties`).
"""

from __future__ import annotations

import torch

from coursepkg._checks import check_fraction, check_nonnegative
from coursepkg.penalties import soft_threshold_

__all__ = [
    "elastic_net_objective",
    "lipschitz_constant",
    "proximal_gradient",
    "subgradient_descent",
]


def _check_shapes(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, name: str) -> None:
    """Refuse a column y (n, 1) or w (d, 1): ``x @ w − y`` would broadcast to (n, n) silently."""
    if x.ndim != 2 or y.shape != x.shape[:1] or (w is not None and w.shape != x.shape[1:]):
        shapes = ", ".join(str(tuple(t.shape)) for t in (x, y, w) if t is not None)
        raise ValueError(f"x must be (n, d), y (n,) and {name} (d,), got shapes {shapes}")


def elastic_net_objective(
    x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, *, alpha: float, l1_ratio: float = 1.0
) -> float:
    """Return ``J(w)`` of the module docstring."""
    _check_shapes(x, y, w, "w")
    alpha = check_nonnegative(alpha, "alpha")
    rho = check_fraction(l1_ratio, "l1_ratio")
    residual = y - x @ w  # (n,)
    data = residual.square().sum() / (2 * len(y))
    return float(data + alpha * rho * w.abs().sum() + alpha * (1 - rho) / 2 * w.square().sum())


def lipschitz_constant(x: torch.Tensor) -> float:
    """Return ``L = λ_max(XᵀX / n)``, the Lipschitz constant of the data term's gradient.

    A step size of ``1/L`` makes proximal gradient descent converge.
    """
    return float(torch.linalg.eigvalsh(x.T @ x / len(x)).max())


def proximal_gradient(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    l1_ratio: float = 1.0,
    steps: int = 1000,
    w0: torch.Tensor | None = None,
) -> torch.Tensor:
    """Minimize ``J`` by proximal gradient descent (ISTA) with step ``1/L``.

    Each step: ``v = w − (1/L)·∇(1/(2n)‖y − Xw‖²)``, then the proximal step of
    the penalty, ``w = S(v, α·ρ/L) / (1 + α·(1 − ρ)/L)`` with ``S`` the soft
    threshold (:func:`coursepkg.penalties.soft_threshold_`).

    Parameters
    ----------
    x, y : torch.Tensor
        Design matrix ``(n, d)`` and targets ``(n,)``, same floating dtype.
    alpha : float
        ``α >= 0``.
    l1_ratio : float, default 1.0
        ``ρ`` in ``[0, 1]``: 1 is the lasso, 0 ridge regression.
    steps : int, default 1000
        Number of iterations.
    w0 : torch.Tensor, optional
        Starting point (a warm start along a path); zeros by default.

    Returns
    -------
    torch.Tensor
        The iterates, shape ``(steps + 1, d)``; the last row is the solution.
    """
    _check_shapes(x, y, w0, "w0")
    alpha = check_nonnegative(alpha, "alpha")
    rho = check_fraction(l1_ratio, "l1_ratio")
    lipschitz = lipschitz_constant(x)
    step = 1.0 / lipschitz if lipschitz > 0 else 1.0  # x = 0: only the penalty is left
    w = x.new_zeros(x.shape[1]) if w0 is None else w0.detach().clone()
    path = [w.clone()]
    for _ in range(steps):
        gradient = x.T @ (x @ w - y) / len(y)  # (d,)
        w = soft_threshold_(w - step * gradient, step * alpha * rho)
        w /= 1 + step * alpha * (1 - rho)
        path.append(w.clone())
    return torch.stack(path)


def subgradient_descent(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    lr: float,
    steps: int = 1000,
    w0: torch.Tensor | None = None,
) -> torch.Tensor:
    """Minimize the lasso objective (``ρ = 1``) with plain subgradient steps.

    Each step: ``w ← w − lr·(∇data(w) + α·sign(w))``. ``sign(0) = 0`` picks one
    subgradient at 0; a weight that lands exactly on 0 is pushed off again by
    the data gradient, so the irrelevant weights dither around 0 instead of
    settling there.

    Returns
    -------
    torch.Tensor
        The iterates, shape ``(steps + 1, d)``; the last row is the final point.
    """
    _check_shapes(x, y, w0, "w0")
    alpha = check_nonnegative(alpha, "alpha")
    lr = check_nonnegative(lr, "lr")
    w = x.new_zeros(x.shape[1]) if w0 is None else w0.detach().clone()
    path = [w.clone()]
    for _ in range(steps):
        gradient = x.T @ (x @ w - y) / len(y) + alpha * torch.sign(w)  # (d,)
        w = w - lr * gradient
        path.append(w.clone())
    return torch.stack(path)
