"""The lasso and the elastic net on a linear model, solved three ways.

The objective is scikit-learn's, so the solutions can be compared with
``sklearn.linear_model.Lasso`` and ``ElasticNet``::

    J(w) = 1/(2n)·‖y − Xw‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖²

with ``ρ = l1_ratio``. :func:`subgradient_descent` takes plain steps along a
subgradient; :func:`proximal_gradient` (ISTA) takes a gradient step on the
smooth part, then the proximal step of the non-smooth part
:cite:p:`parikh2014proximal`. Only the second gives exact zeros
(:ref:`ch-penalties`). :func:`fista` accelerates it :cite:p:`beck2009fast` and
stops when the :func:`duality_gap`, a bound on ``J(w) − min J``, is below a
tolerance: the only way to know that an iterate is the solution.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from coursepkg._checks import check_fraction, check_nonnegative
from coursepkg.penalties import soft_threshold_

__all__ = [
    "Solution",
    "duality_gap",
    "elastic_net_objective",
    "fista",
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
        w = _proximal_step(x, y, w, step, alpha, rho)
        path.append(w.clone())
    return torch.stack(path)


def _proximal_step(
    x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, step: float, alpha: float, rho: float
) -> torch.Tensor:
    """From ``w``: a gradient step on the loss, then the penalty's proximal step."""
    gradient = x.T @ (x @ w - y) / len(y)  # (d,)
    return soft_threshold_(w - step * gradient, step * alpha * rho) / (1 + step * alpha * (1 - rho))


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


def duality_gap(
    x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, *, alpha: float, l1_ratio: float = 1.0
) -> float:
    """Return the duality gap ``J(w) − D(c·r)``, an upper bound on ``J(w) − min J``.

    With the residual ``r = y − Xw``, the dual objective at ``c·r`` is
    ``D = c·yᵀr/n − c²/(2n)·‖r‖² − c²·α(1 − ρ)/2·‖w‖²``, and
    ``c = min(1, α·ρ / ‖Xᵀr/n − α(1 − ρ)·w‖∞)`` scales ``r`` into the dual's
    feasible set, as scikit-learn's stopping rule does.
    The gap is 0 exactly at the solution. At ``ρ = 0`` (ridge) ``c = 0`` and the gap
    is ``J(w)`` itself: true, but no use as a stopping rule.
    """
    _check_shapes(x, y, w, "w")
    alpha = check_nonnegative(alpha, "alpha")
    rho = check_fraction(l1_ratio, "l1_ratio")
    n = len(y)
    r = y - x @ w  # (n,)
    dual_norm = float((x.T @ r / n - alpha * (1 - rho) * w).abs().max())
    c = min(1.0, alpha * rho / dual_norm) if dual_norm > 0 else 1.0
    dual = c * float(y @ r) / n - c**2 * float(r @ r) / (2 * n)
    dual -= c**2 * alpha * (1 - rho) / 2 * float(w @ w)
    return elastic_net_objective(x, y, w, alpha=alpha, l1_ratio=rho) - dual


class Solution(NamedTuple):
    """What :func:`fista` returns."""

    w: torch.Tensor  # (d,) the last iterate
    gap: float  # its duality gap: J(w) − min J <= gap
    steps: int  # proximal steps taken


def fista(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float,
    l1_ratio: float = 1.0,
    tol: float = 1e-12,
    max_steps: int = 100_000,
    w0: torch.Tensor | None = None,
) -> Solution:
    """Minimize ``J`` by accelerated proximal gradient (FISTA) until the gap is below ``tol``.

    Each step is the proximal step of :func:`proximal_gradient`, taken from the
    extrapolated point ``v = w + (t_{k−1} − 1)/t_k·(w − w_prev)`` with
    ``t_k = (1 + √(1 + 4·t_{k−1}²))/2`` :cite:p:`beck2009fast`. When the step
    points back against the momentum, ``(v − w_new)ᵀ(w_new − w) > 0``, the
    momentum restarts (``t = 1``) :cite:p:`odonoghue2015adaptive`; on
    ill-conditioned problems (near-copies of a feature) that is what makes it
    fast. Every 10 steps :func:`duality_gap` decides whether to stop.

    Parameters
    ----------
    x, y : torch.Tensor
        Design matrix ``(n, d)`` and targets ``(n,)``, same floating dtype.
    alpha : float
        ``α >= 0``.
    l1_ratio : float, default 1.0
        ``ρ`` in ``(0, 1]``: 1 is the lasso. Not 0: there the gap certifies nothing.
    tol : float, default 1e-12
        Stop once ``duality_gap <= tol``.
    max_steps : int, default 100_000
        Stop there otherwise; the returned ``gap`` then says how far off ``w`` may be.
    w0 : torch.Tensor, optional
        Starting point; zeros by default.
    """
    _check_shapes(x, y, w0, "w0")
    alpha = check_nonnegative(alpha, "alpha")
    rho = check_fraction(l1_ratio, "l1_ratio")
    if rho == 0:
        raise ValueError("l1_ratio must be > 0: at 0 the duality gap is J(w) and never small")
    lipschitz = lipschitz_constant(x)
    step = 1.0 / lipschitz if lipschitz > 0 else 1.0
    w = x.new_zeros(x.shape[1]) if w0 is None else w0.detach().clone()
    v, t = w.clone(), 1.0
    gap = duality_gap(x, y, w, alpha=alpha, l1_ratio=rho)
    k = 0
    while gap > tol and k < max_steps:
        w_new = _proximal_step(x, y, v, step, alpha, rho)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        if float((v - w_new) @ (w_new - w)) > 0:  # the momentum overshoots: restart it
            v, t_new = w_new.clone(), 1.0
        else:
            v = w_new + (t - 1) / t_new * (w_new - w)
        w, t, k = w_new, t_new, k + 1
        if k % 10 == 0 or k == max_steps:
            gap = duality_gap(x, y, w, alpha=alpha, l1_ratio=rho)
    return Solution(w, gap, k)
