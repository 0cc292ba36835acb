"""Cyclical schedules: warm restarts, the triangular cycle, and one-cycle's momentum.

Like :mod:`coursepkg.schedules`, each is a pure function of the optimizer step
``t = 0, 1, 2, ...``, to be driven through :func:`coursepkg.schedules.lambda_lr`.
Unlike those, these schedules go up as well as down (:ref:`ch-schedules`).
"""

from __future__ import annotations

from coursepkg.schedules import _cosine

__all__ = ["cosine_warm_restarts", "one_cycle_momentum", "triangular"]


def cosine_warm_restarts(
    step: int, *, base_lr: float, period: int, period_mult: int = 1, min_lr: float = 0.0
) -> float:
    r"""SGDR: cosine annealing that restarts at ``base_lr`` after every period.

    .. math:: \eta_t = \eta_\min
       + (\eta_0 - \eta_\min)\tfrac12\bigl(1 + \cos(\pi\,t_\text{cur}/T_i)\bigr)

    with :math:`t_\text{cur}` the steps since the last restart and :math:`T_i` the
    current period, which starts at ``period`` and is multiplied by ``period_mult``
    at each restart (Loshchilov & Hutter, 2017, eq. 5). Equals
    :class:`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr : float
        The rate at every restart, :math:`\eta_0 > 0`.
    period : int
        The first period :math:`T_0`, ``>= 1``.
    period_mult : int, default 1
        :math:`T_\text{mult}`, ``>= 1``: each period is this many times the previous.
    min_lr : float, default 0.0
        The rate :math:`\eta_\min` that each period anneals towards.

    Returns
    -------
    float
        The learning rate at ``step``.

    Raises
    ------
    ValueError
        If ``period < 1`` or ``period_mult < 1`` (the restarts would never come).
    """
    if period < 1 or period_mult < 1:
        raise ValueError(f"need period >= 1 and period_mult >= 1, got {period}, {period_mult}")
    t_cur, t_i = step, period
    if period_mult == 1:
        t_cur = step % period
    while t_cur >= t_i:  # only when the periods grow: O(log step) iterations
        t_cur, t_i = t_cur - t_i, t_i * period_mult
    return _cosine(base_lr, min_lr, t_cur / t_i)


def triangular(step: int, *, base_lr: float, max_lr: float, step_size: int) -> float:
    r"""Smith's triangular cyclical rate: linearly up to ``max_lr`` and back, forever.

    .. math:: \eta_t = \eta_\text{base} + (\eta_\max - \eta_\text{base})\max(0, 1 - x),
       \quad x = \bigl|t/s - 2\lfloor 1 + t/(2s) \rfloor + 1\bigr|

    (Smith, 2017, the triangular policy), with :math:`s` the half-cycle ``step_size``.
    Equals :class:`torch.optim.lr_scheduler.CyclicLR` with ``mode="triangular"``.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr, max_lr : float
        The lowest and the highest rate, ``0 <= base_lr <= max_lr``.
    step_size : int
        Steps from the lowest rate to the highest, ``>= 1``.

    Returns
    -------
    float
        The learning rate at ``step``.

    Raises
    ------
    ValueError
        If ``step_size < 1`` or ``base_lr > max_lr`` (the cycle would run upside down).
    """
    if step_size < 1 or base_lr > max_lr:
        raise ValueError(
            f"need step_size >= 1 and base_lr <= max_lr, got {step_size}, {base_lr} > {max_lr}"
        )
    cycle = (1 + step / (2 * step_size)) // 1
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def one_cycle_momentum(
    step: int,
    *,
    total_steps: int,
    pct_start: float = 0.3,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> float:
    r"""Return one-cycle's momentum: down while the rate rises, up while it falls.

    From ``max_momentum`` at step 0 down to ``base_momentum`` at the rate's peak
    (step :math:`pT - 1`), then back to ``max_momentum`` at step :math:`T - 1`, along
    half cosines (Smith, 2018). Equals the momentum that
    :class:`torch.optim.lr_scheduler.OneCycleLR` sets with ``cycle_momentum=True``;
    it is the mirror image of :func:`coursepkg.schedules.one_cycle`.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    total_steps : int
        The length :math:`T` of the run.
    pct_start : float, default 0.3
        The fraction :math:`p` of the run during which the rate rises.
    base_momentum, max_momentum : float, default 0.85, 0.95
        The lowest and the highest momentum.

    Returns
    -------
    float
        The momentum at ``step``; it stays at ``max_momentum`` past ``T - 1``.

    Raises
    ------
    ValueError
        If the peak step ``pct_start * total_steps - 1`` is not strictly between 0
        and ``total_steps - 1``.
    """
    peak_step = pct_start * total_steps - 1
    if not 0 < peak_step < total_steps - 1:
        raise ValueError(
            f"pct_start * total_steps - 1 must lie strictly between 0 and total_steps - 1 "
            f"= {total_steps - 1}, got pct_start = {pct_start}"
        )
    if step <= peak_step:
        return _cosine(max_momentum, base_momentum, step / peak_step)
    fraction = (min(step, total_steps - 1) - peak_step) / (total_steps - 1 - peak_step)
    return _cosine(base_momentum, max_momentum, fraction)
