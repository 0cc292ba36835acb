"""Early stopping: end training when the validation loss stops improving."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from coursepkg._checks import check_nonnegative, check_positive_int

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience : int
        Epochs without improvement to wait before stopping, ``>= 1``.
    min_delta : float, default 0.0
        An improvement must lower the best loss by more than this; ``>= 0``.
    restore_best : bool, default True
        When training ends, stopped early or not, load the weights of the best
        epoch back into the model.

    Raises
    ------
    TypeError
        If ``patience`` is not an integer or ``min_delta`` not a number.
    ValueError
        If ``patience < 1``, or if ``min_delta`` is negative (a worse loss would
        count as an improvement) or not finite.
    """

    def __init__(self, patience: int, *, min_delta: float = 0.0, restore_best: bool = True):
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = check_nonnegative(min_delta, "min_delta")
        self.restore_best = restore_best
        self.reset()

    def reset(self) -> None:
        """Forget the previous run; :func:`~coursepkg.training.fit` calls this when it starts."""
        self.best_loss = math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch = 0
        self.epoch = 0
        self.wait = 0

    def step(self, loss: float, model: nn.Module) -> bool:
        """Record one epoch's ``loss``; return ``True`` when training should stop."""
        self.epoch += 1
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.wait = loss, self.epoch, 0
            if self.restore_best:
                self.best_state = copy.deepcopy(model.state_dict())
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best weights seen into ``model`` (if ``restore_best``)."""
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)
