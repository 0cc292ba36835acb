"""The headline results of the chapter on learning-rate schedules, over several seeds.

Each test repeats an experiment of ``notebooks/06_lr_schedules.md`` at the same
scale, so that a change to coursepkg that breaks what the chapter says fails here.
"""

import functools
import math

import numpy as np
import pytest
import torch

import coursepkg as cp
from coursepkg import schedules as sch

SEEDS = [0, 1, 2]
EPOCHS = 10
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 digits


@functools.cache
def _split():
    return cp.load_digits_split(seed=0)


def _loader(seed):
    split = _split()
    return cp.make_loader(split.x_train, split.y_train, batch_size=64, seed=seed)


def _new_model(seed):
    cp.seed_everything(seed)
    return cp.mlp([64, 128, 128, 10])


def _sgd(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


@functools.cache
def _peak(seed=0):
    model = _new_model(seed)
    test = cp.lr_range_test(
        model, _loader(seed), _sgd(model, 1e-4), min_lr=1e-4, max_lr=10.0, num_steps=100
    )
    return test.suggestion()


def _train(seed, schedule, optimizer_fn=_sgd):
    """Train as the chapter does; return the history and the final full-training-set loss."""
    model = _new_model(seed)
    optimizer = optimizer_fn(model, schedule(0))
    history = cp.fit(
        model,
        _loader(seed),
        epochs=EPOCHS,
        optimizer=optimizer,
        scheduler=sch.lambda_lr(optimizer, schedule),
        scheduler_interval="step",
        progress=False,
    )
    split = _split()
    final = cp.evaluate(model, [(split.x_train, split.y_train)])["loss"]
    return history, final


def _total_steps():
    return EPOCHS * len(_loader(0))


@pytest.mark.parametrize("seed", SEEDS)
def test_decaying_schedules_end_lower_than_the_constant_rate_at_the_same_peak(seed):
    peak, total = _peak(), _total_steps()
    _, constant = _train(seed, lambda t: peak)
    _, cosine = _train(
        seed, functools.partial(sch.cosine_annealing, base_lr=peak, total_steps=total)
    )
    step = functools.partial(sch.step_decay, base_lr=peak, step_size=total // 3 + 1, gamma=0.1)
    _, stepped = _train(seed, step)
    assert cosine < constant / 10
    assert stepped < constant / 10


@pytest.mark.parametrize("seed", SEEDS)
def test_the_range_test_peak_trains_and_ten_times_it_diverges(seed):
    peak, total = _peak(seed), _total_steps()
    good, good_loss = _train(
        seed, functools.partial(sch.cosine_annealing, base_lr=peak, total_steps=total)
    )
    bad, bad_loss = _train(
        seed, functools.partial(sch.cosine_annealing, base_lr=10 * peak, total_steps=total)
    )
    assert max(good.train_loss) < CHANCE_LOSS and good_loss < 0.05
    assert not math.isfinite(bad.train_loss[0]) or bad.train_loss[0] > CHANCE_LOSS
    assert not math.isfinite(bad_loss) or bad_loss > 0.9 * CHANCE_LOSS


@pytest.mark.parametrize("seed", SEEDS)
def test_adam_needs_a_schedule_too(seed):
    total = _total_steps()
    adam = lambda model, lr: torch.optim.Adam(model.parameters(), lr=lr)  # noqa: E731
    _, constant = _train(seed, lambda t: 0.03, adam)
    _, cosine = _train(
        seed, functools.partial(sch.cosine_annealing, base_lr=0.03, total_steps=total), adam
    )
    assert cosine < constant / 10


@pytest.mark.parametrize("seed", SEEDS)
def test_warmup_tames_adams_first_epoch_at_a_high_rate(seed):
    total = _total_steps()
    adam = lambda model, lr: torch.optim.Adam(model.parameters(), lr=lr)  # noqa: E731
    plain, _ = _train(
        seed, functools.partial(sch.cosine_annealing, base_lr=0.1, total_steps=total), adam
    )
    warm, _ = _train(
        seed,
        functools.partial(
            sch.warmup_cosine, base_lr=0.1, warmup_steps=total // 10, total_steps=total
        ),
        adam,
    )
    assert plain.train_loss[0] > CHANCE_LOSS > warm.train_loss[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_constant_rate_leaves_sgd_at_a_noise_floor_that_decay_gets_below(seed):
    generator = torch.Generator().manual_seed(seed)
    n, d, steps = 2000, 10, 2000
    x = torch.randn(n, d, generator=generator)
    y = x @ torch.randn(d, generator=generator) + 0.5 * torch.randn(n, generator=generator)
    w_star = torch.linalg.lstsq(x, y[:, None]).solution[:, 0]

    def excess(w):
        return 0.5 * (((x @ w - y) ** 2).mean() - ((x @ w_star - y) ** 2).mean()).item()

    def floor(schedule):
        g = torch.Generator().manual_seed(seed + 100)
        w, values = torch.zeros(d), []
        for t in range(steps):
            i = torch.randint(0, n, (8,), generator=g)
            w -= schedule(t) * x[i].T @ (x[i] @ w - y[i]) / 8
            if t >= steps - 200:
                values.append(excess(w))
        return np.mean(values)

    big, small = floor(lambda t: 0.1), floor(lambda t: 0.01)
    cosine = floor(functools.partial(sch.cosine_annealing, base_lr=0.1, total_steps=steps))
    assert big > 3 * small  # the floor grows with the rate
    assert cosine < big / 3
