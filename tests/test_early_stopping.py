"""Unit tests of :mod:`coursepkg.early_stopping`; its use inside ``fit`` is in test_training."""

import math

import pytest
import torch
from torch import nn

from coursepkg.early_stopping import EarlyStopping


@pytest.mark.parametrize(
    ("losses", "patience", "kwargs", "decisions"),
    [
        ([1.0, 0.8, 0.9, 0.85, 0.95], 3, {}, [False] * 4 + [True]),
        ([0.5, 0.6, 0.4, 0.45, 0.5], 2, {}, [False] * 4 + [True]),
        ([1.0, 1.0, 1.0], 2, {}, [False, False, True]),  # equal is no improvement
        ([2.0, 1.0], 1, {}, [False, False]),
        ([1.0, 0.95, 0.9], 2, {"min_delta": 0.1}, [False, False, True]),
        ([1.0, 0.85, 0.8], 2, {"min_delta": 0.1}, [False, False, False]),
    ],
)
def test_early_stopping_step_decisions(losses, patience, kwargs, decisions):
    stopper, model = EarlyStopping(patience, **kwargs), nn.Linear(1, 1)
    assert [stopper.step(loss, model) for loss in losses] == decisions


def test_early_stopping_restores_the_weights_of_the_best_step():
    stopper, model = EarlyStopping(2), nn.Linear(2, 1)
    for fill, loss in [(1.0, 0.9), (2.0, 0.5), (3.0, 0.7)]:
        nn.init.constant_(model.weight, fill)
        stopper.step(loss, model)
    stopper.restore(model)
    assert torch.equal(model.weight, torch.full((1, 2), 2.0))


def test_early_stopping_without_restore_best_keeps_the_weights():
    stopper, model = EarlyStopping(2, restore_best=False), nn.Linear(2, 1)
    stopper.step(0.5, model)
    nn.init.constant_(model.weight, 7.0)
    stopper.step(0.9, model)
    stopper.restore(model)
    assert stopper.best_state is None
    assert torch.equal(model.weight, torch.full((1, 2), 7.0))


def test_early_stopping_reset_forgets_the_previous_run():
    stopper, model = EarlyStopping(1), nn.Linear(1, 1)
    stopper.step(0.1, model)
    assert stopper.step(0.2, model) is True
    stopper.reset()
    assert (stopper.best_loss, stopper.wait, stopper.best_state) == (math.inf, 0, None)
    assert stopper.step(5.0, model) is False  # the first loss of a new run is an improvement
