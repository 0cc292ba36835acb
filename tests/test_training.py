import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from coursepkg.data import make_loader
from coursepkg.early_stopping import EarlyStopping
from coursepkg.metrics import accuracy
from coursepkg.models import mlp
from coursepkg.training import History, evaluate, fit


class ScriptedLoader:
    """One-batch validation loader: each pass yields the next scripted loss as the MSE
    of a zero output."""

    def __init__(self, losses):
        self._losses = iter(losses)

    def __iter__(self):
        yield torch.zeros(1, 1), torch.full((1, 1), math.sqrt(next(self._losses)))


def scripted_fit(val_losses, **kwargs):
    """Run fit on a frozen zero model so that the validation losses are ``val_losses``."""
    model = nn.Linear(1, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    kwargs.setdefault("epochs", len(val_losses))
    return fit(
        model,
        [(torch.zeros(1, 1), torch.zeros(1, 1))],
        optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
        loss_fn=F.mse_loss,
        val_loader=ScriptedLoader(val_losses),
        progress=False,
        **kwargs,
    )


@pytest.fixture
def linear():
    torch.manual_seed(0)
    return nn.Linear(4, 3)


def _params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# --- History ----------------------------------------------------------------------------


def test_history_best_reads_the_metric_at_the_best_epoch():
    history = History(epoch=[1, 2, 3], val_loss=[3.0, 1.0, 2.0], val_acc=[0.1, 0.7, 0.5])
    history.best_epoch = 2
    assert history.best() == 1.0
    assert history.best("val_acc") == 0.7


def test_history_best_of_an_empty_history_raises():
    with pytest.raises(ValueError, match="empty"):
        History().best()


# --- evaluate ---------------------------------------------------------------------------


def test_evaluate_equals_cross_entropy_and_accuracy_on_the_whole_set(linear, blobs):
    x, y = blobs
    result = evaluate(linear, make_loader(x, y, batch_size=10, shuffle=False))  # last batch: 6
    with torch.no_grad():
        logits = linear(x)
    assert result["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    assert result["acc"] == pytest.approx(accuracy(logits, y), abs=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_runs_in_eval_mode_and_restores_the_mode(linear, blobs, training):
    x, y = blobs
    model = nn.Sequential(nn.Dropout(0.9), linear).train(training)
    result = evaluate(model, [(x, y)])
    with torch.no_grad():
        expected = F.cross_entropy(linear(x), y).item()
    assert result["loss"] == pytest.approx(expected, rel=1e-6)  # dropout was off
    assert model.training is training


def test_evaluate_with_a_regression_loss_gives_nan_accuracy(blobs):
    x, _ = blobs
    model = nn.Linear(4, 1)
    target = x[:, :1] * 2
    result = evaluate(model, make_loader(x, target, batch_size=32, shuffle=False), F.mse_loss)
    with torch.no_grad():
        assert result["loss"] == pytest.approx(F.mse_loss(model(x), target).item(), rel=1e-6)
    assert math.isnan(result["acc"])


def test_evaluate_rejects_an_empty_loader(linear):
    with pytest.raises(ValueError, match="loader is empty"):
        evaluate(linear, [])


# --- fit --------------------------------------------------------------------------------


def test_fit_records_one_entry_per_epoch_and_learns(linear, blob_loaders):
    train, val = blob_loaders
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.5)
    history = fit(linear, train, epochs=15, optimizer=optimizer, val_loader=val, progress=False)
    assert history.epoch == list(range(1, 16))
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
        assert len(getattr(history, name)) == 15
    assert history.lr == [0.5] * 15
    assert history.best_epoch == int(np.argmin(history.val_loss)) + 1
    assert not history.stopped_early
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] > 0.8


def test_fit_best_epoch_is_the_argmin_of_the_validation_loss_from_one():
    history = scripted_fit([0.5, 0.3, 0.4, 0.2, 0.6, 0.25])
    assert history.val_loss == pytest.approx([0.5, 0.3, 0.4, 0.2, 0.6, 0.25], rel=1e-6)
    assert history.best_epoch == 4
    assert history.best("val_loss") == pytest.approx(0.2, rel=1e-6)


def test_fit_without_validation_watches_the_training_loss(linear, blob_loaders):
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.5)
    history = fit(linear, blob_loaders[0], epochs=4, optimizer=optimizer, progress=False)
    assert all(math.isnan(v) for v in history.val_loss + history.val_acc)
    assert history.best_epoch == int(np.argmin(history.train_loss)) + 1


def test_fit_with_zero_learning_rate_records_the_evaluated_loss(linear, blob_loaders):
    train, _ = blob_loaders
    before = _params(linear)
    expected = evaluate(linear, train)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.0)
    history = fit(linear, train, epochs=3, optimizer=optimizer, progress=False)
    assert history.train_loss == pytest.approx([expected["loss"]] * 3, rel=1e-6)
    assert history.train_acc == pytest.approx([expected["acc"]] * 3, abs=1e-9)
    assert torch.equal(_params(linear), before)


def test_fit_with_a_regression_loss_gives_nan_accuracies(blobs):
    x, _ = blobs
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    loader = make_loader(x, x[:, :1] - x[:, 1:2], batch_size=16)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        loader,
        epochs=5,
        optimizer=optimizer,
        loss_fn=F.mse_loss,
        val_loader=loader,
        progress=False,
    )
    assert all(math.isnan(a) for a in history.train_acc + history.val_acc)
    assert all(math.isfinite(v) for v in history.train_loss + history.val_loss)
    assert history.val_loss[-1] < 0.1 * history.val_loss[0]


def _l2(scale):
    return lambda model: scale * sum(p.pow(2).sum() for p in model.parameters())


def test_fit_adds_the_penalty_to_the_training_objective(blob_loaders):
    norms = []
    for penalty in (None, _l2(5.0)):
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        fit(model, blob_loaders[0], epochs=10, optimizer=optimizer, penalty=penalty, progress=False)
        norms.append(_params(model).norm().item())
    assert norms[1] < 0.1 * norms[0]


def test_fit_records_the_data_loss_without_the_penalty(linear, blob_loaders):
    train, _ = blob_loaders
    expected = evaluate(linear, train)["loss"]
    calls = []

    def penalty(model):
        calls.append(1)
        return _l2(1000.0)(model)

    optimizer = torch.optim.SGD(linear.parameters(), lr=0.0)
    history = fit(linear, train, epochs=2, optimizer=optimizer, penalty=penalty, progress=False)
    assert len(calls) == 2 * len(train)  # once per training batch
    assert history.train_loss == pytest.approx([expected] * 2, rel=1e-6)


def test_fit_steps_the_scheduler_once_per_epoch(linear, blob_loaders):
    optimizer = torch.optim.SGD(linear.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = fit(
        linear, blob_loaders[0], epochs=5, optimizer=optimizer, scheduler=scheduler, progress=False
    )
    assert history.lr == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])
    assert scheduler.last_epoch == 5  # stepped once after each of the 5 epochs


@pytest.mark.parametrize("progress", [False, True])
def test_fit_progress_bar_goes_to_stderr_only_when_asked(linear, blob_loaders, capsys, progress):
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    fit(linear, blob_loaders[0], epochs=2, optimizer=optimizer, progress=progress)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (captured.err != "") is progress


def test_fit_stops_after_patience_epochs_without_improvement():
    losses = [0.5, 0.4, 0.45, 0.42, 0.41, 0.1]
    history = scripted_fit(losses, early_stopping=EarlyStopping(3))
    assert history.stopped_early
    assert history.epoch == [1, 2, 3, 4, 5]
    assert history.best_epoch == 2
    assert not scripted_fit(losses).stopped_early
    assert len(scripted_fit(losses, early_stopping=EarlyStopping(4)).epoch) == 6


def test_fit_resets_the_early_stopping_between_runs():
    stopper = EarlyStopping(2)
    assert scripted_fit([0.1, 0.2, 0.3], early_stopping=stopper).epoch == [1, 2, 3]
    # Without a reset the old best (0.1) would stop this run at its first epoch.
    history = scripted_fit([0.9, 0.8, 0.85, 0.95, 0.7], early_stopping=stopper)
    assert history.epoch == [1, 2, 3, 4]
    assert stopper.best_loss == pytest.approx(0.8, rel=1e-6)


@pytest.fixture
def overfit_setup(blobs):
    """A linear model, its training loader and a validation set whose loss first falls and
    then rises: half its labels are shifted, so growing confidence eventually hurts."""
    x, y = blobs
    val_y = torch.where(torch.arange(96) % 2 == 0, y, (y + 1) % 3)
    val = make_loader(x, val_y, batch_size=96, shuffle=False)

    def start():
        model = nn.Linear(4, 3)
        nn.init.zeros_(model.weight)
        nn.init.zeros_(model.bias)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        return model, make_loader(x, y, batch_size=16, seed=0), optimizer

    return start, val


def _stopped_run(start, val, epochs, stopper):
    """Train a fresh model of ``overfit_setup`` with early stopping."""
    model, train, optimizer = start()
    history = fit(
        model,
        train,
        epochs=epochs,
        optimizer=optimizer,
        val_loader=val,
        early_stopping=stopper,
        progress=False,
    )
    return model, history


def test_fit_restores_the_weights_of_the_best_epoch(overfit_setup):
    start, val = overfit_setup
    model, history = _stopped_run(start, val, 12, EarlyStopping(12))
    assert 1 < history.best_epoch < 12
    assert evaluate(model, val)["loss"] == pytest.approx(history.best("val_loss"), rel=1e-6)
    assert history.best("val_loss") < history.val_loss[-1] - 0.01
    # Training afresh for best_epoch epochs gives exactly the restored weights.
    again, train, optimizer = start()
    fit(again, train, epochs=history.best_epoch, optimizer=optimizer, progress=False)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_fit_without_restore_best_keeps_the_last_weights(overfit_setup):
    start, val = overfit_setup
    model, history = _stopped_run(start, val, 12, EarlyStopping(12, restore_best=False))
    assert evaluate(model, val)["loss"] == pytest.approx(history.val_loss[-1], rel=1e-6)
    assert history.val_loss[-1] > history.best("val_loss") + 0.01


def test_fit_restored_weights_match_best_epoch_with_min_delta(overfit_setup):
    start, val = overfit_setup
    model, history = _stopped_run(start, val, 8, EarlyStopping(8, min_delta=0.01))
    assert evaluate(model, val)["loss"] == pytest.approx(history.best("val_loss"), rel=1e-6)


def test_fit_trains_an_mlp_on_digits(digits):
    torch.manual_seed(0)
    model = mlp([64, 32, 10])
    history = fit(
        model,
        make_loader(digits.x_train, digits.y_train, batch_size=32, seed=0),
        epochs=8,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        val_loader=make_loader(digits.x_val, digits.y_val, batch_size=100, shuffle=False),
        progress=False,
    )
    assert history.val_acc[-1] > 0.85


@pytest.fixture
def fit_kwargs(linear, blob_loaders):
    return {
        "model": linear,
        "train_loader": blob_loaders[0],
        "epochs": 1,
        "optimizer": torch.optim.SGD(linear.parameters(), lr=0.1),
        "progress": False,
    }


def test_fit_rejects_an_empty_train_loader(fit_kwargs):
    with pytest.raises(ValueError, match="train_loader is empty"):
        fit(**{**fit_kwargs, "train_loader": []})


def test_fit_rejects_an_empty_val_loader_before_training(fit_kwargs):
    before = _params(fit_kwargs["model"])
    with pytest.raises(ValueError, match="val_loader is empty"):
        fit(**fit_kwargs, val_loader=[])
    assert torch.equal(_params(fit_kwargs["model"]), before)
