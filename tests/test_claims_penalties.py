"""The headline results of the chapter on L1, L2 and elastic net, over several seeds.

Each test repeats an experiment of ``notebooks/02_l1_l2_elastic_net.md`` at a
smaller scale, so that a change to coursepkg that breaks what the chapter says
fails here.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

import coursepkg as cp
from coursepkg import lasso

SEEDS = [0, 1, 2]


def _flat(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _digits(seed, n_train=200):
    split = cp.load_digits_split(n_train=n_train, seed=seed)
    val = cp.make_loader(split.x_val, split.y_val, batch_size=512, shuffle=False)
    return split, val


@pytest.mark.parametrize("seed", SEEDS)
def test_sgd_with_an_l2_penalty_is_weight_decay_of_twice_lambda(seed):
    split, _ = _digits(seed, n_train=100)
    x, y = split.x_train.double(), split.y_train
    lam = 1e-3

    def train(penalty, weight_decay):
        cp.seed_everything(seed)
        model = cp.mlp([64, 64, 10]).double()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=weight_decay)
        loader = cp.make_loader(x, y, batch_size=20, seed=seed)
        cp.fit(model, loader, epochs=40, optimizer=optimizer, penalty=penalty, progress=False)
        return _flat(model)

    with_penalty = train(lambda m: lam * cp.l2_penalty(m.parameters()), 0.0)  # 200 steps
    with_decay = train(None, 2 * lam)
    plain = train(None, 0.0)
    assert (with_penalty - with_decay).abs().max() < 1e-6
    assert (with_penalty - plain).abs().max() > 1e-3  # the penalty did something


@pytest.mark.parametrize("seed", SEEDS)
def test_adam_with_an_l2_penalty_is_not_adamw(seed):
    split, _ = _digits(seed, n_train=100)
    strength = 1e-3

    def train(method):
        cp.seed_everything(seed)
        model = cp.mlp([64, 64, 10])
        if method == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            penalty = cp.WeightPenalty("l2", strength)
        else:
            groups = cp.decay_param_groups(model, weight_decay=2 * strength)
            optimizer, penalty = torch.optim.AdamW(groups, lr=1e-3), None
        loader = cp.make_loader(split.x_train, split.y_train, batch_size=20, seed=seed)
        cp.fit(model, loader, epochs=30, optimizer=optimizer, penalty=penalty, progress=False)
        return _flat(model)

    adam, adamw = train("adam"), train("adamw")
    assert (adam - adamw).norm() / adamw.norm() > 0.05


def test_adam_ignores_the_strength_of_an_l2_penalty_on_an_unused_weight():
    def after(kind, strength, steps=50):
        w = torch.ones(1, requires_grad=True)
        if kind == "adam":
            optimizer = torch.optim.Adam([w], lr=0.01)
        else:
            optimizer = torch.optim.AdamW([w], lr=0.01, weight_decay=2 * strength)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = strength * cp.l2_penalty([w]) if kind == "adam" else 0 * w.sum()
            loss.backward()
            optimizer.step()
        return w.item()

    # Adam: about lr per step whatever the strength; AdamW: a decay set by the strength.
    assert after("adam", 1e-3) == pytest.approx(after("adam", 1e-1), abs=1e-3)
    assert after("adam", 1e-3) < 0.6
    assert after("adamw", 1e-3) > 0.99
    assert after("adamw", 1e-1) < after("adamw", 1e-3) - 0.05


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_only_the_proximal_step_gives_exact_zeros_on_the_true_support(seed):
    problem = cp.make_sparse_regression(100, 20, n_informative=3, noise=0.5, seed=seed)
    w_prox = lasso.proximal_gradient(problem.x, problem.y, alpha=0.2, steps=2000)[-1]
    w_sub = lasso.subgradient_descent(problem.x, problem.y, alpha=0.2, lr=0.05, steps=2000)[-1]
    assert torch.equal(w_prox != 0, problem.w_true != 0)  # the true support, zeros elsewhere
    assert int((w_sub == 0).sum()) == 0  # subgradient steps never land on 0
    sk = Lasso(alpha=0.2, fit_intercept=False, tol=1e-12, max_iter=100_000)
    sk.fit(problem.x.numpy(), problem.y.numpy())
    assert np.abs(w_prox.numpy() - sk.coef_).max() < 1e-3


def test_ridge_sets_no_coefficient_to_zero_along_its_path():
    problem = cp.make_sparse_regression(100, 20, n_informative=3, seed=0)
    alpha_max = float((problem.x.T @ problem.y).abs().max() / len(problem.y))
    for alpha in alpha_max * np.logspace(0, -3, 10):
        w = lasso.proximal_gradient(problem.x, problem.y, alpha=alpha, l1_ratio=0.0, steps=300)
        assert int((w[-1] == 0).sum()) == 0


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tuned_l2_penalty_beats_none_on_validation_loss(seed):
    split, val = _digits(seed)
    final = {}
    for strength in (0.0, 3e-4, 1e-3, 3e-3):
        cp.seed_everything(seed)
        model = cp.mlp([64, 256, 256, 10])
        history = cp.fit(
            model,
            cp.make_loader(split.x_train, split.y_train, batch_size=32, seed=seed),
            epochs=100,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
            val_loader=val,
            penalty=cp.WeightPenalty("l2", strength),
            progress=False,
        )
        final[strength] = history.val_loss[-1]
    best = min(final, key=final.get)
    assert best > 0
    assert final[best] < 0.9 * final[0.0]
