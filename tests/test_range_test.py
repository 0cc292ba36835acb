"""Tests of :mod:`coursepkg.range_test`: the learning-rate range test and its record.

Notes
-----
The tests run a few dozen steps of a small MLP on 300 digits, so the file takes
well under a few seconds.
"""

import inspect
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from coursepkg.data import make_loader
from coursepkg.models import mlp
from coursepkg.range_test import RangeTest, lr_range_test


class RecordingSGD(torch.optim.SGD):
    """SGD that records the rate of its first parameter group at every step."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, closure=None):
        self.seen.append(self.param_groups[0]["lr"])
        return super().step(closure)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return mlp([64, 32, 10])


@pytest.fixture
def loader(digits):
    return make_loader(digits.x_train, digits.y_train, batch_size=32, seed=0)


@pytest.fixture
def ordered_loader(digits):
    return make_loader(digits.x_train, digits.y_train, batch_size=32, shuffle=False)


def _snapshot(state_dict):
    """A deep copy of a model's state_dict."""
    return {key: value.detach().clone() for key, value in state_dict.items()}


def _assert_same_tensors(before, after):
    assert before.keys() == after.keys()
    for key in before:
        assert torch.equal(before[key], after[key]), key


# --- the record ---------------------------------------------------------------------------


@pytest.mark.parametrize(("min_lr", "max_lr", "num_steps"), [(1e-4, 1.0, 20), (1e-3, 0.1, 2)])
def test_rates_rise_geometrically_from_min_lr_to_max_lr(model, loader, min_lr, max_lr, num_steps):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_range_test(
        model, loader, optimizer, min_lr=min_lr, max_lr=max_lr, num_steps=num_steps
    )
    assert not result.diverged
    assert len(result.lr) == len(result.loss) == len(result.smoothed) == num_steps
    assert result.lr[0] == pytest.approx(min_lr, rel=1e-12)
    assert result.lr[-1] == pytest.approx(max_lr, rel=1e-12)
    ratio = (max_lr / min_lr) ** (1 / (num_steps - 1))
    np.testing.assert_allclose(result.lr[1:] / result.lr[:-1], ratio, rtol=1e-12)


def test_each_step_uses_its_rate(model, loader):
    optimizer = RecordingSGD(model.parameters(), lr=0.01)
    result = lr_range_test(model, loader, optimizer, min_lr=1e-3, max_lr=0.5, num_steps=15)
    np.testing.assert_allclose(optimizer.seen, result.lr, rtol=1e-12)


def test_losses_are_the_batch_losses_before_each_update(model, ordered_loader):
    x, y = next(iter(ordered_loader))
    with torch.no_grad():
        first = F.cross_entropy(model(x), y).item()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_range_test(model, ordered_loader, optimizer, min_lr=1e-3, max_lr=0.1, num_steps=5)
    assert result.loss[0] == pytest.approx(first, rel=1e-6)
    assert np.all(np.isfinite(result.loss))


def test_smoothed_is_the_bias_corrected_moving_average(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    beta = 0.8
    result = lr_range_test(model, loader, optimizer, max_lr=1.0, num_steps=12, beta=beta)
    average, expected = 0.0, []
    for i, loss in enumerate(result.loss):
        average = beta * average + (1 - beta) * loss
        expected.append(average / (1 - beta ** (i + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    assert result.smoothed[0] == pytest.approx(result.loss[0], rel=1e-12)


def test_test_cycles_through_a_loader_shorter_than_the_test(model, digits):
    short = make_loader(digits.x_train[:64], digits.y_train[:64], batch_size=32, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_range_test(model, short, optimizer, min_lr=1e-4, max_lr=1e-2, num_steps=7)
    assert len(result.loss) == 7


# --- no trace left ------------------------------------------------------------------------


def test_restores_the_model_and_a_fresh_optimizer_exactly(digits):
    torch.manual_seed(0)
    model = mlp([64, 32, 10], batch_norm=True)  # buffers too: running mean and variance
    loader = make_loader(digits.x_train, digits.y_train, batch_size=32, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    model_before = _snapshot(model.state_dict())
    groups_before = optimizer.state_dict()["param_groups"]
    lr_range_test(model, loader, optimizer, min_lr=1e-3, max_lr=1.0, num_steps=10)
    _assert_same_tensors(model_before, model.state_dict())
    assert optimizer.state_dict()["param_groups"] == groups_before
    assert optimizer.state_dict()["state"] == {}  # no momentum buffer left behind


def test_restores_the_momentum_buffers_of_a_used_optimizer(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for x, y in list(loader)[:3]:  # give the optimizer some state
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    model_before = _snapshot(model.state_dict())
    state_before = optimizer.state_dict()
    buffers_before = {i: s["momentum_buffer"].clone() for i, s in state_before["state"].items()}
    assert buffers_before  # the check below is not vacuous
    lr_range_test(model, loader, optimizer, min_lr=1e-3, max_lr=1.0, num_steps=10)
    _assert_same_tensors(model_before, model.state_dict())
    state_after = optimizer.state_dict()
    assert state_after["param_groups"] == state_before["param_groups"]
    assert state_after["state"].keys() == buffers_before.keys()
    for i, buffer in buffers_before.items():
        assert torch.equal(state_after["state"][i]["momentum_buffer"], buffer)
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_restores_the_state_after_diverging(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = _snapshot(model.state_dict())
    result = lr_range_test(model, loader, optimizer, min_lr=1e-3, max_lr=1e6, num_steps=40)
    assert result.diverged
    _assert_same_tensors(before, model.state_dict())
    assert optimizer.param_groups[0]["lr"] == 0.05


def test_keeps_the_model_in_eval_mode(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.eval()
    lr_range_test(model, loader, optimizer, num_steps=3)
    assert not model.training


# --- divergence and the suggestion --------------------------------------------------------


def test_stops_early_when_the_loss_blows_up(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    min_lr, max_lr, num_steps = 1e-3, 1e6, 40
    result = lr_range_test(
        model, loader, optimizer, min_lr=min_lr, max_lr=max_lr, num_steps=num_steps
    )
    assert result.diverged
    n = len(result.lr)
    assert 2 <= n < num_steps
    assert len(result.loss) == len(result.smoothed) == n
    full = min_lr * (max_lr / min_lr) ** (np.arange(num_steps) / (num_steps - 1))
    np.testing.assert_allclose(result.lr, full[:n], rtol=1e-12)
    last = result.smoothed[-1]
    assert not math.isfinite(last) or last > 4.0 * np.nanmin(result.smoothed[:-1])


def test_a_larger_diverge_factor_runs_longer(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    kwargs = {"min_lr": 1e-3, "max_lr": 1e6, "num_steps": 40}
    early = lr_range_test(model, loader, optimizer, diverge_factor=1.5, **kwargs)
    late = lr_range_test(model, loader, optimizer, diverge_factor=50.0, **kwargs)
    assert len(early.lr) <= len(late.lr)


def test_lr_at_minimum_is_the_rate_of_the_lowest_smoothed_loss(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    result = lr_range_test(model, loader, optimizer, min_lr=1e-3, max_lr=1e3, num_steps=30)
    assert result.lr_at_minimum in result.lr
    assert result.lr_at_minimum == result.lr[np.nanargmin(result.smoothed)]


def _record(lr, smoothed):
    lr, smoothed = np.asarray(lr, dtype=float), np.asarray(smoothed, dtype=float)
    return RangeTest(lr=lr, loss=smoothed.copy(), smoothed=smoothed, diverged=False)


def test_lr_at_minimum_skips_nan_losses():
    record = _record([0.01, 0.1, 1.0, 10.0], [2.0, 0.5, 1.0, math.nan])
    assert record.lr_at_minimum == 0.1


def test_suggestion_divides_lr_at_minimum():
    record = _record([0.01, 0.1, 1.0], [2.0, 0.5, 1.0])
    assert record.suggestion(4) == pytest.approx(0.1 / 4, rel=1e-12)
    default = inspect.signature(RangeTest.suggestion).parameters["divisor"].default
    assert record.suggestion() == pytest.approx(0.1 / default, rel=1e-12)


# --- bad input ----------------------------------------------------------------------------


def test_rejects_a_falling_range_before_any_step(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = _snapshot(model.state_dict())
    with pytest.raises(ValueError, match="0 < min_lr < max_lr"):
        lr_range_test(model, loader, optimizer, max_lr=1e-5, num_steps=5)  # min_lr is 1e-4
    _assert_same_tensors(before, model.state_dict())


def test_uses_the_given_loss_fn(model, loader):
    calls = []

    def loss_fn(outputs, targets):
        calls.append(outputs.shape)
        return F.cross_entropy(outputs, targets)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    lr_range_test(model, loader, optimizer, num_steps=4, loss_fn=loss_fn)
    assert len(calls) == 4
    assert all(shape[1] == 10 for shape in calls)
