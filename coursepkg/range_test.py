"""The learning-rate range test (Smith, 2017): raise the rate every step, watch the loss."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from coursepkg._checks import check_fraction, check_loader, check_positive_int, check_type
from coursepkg.training import Batch, LossFn

__all__ = ["RangeTest", "lr_range_test"]


@dataclass(frozen=True)
class RangeTest:
    """The record of one range test: the rate and the loss of every step taken.

    Attributes
    ----------
    lr : numpy.ndarray
        The rate used at each step, rising geometrically.
    loss : numpy.ndarray
        The training loss of each step's batch (before that step's update).
    smoothed : numpy.ndarray
        ``loss`` smoothed by a bias-corrected exponential moving average.
    diverged : bool
        Whether the test stopped early because the loss blew up.
    """

    lr: np.ndarray
    loss: np.ndarray
    smoothed: np.ndarray
    diverged: bool

    @property
    def lr_at_minimum(self) -> float:
        """Rate at which the smoothed loss was lowest, the edge of what still trains."""
        return float(self.lr[np.nanargmin(self.smoothed)])

    def suggestion(self, divisor: float = 2.0) -> float:
        """Return a peak rate for a decaying schedule: :attr:`lr_at_minimum` / ``divisor``.

        Beyond the minimum the loss blows up, so the peak is taken a little lower.
        It is a *peak*: a schedule spends most steps below it, and held constant
        it may be too high (:ref:`ch-schedules` measures both).
        """
        if isinstance(divisor, bool) or not (isinstance(divisor, (int, float)) and divisor >= 1):
            raise ValueError(f"divisor must be a number >= 1, got {divisor!r}")
        return self.lr_at_minimum / divisor


def lr_range_test(
    model: nn.Module,
    loader: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    *,
    min_lr: float = 1e-4,
    max_lr: float = 10.0,
    num_steps: int = 100,
    loss_fn: LossFn | None = None,
    beta: float = 0.9,
    diverge_factor: float = 4.0,
) -> RangeTest:
    """Train for ``num_steps`` steps with a rate rising from ``min_lr`` to ``max_lr``.

    The rate grows geometrically, ``min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))``,
    cycling through ``loader`` as often as needed. The test stops early when the
    smoothed loss exceeds ``diverge_factor`` times its minimum or is not finite.
    The model's and the optimizer's states are restored afterwards, so the test
    leaves no trace.

    Parameters
    ----------
    model : torch.nn.Module
        The model to probe.
    loader : iterable of tuple
        Training batches ``(inputs, targets)``.
    optimizer : torch.optim.Optimizer
        An optimizer over the model's parameters (its own rate is overridden).
    min_lr, max_lr : float
        The first and the last rate, ``0 < min_lr < max_lr``.
    num_steps : int, default 100
        The number of steps, ``>= 2``.
    loss_fn : callable, optional
        ``loss_fn(outputs, targets)``; cross-entropy when not given.
    beta : float, default 0.9
        The smoothing factor of the moving average, in ``[0, 1)``.
    diverge_factor : float, default 4.0
        Stop once the smoothed loss exceeds this multiple of its minimum; ``> 1``.

    Returns
    -------
    RangeTest
        The rates, the losses and where the loss was lowest.
    """
    check_type(model, nn.Module, "model", "torch.nn.Module")
    check_type(optimizer, torch.optim.Optimizer, "optimizer", "torch.optim.Optimizer")
    check_loader(loader, "loader")
    if any(isinstance(lr, bool) or not isinstance(lr, (int, float)) for lr in (min_lr, max_lr)):
        raise TypeError("min_lr and max_lr must be numbers")
    if not 0 < min_lr < max_lr < math.inf:
        raise ValueError(f"need 0 < min_lr < max_lr < inf, got min_lr={min_lr}, max_lr={max_lr}")
    num_steps = check_positive_int(num_steps, "num_steps", minimum=2)
    if check_fraction(beta, "beta") == 1:
        raise ValueError("beta must be < 1")
    if not (isinstance(diverge_factor, (int, float)) and diverge_factor > 1):
        raise ValueError(f"diverge_factor must be a number > 1, got {diverge_factor!r}")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    device = next(model.parameters()).device
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    rates = min_lr * (max_lr / min_lr) ** (np.arange(num_steps) / (num_steps - 1))
    losses, smoothed, average, diverged = [], [], 0.0, False
    was_training = model.training
    model.train()
    try:
        batches = itertools.cycle(loader)
        for i, lr in enumerate(rates):
            try:
                x, y = next(batches)
            except StopIteration:
                raise ValueError("loader yielded no batches; it must not be empty") from None
            x, y = x.to(device), y.to(device)
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            average = beta * average + (1 - beta) * losses[-1]
            smoothed.append(average / (1 - beta ** (i + 1)))
            if not math.isfinite(smoothed[-1]) or smoothed[-1] > diverge_factor * min(smoothed):
                diverged = True
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    n = len(losses)
    return RangeTest(rates[:n], np.array(losses), np.array(smoothed), diverged)
