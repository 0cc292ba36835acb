"""Tests of :mod:`coursepkg.cyclical`: each schedule equals PyTorch's, step by step."""

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler

from coursepkg.cyclical import cosine_warm_restarts, one_cycle_momentum, triangular
from coursepkg.exercises.schedules import reference_nesterov_edge

TOL = {"rel": 1e-9, "abs": 1e-12}


def torch_values(make_scheduler, lr, steps, key="lr", momentum=0.9):
    """``param_groups[0][key]`` of steps ``0 .. steps - 1`` under a torch scheduler."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr, momentum=momentum)
    scheduler = make_scheduler(optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0][key])
        optimizer.step()
        scheduler.step()
    return values


@pytest.mark.parametrize(
    ("base_lr", "period", "period_mult", "min_lr"),
    [(0.1, 50, 1, 0.0), (1.0, 7, 2, 0.01), (0.3, 1, 3, 0.0)],
)
def test_warm_restarts_equal_torch(base_lr, period, period_mult, min_lr):
    steps = 300
    expected = torch_values(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=period, T_mult=period_mult, eta_min=min_lr
        ),
        base_lr,
        steps,
    )
    ours = [
        cosine_warm_restarts(
            t, base_lr=base_lr, period=period, period_mult=period_mult, min_lr=min_lr
        )
        for t in range(steps)
    ]
    assert ours == pytest.approx(expected, **TOL)


@pytest.mark.parametrize(("base_lr", "max_lr", "step_size"), [(0.01, 0.1, 25), (0.0, 1.0, 1)])
def test_triangular_equals_torch(base_lr, max_lr, step_size):
    steps = 200
    expected = torch_values(
        lambda o: lr_scheduler.CyclicLR(
            o, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size, cycle_momentum=False
        ),
        base_lr,
        steps,
    )
    ours = [
        triangular(t, base_lr=base_lr, max_lr=max_lr, step_size=step_size) for t in range(steps)
    ]
    assert ours == pytest.approx(expected, **TOL)


@pytest.mark.parametrize(("total_steps", "pct_start"), [(100, 0.3), (37, 0.5)])
def test_one_cycle_momentum_equals_torch(total_steps, pct_start):
    expected = torch_values(
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr=0.1, total_steps=total_steps, pct_start=pct_start, cycle_momentum=True
        ),
        0.1,
        total_steps,
        key="momentum",
    )
    ours = [
        one_cycle_momentum(t, total_steps=total_steps, pct_start=pct_start)
        for t in range(total_steps)
    ]
    assert ours == pytest.approx(expected, **TOL)


def test_one_cycle_momentum_stays_at_its_maximum_past_the_end():
    assert one_cycle_momentum(500, total_steps=100) == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cosine_warm_restarts(3, base_lr=0.1, period=0), "period"),
        (lambda: triangular(3, base_lr=0.2, max_lr=0.1, step_size=5), "base_lr <= max_lr"),
        (lambda: one_cycle_momentum(3, total_steps=10, pct_start=30), "pct_start"),
    ],
)
def test_bad_settings_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(("curvature", "momentum"), [(10.0, 0.9), (1.0, 0.5), (2.0, 0.0)])
def test_nesterov_edge_reference_matches_torch(curvature, momentum):
    """The exercise's answer is where torch's Nesterov SGD stops shrinking w on ½ λ w²."""

    def shrinks(lr, steps=2000):
        w = torch.ones(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=lr, momentum=momentum, nesterov=momentum > 0)
        for _ in range(steps):
            w.grad = curvature * w.detach()
            optimizer.step()
        return abs(w.item()) < 1

    edge = reference_nesterov_edge(curvature, momentum)
    assert shrinks(0.99 * edge)
    assert not shrinks(1.01 * edge)
