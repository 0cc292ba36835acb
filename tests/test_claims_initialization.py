"""The headline results of the chapter on initialization, over several seeds.

Each test repeats an experiment of ``notebooks/05_initialization.md`` at the same
or a smaller scale, so that a change to coursepkg that breaks what the chapter
says fails here.
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

import coursepkg as cp
from coursepkg import initialization as init

SEEDS = [0, 1, 2]


def _deep_mlp(depth, width, scheme, seed):
    cp.seed_everything(seed)
    model = cp.mlp([64] + [width] * depth + [10])
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
            if scheme == "small":
                nn.init.normal_(module.weight, 0.0, 0.01)
            elif scheme == "xavier":
                init.xavier_normal_(module.weight)
            else:
                init.kaiming_normal_(module.weight)
    return model


def _stds(scheme, seed):
    split = cp.load_digits_split(n_train=256, seed=seed)
    model = _deep_mlp(50, 512, scheme, seed)
    stats = init.layer_statistics(model, split.x_train, split.y_train)
    return np.array(stats.activation_std[:-1])  # the 50 hidden layers


@pytest.mark.parametrize("seed", SEEDS)
def test_he_keeps_fifty_relu_layers_within_a_factor_two(seed):
    stds = _stds("he", seed)
    assert np.all((stds / stds[0] >= 0.5) & (stds / stds[0] <= 2.0))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_fixed_small_scale_makes_the_signal_vanish(seed):
    stds = _stds("small", seed)
    assert stds[-1] < 1e-3 * stds[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_xavier_on_relu_shrinks_the_signal_by_root_two_per_layer(seed):
    stds = _stds("xavier", seed)
    per_layer = math.exp(np.polyfit(np.arange(len(stds)), np.log(stds), 1)[0])
    assert per_layer == pytest.approx(1 / math.sqrt(2), abs=0.02)


@pytest.mark.parametrize("seed", SEEDS)
def test_constant_initialization_keeps_hidden_units_identical(seed):
    cp.seed_everything(seed)
    split = cp.load_digits_split(n_train=200, seed=seed)
    model = cp.mlp([64, 16, 16, 10])
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.05)
            nn.init.zeros_(module.bias)
    cp.fit(
        model,
        cp.make_loader(split.x_train, split.y_train, batch_size=32, seed=seed),
        epochs=5,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        progress=False,
    )
    w1 = model[0].weight.detach()
    assert not torch.equal(w1, torch.full_like(w1, 0.05))  # training moved the weights
    assert torch.equal(w1, w1[0].expand_as(w1))  # but every unit moved alike


def test_twenty_relu_layers_train_with_he_and_stall_with_a_fixed_small_scale():
    split = cp.load_digits_split(n_train=500, seed=0)
    losses = {}
    for scheme in ("small", "he"):
        model = _deep_mlp(20, 64, scheme, seed=0)
        history = cp.fit(
            model,
            cp.make_loader(split.x_train, split.y_train, batch_size=64),
            epochs=20,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
            progress=False,
        )
        losses[scheme] = history.train_loss
    assert losses["small"][-1] > 0.98 * losses["small"][0]  # stays at ln 10
    assert losses["he"][-1] < 0.3 * losses["he"][0]
