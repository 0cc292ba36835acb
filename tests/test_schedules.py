"""Tests of :mod:`coursepkg.schedules`.

Notes
-----
Each schedule is compared step by step with the PyTorch scheduler it claims to
equal, by driving a real optimizer and reading ``param_groups[0]["lr"]``. With
torch 2.13, ``SequentialLR([LinearLR, CosineAnnealingLR])`` matches
:func:`~coursepkg.schedules.warmup_cosine` at every step ``t <= total_steps``;
the only difference is past the end, where ``CosineAnnealingLR`` is periodic and
rises again while the schedules here stay at their final value.

Hypothesis is not available, so the properties (finite, non-negative, bounded,
monotone) are checked over parametrized grids.
"""

import functools
import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler

from coursepkg.schedules import (
    cosine_annealing,
    exponential_decay,
    lambda_lr,
    one_cycle,
    step_decay,
    warmup_cosine,
)

TOL = {"rel": 1e-9, "abs": 1e-15}


def torch_rates(make_scheduler, lr, steps):
    """Rates ``param_groups[0]["lr"]`` of steps ``0 .. steps - 1`` under a torch scheduler."""
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def our_rates(schedule, steps, **kwargs):
    return [schedule(t, **kwargs) for t in range(steps)]


# --- equality with PyTorch's schedulers ---------------------------------------------------


@pytest.mark.parametrize(
    ("base_lr", "step_size", "gamma"),
    [(0.1, 30, 0.1), (1.0, 7, 0.5), (0.05, 1, 0.99), (0.3, 100, 1.0)],
)
def test_step_decay_equals_step_lr(base_lr, step_size, gamma):
    expected = torch_rates(
        lambda opt: lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma), base_lr, 400
    )
    ours = our_rates(step_decay, 400, base_lr=base_lr, step_size=step_size, gamma=gamma)
    assert ours == pytest.approx(expected, **TOL)


EXPONENTIAL_CASES = [(0.1, 0.5, 30), (1.0, 0.96, 1), (0.01, 0.1, 100), (0.2, 1.0, 5)]


@pytest.mark.parametrize(("base_lr", "decay_rate", "decay_steps"), EXPONENTIAL_CASES)
def test_exponential_decay_equals_exponential_lr(base_lr, decay_rate, decay_steps):
    gamma = decay_rate ** (1 / decay_steps)
    expected = torch_rates(lambda opt: lr_scheduler.ExponentialLR(opt, gamma=gamma), base_lr, 400)
    ours = our_rates(
        exponential_decay, 400, base_lr=base_lr, decay_rate=decay_rate, decay_steps=decay_steps
    )
    assert ours == pytest.approx(expected, **TOL)


@pytest.mark.parametrize(("base_lr", "decay_rate", "decay_steps"), EXPONENTIAL_CASES)
def test_staircase_exponential_decay_equals_step_lr(base_lr, decay_rate, decay_steps):
    expected = torch_rates(
        lambda opt: lr_scheduler.StepLR(opt, step_size=decay_steps, gamma=decay_rate),
        base_lr,
        400,
    )
    ours = our_rates(
        exponential_decay,
        400,
        base_lr=base_lr,
        decay_rate=decay_rate,
        decay_steps=decay_steps,
        staircase=True,
    )
    assert ours == pytest.approx(expected, **TOL)


COSINE_CASES = [(0.1, 100, 0.0), (1.0, 333, 1e-3), (0.05, 7, 0.01), (0.4, 500, 0.4), (0.1, 1, 0.0)]


@pytest.mark.parametrize(("base_lr", "total_steps", "min_lr"), COSINE_CASES)
def test_cosine_annealing_equals_cosine_annealing_lr_up_to_total_steps(
    base_lr, total_steps, min_lr
):
    steps = total_steps + 1  # t = 0 .. T
    expected = torch_rates(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=min_lr),
        base_lr,
        steps,
    )
    ours = our_rates(
        cosine_annealing, steps, base_lr=base_lr, total_steps=total_steps, min_lr=min_lr
    )
    assert ours == pytest.approx(expected, **TOL)


@pytest.mark.parametrize(("base_lr", "total_steps", "min_lr"), [(0.1, 100, 0.0), (1.0, 33, 0.01)])
def test_cosine_annealing_stays_at_min_lr_where_torch_rises_again(base_lr, total_steps, min_lr):
    steps = 2 * total_steps + 1
    expected = torch_rates(
        lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=min_lr),
        base_lr,
        steps,
    )
    ours = our_rates(
        cosine_annealing, steps, base_lr=base_lr, total_steps=total_steps, min_lr=min_lr
    )
    assert ours[total_steps:] == [min_lr] * (total_steps + 1)
    # torch's CosineAnnealingLR is periodic: past T_max it climbs back to base_lr at 2 T_max
    assert all(rate > min_lr for rate in expected[total_steps + 1 :])
    assert expected[2 * total_steps] == pytest.approx(base_lr, **TOL)


WARMUP_CASES = [
    (0.1, 10, 100, 0.0),
    (0.5, 5, 300, 1e-3),
    (1.0, 1, 50, 0.01),
    (0.2, 50, 400, 0.0),
    (0.3, 2, 20, 0.3),
    (0.1, 299, 300, 0.0),
]


def _sequential_warmup_cosine(optimizer, warmup_steps, total_steps, min_lr):
    warmup = lr_scheduler.LinearLR(
        optimizer, start_factor=1 / warmup_steps, end_factor=1.0, total_iters=warmup_steps - 1
    )
    cosine = lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=total_steps - warmup_steps, eta_min=min_lr
    )
    return lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])


@pytest.mark.parametrize(("base_lr", "warmup_steps", "total_steps", "min_lr"), WARMUP_CASES)
def test_warmup_cosine_equals_sequential_linear_then_cosine(
    base_lr, warmup_steps, total_steps, min_lr
):
    steps = total_steps + 1  # t = 0 .. T; past T torch's cosine rises again
    expected = torch_rates(
        lambda opt: _sequential_warmup_cosine(opt, warmup_steps, total_steps, min_lr),
        base_lr,
        steps,
    )
    ours = our_rates(
        warmup_cosine,
        steps,
        base_lr=base_lr,
        warmup_steps=warmup_steps,
        total_steps=total_steps,
        min_lr=min_lr,
    )
    assert ours == pytest.approx(expected, **TOL)


@pytest.mark.parametrize(("base_lr", "warmup_steps", "total_steps", "min_lr"), WARMUP_CASES)
def test_warmup_cosine_equals_its_closed_form(base_lr, warmup_steps, total_steps, min_lr):
    def closed_form(t):
        if t < warmup_steps:
            return base_lr * (t + 1) / warmup_steps
        fraction = min(t - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
        return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * fraction)) / 2

    steps = total_steps + 10
    expected = [closed_form(t) for t in range(steps)]
    ours = our_rates(
        warmup_cosine,
        steps,
        base_lr=base_lr,
        warmup_steps=warmup_steps,
        total_steps=total_steps,
        min_lr=min_lr,
    )
    assert ours == pytest.approx(expected, **TOL)


ONE_CYCLE_CASES = [
    (0.5, 100, 0.3, 25.0, 1e4, "cos"),
    (0.5, 100, 0.3, 25.0, 1e4, "linear"),
    (1.0, 500, 0.25, 10.0, 100.0, "linear"),
    (0.1, 333, 0.1, 5.0, 1e3, "cos"),
    (0.3, 7, 0.5, 25.0, 1e4, "linear"),
    (2.0, 250, 0.45, 1.0, 1.0, "cos"),
    (0.05, 300, 0.9, 3.0, 10.0, "cos"),
]


@pytest.mark.parametrize(
    ("max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor", "anneal"),
    ONE_CYCLE_CASES,
)
def test_one_cycle_equals_one_cycle_lr(
    max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal
):
    expected = torch_rates(
        lambda opt: lr_scheduler.OneCycleLR(
            opt,
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            anneal_strategy=anneal,
            cycle_momentum=False,
        ),
        max_lr,
        total_steps,  # OneCycleLR refuses to step past total_steps
    )
    ours = our_rates(
        one_cycle,
        total_steps,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        anneal=anneal,
    )
    assert ours == pytest.approx(expected, **TOL)


# --- edges --------------------------------------------------------------------------------


def test_step_zero_is_the_start_rate():
    assert step_decay(0, base_lr=0.1, step_size=5, gamma=0.5) == 0.1
    assert exponential_decay(0, base_lr=0.1, decay_rate=0.5, decay_steps=5) == 0.1
    assert exponential_decay(0, base_lr=0.1, decay_rate=0.5, decay_steps=5, staircase=True) == 0.1
    assert cosine_annealing(0, base_lr=0.1, total_steps=50, min_lr=0.01) == 0.1
    assert warmup_cosine(0, base_lr=0.1, warmup_steps=4, total_steps=50) == pytest.approx(0.025)
    assert warmup_cosine(0, base_lr=0.1, warmup_steps=0, total_steps=50) == 0.1
    assert one_cycle(0, max_lr=1.0, total_steps=50, div_factor=20.0) == pytest.approx(0.05)


@pytest.mark.parametrize("extra", [0, 1, 7, 10_000])
def test_finite_schedules_stay_at_their_final_value(extra):
    end = 100
    assert cosine_annealing(end + extra, base_lr=0.1, total_steps=end, min_lr=1e-3) == 1e-3
    assert cosine_annealing(end + extra, base_lr=0.1, total_steps=end) == 0.0
    assert warmup_cosine(end + extra, base_lr=0.1, warmup_steps=10, total_steps=end) == 0.0
    assert (
        warmup_cosine(end + extra, base_lr=0.1, warmup_steps=10, total_steps=end, min_lr=2e-3)
        == 2e-3
    )
    for anneal in ("cos", "linear"):
        kwargs = {"max_lr": 1.0, "total_steps": end, "div_factor": 10.0, "anneal": anneal}
        last = one_cycle(end - 1, final_div_factor=100.0, **kwargs)
        assert last == pytest.approx(1e-3, **TOL)
        assert one_cycle(end - 1 + extra, final_div_factor=100.0, **kwargs) == last


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_reaches_max_lr_at_the_peak_step(anneal):
    # pct_start * total_steps - 1 = 29: the phases meet on a whole step
    kwargs = {"max_lr": 0.8, "total_steps": 100, "pct_start": 0.3, "anneal": anneal}
    assert one_cycle(29, **kwargs) == pytest.approx(0.8, **TOL)
    assert max(one_cycle(t, **kwargs) for t in range(100)) == one_cycle(29, **kwargs)


@pytest.mark.parametrize(("total_steps", "min_lr"), [(1, 0.0), (20, 0.0), (300, 0.01)])
def test_warmup_steps_zero_is_plain_cosine_annealing(total_steps, min_lr):
    kwargs = {"base_lr": 0.3, "total_steps": total_steps, "min_lr": min_lr}
    steps = range(total_steps + 3)
    assert [warmup_cosine(t, warmup_steps=0, **kwargs) for t in steps] == [
        cosine_annealing(t, **kwargs) for t in steps
    ]


@pytest.mark.parametrize(("base_lr", "warmup_steps"), [(0.1, 4), (0.3, 10), (1.0, 7), (0.5, 1)])
def test_warmup_reaches_base_lr_at_its_last_step(base_lr, warmup_steps):
    kwargs = {"base_lr": base_lr, "warmup_steps": warmup_steps, "total_steps": 50}
    assert warmup_cosine(warmup_steps - 1, **kwargs) == pytest.approx(base_lr, **TOL)
    assert warmup_cosine(warmup_steps, **kwargs) == base_lr  # the cosine starts at the peak


def test_warmup_ends_exactly_at_base_lr():
    assert warmup_cosine(2, base_lr=0.1, warmup_steps=3, total_steps=10) <= 0.1


@pytest.mark.parametrize("period", [1, 3, 10])
def test_staircase_decays_exactly_at_whole_periods(period):
    kwargs = {"base_lr": 1.0, "decay_rate": 0.5, "decay_steps": period, "staircase": True}
    for k in range(1, 5):
        assert exponential_decay(k * period - 1, **kwargs) == 0.5 ** (k - 1)
        assert exponential_decay(k * period, **kwargs) == 0.5**k
        assert step_decay(k * period - 1, base_lr=1.0, step_size=period, gamma=0.5) == 0.5 ** (
            k - 1
        )
        assert step_decay(k * period, base_lr=1.0, step_size=period, gamma=0.5) == 0.5**k


def test_smooth_exponential_decay_hits_the_staircase_at_whole_periods():
    kwargs = {"base_lr": 0.2, "decay_rate": 0.3, "decay_steps": 8}
    for k in range(6):
        assert exponential_decay(8 * k, **kwargs) == pytest.approx(
            exponential_decay(8 * k, staircase=True, **kwargs), **TOL
        )
    assert exponential_decay(4, **kwargs) == pytest.approx(0.2 * 0.3**0.5, **TOL)


def test_numpy_integer_steps_are_accepted():
    assert step_decay(np.int64(10), base_lr=1.0, step_size=5, gamma=0.5) == 0.25


# --- bad input ----------------------------------------------------------------------------

SCHEDULES = {
    "step_decay": (step_decay, {"base_lr": 0.1, "step_size": 10, "gamma": 0.5}),
    "exponential_decay": (
        exponential_decay,
        {"base_lr": 0.1, "decay_rate": 0.5, "decay_steps": 10},
    ),
    "cosine_annealing": (cosine_annealing, {"base_lr": 0.1, "total_steps": 100, "min_lr": 0.0}),
    "warmup_cosine": (
        warmup_cosine,
        {"base_lr": 0.1, "warmup_steps": 10, "total_steps": 100, "min_lr": 0.0},
    ),
    "one_cycle": (one_cycle, {"max_lr": 0.1, "total_steps": 100}),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize(
    ("step", "error"),
    [(-1, ValueError), (-100, ValueError), (1.0, TypeError), (2.5, TypeError), (True, TypeError),
     (False, TypeError), (None, TypeError), ("3", TypeError), (np.float64(3.0), TypeError)],
)  # fmt: skip
def test_schedules_reject_a_bad_step(name, step, error):
    schedule, kwargs = SCHEDULES[name]
    with pytest.raises(error, match=r"^step\b"):
        schedule(step, **kwargs)


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize(
    ("rate", "error"),
    [(0.0, ValueError), (0, ValueError), (-0.1, ValueError), (math.nan, ValueError),
     (math.inf, ValueError), ("0.1", TypeError), (None, TypeError), (True, TypeError)],
)  # fmt: skip
def test_schedules_reject_a_bad_base_rate(name, rate, error):
    schedule, kwargs = SCHEDULES[name]
    key = "max_lr" if name == "one_cycle" else "base_lr"
    with pytest.raises(error, match=rf"^{key}\b"):
        schedule(5, **{**kwargs, key: rate})


@pytest.mark.parametrize(
    ("name", "override", "error", "argument"),
    [
        # factors outside (0, 1]
        ("step_decay", {"gamma": 0.0}, ValueError, "gamma"),
        ("step_decay", {"gamma": -0.5}, ValueError, "gamma"),
        ("step_decay", {"gamma": 1.5}, ValueError, "gamma"),
        ("step_decay", {"gamma": math.nan}, ValueError, "gamma"),
        ("step_decay", {"gamma": "0.5"}, TypeError, "gamma"),
        ("exponential_decay", {"decay_rate": 0.0}, ValueError, "decay_rate"),
        ("exponential_decay", {"decay_rate": -0.5}, ValueError, "decay_rate"),
        ("exponential_decay", {"decay_rate": 1.01}, ValueError, "decay_rate"),
        ("exponential_decay", {"decay_rate": math.inf}, ValueError, "decay_rate"),
        # lengths < 1
        ("step_decay", {"step_size": 0}, ValueError, "step_size"),
        ("step_decay", {"step_size": -3}, ValueError, "step_size"),
        ("step_decay", {"step_size": 2.0}, TypeError, "step_size"),
        ("exponential_decay", {"decay_steps": 0}, ValueError, "decay_steps"),
        ("exponential_decay", {"decay_steps": 1.5}, TypeError, "decay_steps"),
        ("cosine_annealing", {"total_steps": 0}, ValueError, "total_steps"),
        ("cosine_annealing", {"total_steps": 10.0}, TypeError, "total_steps"),
        ("warmup_cosine", {"total_steps": 0, "warmup_steps": 0}, ValueError, "total_steps"),
        ("one_cycle", {"total_steps": 1}, ValueError, "total_steps"),
        ("one_cycle", {"total_steps": 0}, ValueError, "total_steps"),
        ("one_cycle", {"total_steps": True}, TypeError, "total_steps"),
        # warmup must end before the run does
        ("warmup_cosine", {"warmup_steps": 100}, ValueError, "warmup_steps"),
        ("warmup_cosine", {"warmup_steps": 101}, ValueError, "warmup_steps"),
        ("warmup_cosine", {"warmup_steps": -1}, ValueError, "warmup_steps"),
        ("warmup_cosine", {"warmup_steps": 2.0}, TypeError, "warmup_steps"),
        # min_lr in [0, base_lr]
        ("cosine_annealing", {"min_lr": 0.2}, ValueError, "min_lr"),
        ("cosine_annealing", {"min_lr": -1e-3}, ValueError, "min_lr"),
        ("cosine_annealing", {"min_lr": math.nan}, ValueError, "min_lr"),
        ("cosine_annealing", {"min_lr": "0"}, TypeError, "min_lr"),
        # one_cycle: both phases at least a step, factors >= 1, a known shape
        ("one_cycle", {"pct_start": 0.0}, ValueError, "pct_start"),
        ("one_cycle", {"pct_start": 0.01}, ValueError, "pct_start"),  # peak at step 0
        ("one_cycle", {"pct_start": 0.005}, ValueError, "pct_start"),  # peak before step 0
        ("one_cycle", {"pct_start": 1.0}, ValueError, "pct_start"),  # peak at the last step
        ("one_cycle", {"pct_start": 1.5}, ValueError, "pct_start"),
        ("one_cycle", {"pct_start": math.nan}, ValueError, "pct_start"),
        ("one_cycle", {"total_steps": 10, "pct_start": 0.1}, ValueError, "pct_start"),
        ("one_cycle", {"div_factor": 0.5}, ValueError, "div_factor"),
        ("one_cycle", {"div_factor": 0.0}, ValueError, "div_factor"),
        ("one_cycle", {"div_factor": math.nan}, ValueError, "div_factor"),
        ("one_cycle", {"final_div_factor": 0.99}, ValueError, "final_div_factor"),
        ("one_cycle", {"final_div_factor": -2.0}, ValueError, "final_div_factor"),
        ("one_cycle", {"anneal": "cosine"}, ValueError, "anneal"),
        ("one_cycle", {"anneal": "exp"}, ValueError, "anneal"),
        ("one_cycle", {"anneal": None}, ValueError, "anneal"),
    ],
)
def test_schedules_reject_bad_arguments(name, override, error, argument):
    schedule, kwargs = SCHEDULES[name]
    with pytest.raises(error, match=rf"^{argument}\b"):
        schedule(50, **{**kwargs, **override})


@pytest.mark.parametrize("min_lr", [0.2, math.nan, -1e-3])
def test_warmup_cosine_rejects_a_bad_min_lr_after_warmup(min_lr):
    kwargs = {"base_lr": 0.1, "warmup_steps": 10, "total_steps": 100, "min_lr": min_lr}
    with pytest.raises(ValueError, match=r"^min_lr\b"):
        warmup_cosine(50, **kwargs)


@pytest.mark.parametrize("min_lr", [0.2, math.nan, -1e-3])
def test_warmup_cosine_rejects_a_bad_min_lr_during_warmup(min_lr):
    kwargs = {"base_lr": 0.1, "warmup_steps": 10, "total_steps": 100, "min_lr": min_lr}
    with pytest.raises(ValueError, match=r"^min_lr\b"):
        warmup_cosine(0, **kwargs)


# --- lambda_lr ----------------------------------------------------------------------------

PARTIALS = {
    "step_decay": functools.partial(step_decay, base_lr=0.1, step_size=20, gamma=0.5),
    "exponential_decay": functools.partial(
        exponential_decay, base_lr=0.2, decay_rate=0.3, decay_steps=50
    ),
    "staircase": functools.partial(
        exponential_decay, base_lr=0.2, decay_rate=0.3, decay_steps=50, staircase=True
    ),
    "cosine_annealing": functools.partial(
        cosine_annealing, base_lr=0.05, total_steps=150, min_lr=1e-3
    ),
    "warmup_cosine": functools.partial(
        warmup_cosine, base_lr=0.3, warmup_steps=15, total_steps=150
    ),
    "one_cycle": functools.partial(one_cycle, max_lr=1.0, total_steps=150, anneal="linear"),
}


def _sgd(*groups, lr=0.1):
    return torch.optim.SGD(list(groups), lr=lr)


@pytest.mark.parametrize("name", list(PARTIALS))
@pytest.mark.parametrize("optimizer_lr", [0.1, 1.0, 7e-4])
def test_lambda_lr_sets_the_rate_of_the_schedule_at_every_step(name, optimizer_lr):
    schedule = PARTIALS[name]
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]}, lr=optimizer_lr)
    scheduler = lambda_lr(optimizer, schedule)
    assert isinstance(scheduler, lr_scheduler.LambdaLR)
    for t in range(200):  # past the end of the finite schedules too
        assert optimizer.param_groups[0]["lr"] == pytest.approx(schedule(t), **TOL)
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("name", list(PARTIALS))
def test_lambda_lr_keeps_the_ratio_of_a_second_param_group(name):
    schedule = PARTIALS[name]
    optimizer = _sgd(
        {"params": [nn.Parameter(torch.zeros(1))]},
        {"params": [nn.Parameter(torch.zeros(1))], "lr": 0.05},
        lr=0.1,
    )
    scheduler = lambda_lr(optimizer, schedule)
    for t in range(160):
        first, second = (group["lr"] for group in optimizer.param_groups)
        assert first == pytest.approx(schedule(t), **TOL)
        assert second == pytest.approx(schedule(t) / 2, **TOL)
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("optimizer", [object(), None, "sgd", [torch.zeros(1)]])
def test_lambda_lr_rejects_a_non_optimizer(optimizer):
    with pytest.raises(TypeError, match=r"^optimizer\b"):
        lambda_lr(optimizer, PARTIALS["step_decay"])


@pytest.mark.parametrize("schedule", [0.1, None, "cosine", [0.1, 0.05]])
def test_lambda_lr_rejects_a_non_callable_schedule(schedule):
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]})
    with pytest.raises(TypeError, match=r"^schedule\b"):
        lambda_lr(optimizer, schedule)


def test_lambda_lr_rejects_an_optimizer_with_rate_zero():
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]}, lr=0.0)
    with pytest.raises(ValueError, match="learning rate"):
        lambda_lr(optimizer, PARTIALS["step_decay"])


@pytest.mark.parametrize("bad", [-0.01, math.nan, math.inf, -math.inf])
def test_lambda_lr_rejects_a_bad_rate_naming_the_step(bad):
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]})
    scheduler = lambda_lr(optimizer, lambda t: 0.1 if t < 3 else bad)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    optimizer.step()
    with pytest.raises(ValueError, match=r"schedule\(3\)"):
        scheduler.step()


def test_lambda_lr_rejects_a_bad_rate_at_step_zero_on_creation():
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]})
    with pytest.raises(ValueError, match=r"schedule\(0\)"):
        lambda_lr(optimizer, lambda t: -1.0)


# --- properties over a grid ---------------------------------------------------------------


def _grid():
    """(name, rates over t = 0 .. T + 5, peak, length T) for many parameter sets."""
    for base_lr, gamma, size in itertools.product([0.1, 1 / 3, 2.9], [0.1, 0.5, 1.0], [1, 7, 30]):
        rates = our_rates(step_decay, 120, base_lr=base_lr, step_size=size, gamma=gamma)
        yield f"step_decay-{base_lr:.3g}-{gamma}-{size}", rates, base_lr, None
    for base_lr, rate, period, stairs in itertools.product(
        [0.1, 1 / 3], [0.01, 0.5, 1.0], [1, 13], [False, True]
    ):
        kwargs = {"base_lr": base_lr, "decay_rate": rate, "decay_steps": period}
        rates = our_rates(exponential_decay, 200, staircase=stairs, **kwargs)
        yield f"exponential_decay-{base_lr:.3g}-{rate}-{period}-{stairs}", rates, base_lr, None
    for base_lr, min_fraction, total in itertools.product(
        [0.1, 1 / 3, 2.9, 3e-4], [0.0, 1e-4, 0.1, 1.0], [1, 7, 100, 333]
    ):
        min_lr = base_lr * min_fraction
        kwargs = {"base_lr": base_lr, "total_steps": total, "min_lr": min_lr}
        rates = our_rates(cosine_annealing, total + 5, **kwargs)
        yield f"cosine_annealing-{base_lr:.3g}-{min_lr:.3g}-{total}", rates, base_lr, None
        for warmup in sorted({0, 1, 3, total // 2, total - 1}):
            if warmup < total:
                rates = our_rates(warmup_cosine, total + 5, warmup_steps=warmup, **kwargs)
                name = f"warmup_cosine-{base_lr:.3g}-{min_lr:.3g}-{total}-{warmup}"
                yield name, rates, base_lr, warmup
    for max_lr, total, pct, div, final, anneal in itertools.product(
        [0.1, 2.9], [10, 37, 333], [0.15, 0.3, 0.9], [1.0, 25.0], [1.0, 1e4], ["cos", "linear"]
    ):
        kwargs = {"max_lr": max_lr, "total_steps": total, "pct_start": pct}
        kwargs |= {"div_factor": div, "final_div_factor": final, "anneal": anneal}
        rates = our_rates(one_cycle, total + 5, **kwargs)
        yield f"one_cycle-{max_lr}-{total}-{pct}-{div}-{final}-{anneal}", rates, max_lr, None


GRID = list(_grid())
DECAYING = {"step_decay", "exponential_decay", "cosine_annealing"}
MONOTONE = [case for case in GRID if case[0].split("-")[0] in DECAYING]
WARMUPS = [case for case in GRID if case[0].startswith("warmup_cosine") and case[3] > 1]


@pytest.mark.parametrize(("name", "rates", "peak", "warmup"), GRID, ids=[c[0] for c in GRID])
def test_rates_are_finite_nonnegative_and_at_most_the_peak(name, rates, peak, warmup):
    rates = np.array(rates)
    assert np.all(np.isfinite(rates))
    assert np.all(rates >= 0)
    assert np.all(rates <= peak)


@pytest.mark.parametrize(
    ("name", "rates", "peak", "warmup"), MONOTONE, ids=[c[0] for c in MONOTONE]
)
def test_decaying_schedules_never_increase(name, rates, peak, warmup):
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates))


@pytest.mark.parametrize(("name", "rates", "peak", "warmup"), WARMUPS, ids=[c[0] for c in WARMUPS])
def test_warmup_cosine_rises_during_warmup_then_never_increases(name, rates, peak, warmup):
    assert all(later > earlier for earlier, later in itertools.pairwise(rates[:warmup]))
    assert rates[warmup - 1] == pytest.approx(peak, **TOL)
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates[warmup:]))
