"""The learning-rate range test (Smith, 2017), in fastai's variant: raise the rate every step."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from coursepkg._checks import check_loader
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
        if not divisor >= 1:  # e.g. 0.5 meant as "half" would double the rate
            raise ValueError(f"divisor must be >= 1, got {divisor!r}")
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

    fastai's ``lr_find`` variant of Smith's test (Smith ramps the rate linearly over
    a few epochs and watches the accuracy): take one step per batch, each at a
    higher rate, the rates growing geometrically
    (``numpy.geomspace(min_lr, max_lr, num_steps)``) and the batches cycling
    through ``loader`` as often as needed; record each batch's loss and its
    bias-corrected moving average; stop early once that average
    exceeds ``diverge_factor`` times its minimum or is not finite. The model's and
    the optimizer's states are restored afterwards, so the test leaves no trace.

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

    Raises
    ------
    ValueError
        If ``loader`` is empty, or unless ``0 < min_lr < max_lr`` (a range that
        falls would record a meaningless curve).
    """
    check_loader(loader, "loader")
    if not 0 < min_lr < max_lr:
        raise ValueError(f"need 0 < min_lr < max_lr, got min_lr={min_lr}, max_lr={max_lr}")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    device, was_training = next(model.parameters()).device, model.training
    saved_model = copy.deepcopy(model.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    rates = np.geomspace(min_lr, max_lr, num_steps)
    batches = itertools.cycle(loader)  # as many passes as the steps need
    losses, smoothed, average, diverged = [], [], 0.0, False
    model.train()
    try:
        for i, lr in enumerate(rates):
            x, y = next(batches)
            for group in optimizer.param_groups:
                group["lr"] = float(lr)
            loss = loss_fn(model(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            average = beta * average + (1 - beta) * losses[-1]
            smoothed.append(average / (1 - beta ** (i + 1)))  # bias-corrected, as in Adam
            if not math.isfinite(smoothed[-1]) or smoothed[-1] > diverge_factor * min(smoothed):
                diverged = True  # the loss blew up
                break
    finally:  # leave no trace
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
        model.train(was_training)
    n = len(losses)
    return RangeTest(rates[:n], np.array(losses), np.array(smoothed), diverged)
