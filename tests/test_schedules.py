"""Tests of :mod:`coursepkg.schedules`.

Notes
-----
Each schedule is compared step by step with the PyTorch scheduler it claims to
equal, by driving a real optimizer and reading ``param_groups[0]["lr"]``. With
torch 2.13, ``SequentialLR([LinearLR, CosineAnnealingLR])`` matches
:func:`~coursepkg.schedules.warmup_cosine` at every step ``t <= total_steps``;
the only difference is past the end, where ``CosineAnnealingLR`` is periodic and
rises again while the schedules here stay at their final value.

The properties (finite, non-negative, bounded, monotone) are checked over a grid of
parameter sets, one test per property.
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


def test_finite_schedules_stay_at_their_final_value():
    end = 100
    for extra in (0, 1, 7, 10_000):
        assert cosine_annealing(end + extra, base_lr=0.1, total_steps=end, min_lr=1e-3) == 1e-3
        kwargs = {"base_lr": 0.1, "warmup_steps": 10, "total_steps": end}
        assert warmup_cosine(end + extra, **kwargs) == 0.0
        assert warmup_cosine(end + extra, min_lr=2e-3, **kwargs) == 2e-3
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


def test_warmup_steps_zero_is_plain_cosine_annealing():
    kwargs = {"base_lr": 0.3, "total_steps": 300, "min_lr": 0.01}
    steps = range(303)
    assert [warmup_cosine(t, warmup_steps=0, **kwargs) for t in steps] == [
        cosine_annealing(t, **kwargs) for t in steps
    ]


@pytest.mark.parametrize(("base_lr", "warmup_steps"), [(0.1, 3), (0.3, 10), (1.0, 7), (0.5, 1)])
def test_warmup_reaches_exactly_base_lr_at_its_last_step(base_lr, warmup_steps):
    kwargs = {"base_lr": base_lr, "warmup_steps": warmup_steps, "total_steps": 50}
    assert warmup_cosine(warmup_steps - 1, **kwargs) == base_lr  # never above it, to the bit
    assert warmup_cosine(warmup_steps, **kwargs) == base_lr  # the cosine starts at the peak


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
def test_lambda_lr_sets_the_rate_of_the_schedule_at_every_step(name):
    schedule = PARTIALS[name]
    for optimizer_lr in (0.1, 1.0, 7e-4):  # whatever the optimizer's own rate
        optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]}, lr=optimizer_lr)
        scheduler = lambda_lr(optimizer, schedule)
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


def test_lambda_lr_rejects_a_negative_rate_naming_the_step():
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]})
    scheduler = lambda_lr(optimizer, lambda t: 0.1 if t < 3 else -0.01)
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    optimizer.step()
    with pytest.raises(ValueError, match=r"schedule\(3\) returned -0.01"):
        scheduler.step()


def test_lambda_lr_rejects_a_rate_that_is_not_finite_on_creation():
    optimizer = _sgd({"params": [nn.Parameter(torch.zeros(1))]})
    with pytest.raises(ValueError, match=r"schedule\(0\) returned nan"):
        lambda_lr(optimizer, lambda t: math.nan)


# --- properties over a grid ---------------------------------------------------------------


def _grid():
    """(name, rates over t = 0 .. T + 5, peak, warmup length) for many parameter sets."""
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


def test_rates_are_finite_nonnegative_and_at_most_the_peak():
    for name, rates, peak, _ in GRID:
        rates = np.array(rates)
        assert np.all(np.isfinite(rates)) and np.all(rates >= 0), name
        assert np.all(rates <= peak), name


def test_decaying_schedules_never_increase():
    decaying = ("step_decay", "exponential_decay", "cosine_annealing")
    for name, rates, _, _ in GRID:
        if name.startswith(decaying):
            assert all(later <= earlier for earlier, later in itertools.pairwise(rates)), name


def test_warmup_cosine_rises_during_warmup_then_never_increases():
    for name, rates, peak, warmup in GRID:
        if name.startswith("warmup_cosine") and warmup > 1:
            assert all(later > earlier for earlier, later in itertools.pairwise(rates[:warmup]))
            assert rates[warmup - 1] == pytest.approx(peak, **TOL), name
            assert all(b <= a for a, b in itertools.pairwise(rates[warmup:])), name
