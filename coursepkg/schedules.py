"""Learning-rate schedules as pure functions of the step, and an adapter to PyTorch.

Each schedule maps an optimizer step ``t = 0, 1, 2, ...`` to a learning rate, so it
can be plotted, tested and composed without an optimizer. :func:`lambda_lr` turns
any of them into a :class:`torch.optim.lr_scheduler.LambdaLR`. Past the end of a
finite schedule the rate stays at its final value (PyTorch's schedulers differ there).

A schedule is a plain formula and trusts its arguments: a rate that comes out
negative or not finite is refused by :func:`lambda_lr`, where it would meet an
optimizer. Refused here are only the settings that would divide by zero mid-run or
quietly give another schedule: a decay factor above 1 (``gamma=10`` meant as "divide
by 10" makes the rate grow), a final rate above the first, a warmup as long as the
run, a one-cycle peak outside the run, an unknown ``anneal``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = [
    "cosine_annealing",
    "exponential_decay",
    "lambda_lr",
    "one_cycle",
    "step_decay",
    "warmup_cosine",
]

Schedule = Callable[[int], float]


def _cosine(start: float, end: float, fraction: float) -> float:
    """Go from ``start`` (fraction 0) to ``end`` (fraction 1) along half a cosine."""
    return end + (start - end) * ((1 + math.cos(math.pi * fraction)) / 2)  # ≤ 1: never overflows


def _check_decay(factor: float, name: str) -> None:
    """Refuse a factor that would make a decaying rate grow."""
    if not 0 < factor <= 1:
        raise ValueError(f"{name} must be in (0, 1]: the rate is multiplied by it, got {factor}")


def _check_warmup(warmup_steps: int, total_steps: int) -> None:
    """Refuse a warmup that leaves no step for the cosine (it would divide by zero there)."""
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps must be < total_steps = {total_steps}, got {warmup_steps}")


def step_decay(step: int, *, base_lr: float, step_size: int, gamma: float) -> float:
    r"""Multiply the rate by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}

    Equals :class:`torch.optim.lr_scheduler.StepLR`.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr : float
        The initial rate :math:`\eta_0 > 0`.
    step_size : int
        Steps between two decays, ``>= 1``.
    gamma : float
        The factor, in ``(0, 1]``.

    Returns
    -------
    float
        The learning rate at ``step``.
    """
    _check_decay(gamma, "gamma")
    return base_lr * gamma ** (step // step_size)


def exponential_decay(
    step: int, *, base_lr: float, decay_rate: float, decay_steps: int, staircase: bool = False
) -> float:
    r"""Decay by ``decay_rate`` every ``decay_steps`` steps, smoothly or in stairs.

    .. math:: \eta_t = \eta_0\,r^{t / T} \quad (r^{\lfloor t/T \rfloor} \text{ with staircase})

    This is the form of TensorFlow 1's ``tf.train.exponential_decay``. It equals
    :class:`torch.optim.lr_scheduler.ExponentialLR` with ``gamma = r ** (1 / T)``,
    and with ``staircase=True`` it equals ``StepLR(step_size=T, gamma=r)``.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr : float
        The initial rate, ``> 0``.
    decay_rate : float
        The factor :math:`r` applied per ``decay_steps``, in ``(0, 1]``.
    decay_steps : int
        The period :math:`T`, ``>= 1``.
    staircase : bool, default False
        Decay in whole periods only.

    Returns
    -------
    float
        The learning rate at ``step``.
    """
    _check_decay(decay_rate, "decay_rate")
    exponent = step // decay_steps if staircase else step / decay_steps
    return base_lr * decay_rate**exponent


def cosine_annealing(step: int, *, base_lr: float, total_steps: int, min_lr: float = 0.0) -> float:
    r"""Half a cosine from ``base_lr`` down to ``min_lr`` over ``total_steps`` steps.

    .. math:: \eta_t = \eta_\min + (\eta_0 - \eta_\min)\,\tfrac12\bigl(1 + \cos(\pi t / T)\bigr)

    (Loshchilov & Hutter, 2017, eq. 5, one cycle without restarts.) Equals
    :class:`torch.optim.lr_scheduler.CosineAnnealingLR` with ``T_max = T`` for
    ``t <= T``; afterwards this one stays at ``min_lr``.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr : float
        The initial rate, ``> 0``.
    total_steps : int
        The length :math:`T` of the schedule, ``>= 1``.
    min_lr : float, default 0.0
        The final rate, in ``[0, base_lr]``.

    Returns
    -------
    float
        The learning rate at ``step``.
    """
    if min_lr > base_lr:
        raise ValueError(f"min_lr must be <= base_lr, got {min_lr} > {base_lr}")
    return _cosine(base_lr, min_lr, min(step, total_steps) / total_steps)


def warmup_cosine(
    step: int, *, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0
) -> float:
    r"""Warm up linearly to ``base_lr``, then anneal along a cosine to ``min_lr``.

    During warmup (Goyal et al., 2017) the rate climbs linearly,
    :math:`\eta_t = \eta_0 (t + 1) / W` for :math:`t < W`, so the first step is
    already non-zero and step :math:`W - 1` reaches :math:`\eta_0`. The remaining
    :math:`T - W` steps follow :func:`cosine_annealing`. Equals PyTorch's
    ``SequentialLR([LinearLR(start_factor=1/W, total_iters=W - 1),
    CosineAnnealingLR(T_max=T - W)], milestones=[W])``.

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    base_lr : float
        The peak rate, ``> 0``.
    warmup_steps : int
        The warmup length :math:`W`, ``0 <= W < total_steps`` (0: no warmup).
    total_steps : int
        The length :math:`T` of the whole schedule, ``>= 1``.
    min_lr : float, default 0.0
        The final rate, in ``[0, base_lr]``.

    Returns
    -------
    float
        The learning rate at ``step``.

    Raises
    ------
    ValueError
        If ``warmup_steps >= total_steps``: no step would be left for the cosine.
    """
    _check_warmup(warmup_steps, total_steps)
    if step < warmup_steps:
        return base_lr * ((step + 1) / warmup_steps)  # never above base_lr, to the last bit
    t, length = step - warmup_steps, total_steps - warmup_steps
    return cosine_annealing(t, base_lr=base_lr, total_steps=length, min_lr=min_lr)


def one_cycle(
    step: int,
    *,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
) -> float:
    r"""Smith's one-cycle policy: up from ``max_lr / div_factor`` to ``max_lr``, then far down.

    The rate rises over the first ``pct_start`` of the run, from
    :math:`\eta_\max / d` to :math:`\eta_\max`, and falls over the rest to
    :math:`\eta_\max / (d \cdot d_\text{final})` (Smith & Topin, 2019). The
    phases meet at step :math:`p T - 1` and the last step is :math:`T - 1`, as in
    :class:`torch.optim.lr_scheduler.OneCycleLR`, which this equals for the
    learning rate (PyTorch also cycles the momentum, which this function does not).

    Parameters
    ----------
    step : int
        The step, ``>= 0``.
    max_lr : float
        The peak rate, ``> 0``.
    total_steps : int
        The length :math:`T` of the run, ``>= 2``.
    pct_start : float, default 0.3
        The fraction :math:`p` of the run spent rising, in ``(0, 1)``; the rise must
        last at least one step and end before the last one.
    div_factor : float, default 25.0
        The start rate is ``max_lr / div_factor``; ``>= 1``.
    final_div_factor : float, default 1e4
        The end rate is the start rate divided by this; ``>= 1``.
    anneal : {"cos", "linear"}, default "cos"
        The shape of both phases.

    Returns
    -------
    float
        The learning rate at ``step``; it stays at the end rate past ``T - 1``.

    Raises
    ------
    ValueError
        If the peak step ``pct_start * total_steps - 1`` is not strictly between 0
        and ``total_steps - 1`` (e.g. ``pct_start=30`` meant as a percentage), or
        if ``anneal`` is neither ``"cos"`` nor ``"linear"``.
    """
    peak_step = pct_start * total_steps - 1
    if not 0 < peak_step < total_steps - 1:
        raise ValueError(
            f"pct_start * total_steps - 1 must lie strictly between 0 and total_steps - 1 "
            f"= {total_steps - 1}, got pct_start = {pct_start}"
        )
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal must be 'cos' or 'linear', got {anneal!r}")
    start_lr, end_lr = max_lr / div_factor, max_lr / div_factor / final_div_factor
    if step <= peak_step:
        begin, end, fraction = start_lr, max_lr, step / peak_step
    else:
        fraction = (min(step, total_steps - 1) - peak_step) / (total_steps - 1 - peak_step)
        begin, end = max_lr, end_lr
    if anneal == "linear":
        return begin + (end - begin) * fraction
    return _cosine(begin, end, fraction)


def lambda_lr(
    optimizer: torch.optim.Optimizer, schedule: Schedule
) -> torch.optim.lr_scheduler.LambdaLR:
    """Drive ``optimizer`` by ``schedule(step) -> lr``, one call per optimizer step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer; its first parameter group's current rate is the reference:
        that group gets exactly ``schedule(step)``, and any other group keeps its
        ratio to the first (e.g. a smaller rate for a pretrained backbone).
    schedule : callable
        ``schedule(step) -> float``, e.g.
        ``functools.partial(cosine_annealing, base_lr=0.1, total_steps=500)``.

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR
        Call its ``step()`` after every ``optimizer.step()`` (``fit`` does this with
        ``scheduler_interval="step"``). On creation it sets the rate of step 0.

    Raises
    ------
    ValueError
        If the optimizer's learning rate is 0 (there would be no ratio to keep), or,
        at the step where it happens, if ``schedule`` returns a rate that is negative
        or not finite (an optimizer would take it without complaint).
    """
    reference = optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"])
    if not reference > 0:
        raise ValueError(f"the optimizer's learning rate must be > 0, got {reference}")

    def factor(step: int) -> float:
        lr = schedule(step)
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"schedule({step}) returned {lr}; a rate must be finite and >= 0")
        return lr / reference

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
