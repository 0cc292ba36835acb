"""Tests of ``scheduler`` and ``scheduler_interval``, arguments of :func:`coursepkg.training.fit`.

Notes
-----
The schedules come from :mod:`coursepkg.schedules` through
:func:`~coursepkg.schedules.lambda_lr`, so the rate expected after ``n`` scheduler
steps is simply ``schedule(n)``. ``ReduceLROnPlateau`` is checked on a frozen
model whose validation losses are scripted.
"""

import functools
import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim import lr_scheduler

from coursepkg.schedules import cosine_annealing, lambda_lr, step_decay
from coursepkg.training import fit

SCHEDULE = functools.partial(cosine_annealing, base_lr=0.1, total_steps=50, min_lr=1e-3)


class ScriptedLoader:
    """One-batch validation loader: each pass yields the next scripted loss as the MSE
    of a zero output."""

    def __init__(self, losses):
        self._losses = iter(losses)

    def __iter__(self):
        yield torch.zeros(1, 1), torch.full((1, 1), math.sqrt(next(self._losses)))


def frozen_fit(optimizer_lr, val_losses, make_scheduler, *, epochs, **kwargs):
    """Fit a zero model that cannot change (its gradient is zero, its training loss 0)
    so that the validation losses are ``val_losses``; return (history, optimizer)."""
    model = nn.Linear(1, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=optimizer_lr)
    val_loader = None if val_losses is None else ScriptedLoader(val_losses)
    history = fit(
        model,
        [(torch.zeros(1, 1), torch.zeros(1, 1))],
        epochs=epochs,
        optimizer=optimizer,
        loss_fn=F.mse_loss,
        val_loader=val_loader,
        scheduler=make_scheduler(optimizer),
        progress=False,
        **kwargs,
    )
    return history, optimizer


@pytest.fixture
def linear():
    torch.manual_seed(0)
    return nn.Linear(4, 3)


# --- per-step and per-epoch schedules -----------------------------------------------------


@pytest.mark.parametrize("epochs", [1, 3, 5])
@pytest.mark.parametrize("optimizer_lr", [0.1, 1.0])
def test_step_interval_steps_the_scheduler_after_every_batch(
    linear, blob_loaders, epochs, optimizer_lr
):
    train, val = blob_loaders
    batches = len(train)  # 4
    optimizer = torch.optim.SGD(linear.parameters(), lr=optimizer_lr)
    fit(
        linear,
        train,
        epochs=epochs,
        optimizer=optimizer,
        val_loader=val,
        scheduler=lambda_lr(optimizer, SCHEDULE),
        scheduler_interval="step",
        progress=False,
    )
    assert optimizer.param_groups[0]["lr"] == pytest.approx(SCHEDULE(epochs * batches), rel=1e-12)


@pytest.mark.parametrize("epochs", [1, 3, 5])
def test_epoch_interval_steps_the_scheduler_once_per_epoch(linear, blob_loaders, epochs):
    train, val = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    fit(
        linear,
        train,
        epochs=epochs,
        optimizer=optimizer,
        val_loader=val,
        scheduler=lambda_lr(optimizer, SCHEDULE),
        scheduler_interval="epoch",
        progress=False,
    )
    assert optimizer.param_groups[0]["lr"] == pytest.approx(SCHEDULE(epochs), rel=1e-12)


def test_epoch_is_the_default_interval(linear, blob_loaders):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    schedule = functools.partial(step_decay, base_lr=0.1, step_size=1, gamma=0.5)
    fit(
        linear,
        train,
        epochs=3,
        optimizer=optimizer,
        scheduler=lambda_lr(optimizer, schedule),
        progress=False,
    )
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3, rel=1e-12)


@pytest.mark.parametrize(("interval", "steps_per_epoch"), [("step", 4), ("epoch", 1)])
def test_history_lr_is_the_rate_at_the_start_of_each_epoch(
    linear, blob_loaders, interval, steps_per_epoch
):
    train, val = blob_loaders
    assert len(train) == 4
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    history = fit(
        linear,
        train,
        epochs=6,
        optimizer=optimizer,
        val_loader=val,
        scheduler=lambda_lr(optimizer, SCHEDULE),
        scheduler_interval=interval,
        progress=False,
    )
    expected = [SCHEDULE(e * steps_per_epoch) for e in range(6)]
    assert history.lr == pytest.approx(expected, rel=1e-12)


def test_history_lr_without_a_scheduler_is_constant(linear, blob_loaders):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.03)
    history = fit(linear, train, epochs=3, optimizer=optimizer, progress=False)
    assert history.lr == [0.03] * 3
    assert optimizer.param_groups[0]["lr"] == 0.03


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_a_torch_scheduler_works_too(linear, blob_loaders, interval):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    fit(
        linear,
        train,
        epochs=3,
        optimizer=optimizer,
        scheduler=scheduler,
        scheduler_interval=interval,
        progress=False,
    )
    steps = 3 * len(train) if interval == "step" else 3
    assert scheduler.last_epoch == steps
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** (steps // 2))


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_schedulers_step_after_the_optimizer_without_warnings(linear, blob_loaders, interval):
    train, val = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    scheduler = lambda_lr(optimizer, SCHEDULE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "lr_scheduler.step() before optimizer.step()"
        fit(
            linear,
            train,
            epochs=2,
            optimizer=optimizer,
            val_loader=val,
            scheduler=scheduler,
            scheduler_interval=interval,
            progress=False,
        )


# --- ReduceLROnPlateau --------------------------------------------------------------------


def _plateau(optimizer):
    return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)


def test_plateau_halves_the_rate_when_the_validation_loss_stalls():
    history, optimizer = frozen_fit(0.1, [1.0] * 4, _plateau, epochs=4)
    # epoch 1 sets the best loss; epochs 2, 3 and 4 do not improve on it
    assert history.lr == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_plateau_watches_the_validation_loss_not_the_training_loss():
    # the training loss is 0 at every epoch (a plateau); the validation loss improves
    history, optimizer = frozen_fit(0.1, [4.0, 3.0, 2.0, 1.0], _plateau, epochs=4)
    assert history.train_loss == [0.0] * 4
    assert history.lr == [0.1] * 4
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_plateau_reduces_once_the_validation_loss_stops_improving():
    history, optimizer = frozen_fit(0.1, [3.0, 2.0, 2.5, 2.5, 1.0], _plateau, epochs=5)
    assert history.lr == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


def test_plateau_watches_the_training_loss_without_validation_data():
    history, optimizer = frozen_fit(0.1, None, _plateau, epochs=3)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


# --- bad input ----------------------------------------------------------------------------


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_bad_scheduler_interval_is_refused_before_training(linear, blob_loaders):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    before = _params(linear).clone()
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        fit(
            linear,
            train,
            epochs=1,
            optimizer=optimizer,
            scheduler=lambda_lr(optimizer, SCHEDULE),
            scheduler_interval="batch",  # would otherwise step once per epoch, silently
            progress=False,
        )
    assert torch.equal(_params(linear), before)


@pytest.mark.parametrize("interval", ["step", "epoch"])
def test_scheduler_interval_alone_is_accepted(linear, blob_loaders, interval):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    history = fit(
        linear, train, epochs=1, optimizer=optimizer, scheduler_interval=interval, progress=False
    )
    assert history.lr == [0.1]


def test_a_schedule_not_wrapped_by_lambda_lr_is_refused_before_training(linear, blob_loaders):
    train, _ = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    before = _params(linear).clone()
    with pytest.raises(TypeError, match="scheduler must be a torch"):
        fit(linear, train, epochs=1, optimizer=optimizer, scheduler=SCHEDULE, progress=False)
    assert torch.equal(_params(linear), before)
