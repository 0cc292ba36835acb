"""The headline results of the chapter on overfitting, checked over several seeds.

Each test repeats an experiment of ``notebooks/01_overfitting.md`` at a smaller
scale, so that a change to coursepkg that breaks what the chapter says fails here.
"""

import numpy as np
import pytest
import torch

import coursepkg as cp

SEEDS = [0, 1, 2]


def _degree_sweep(seed, max_degree=14):
    data = cp.make_polynomial_regression(15, 500, noise=0.2, seed=seed)
    train, test = [], []
    for degree in range(max_degree + 1):
        coef = cp.fit_polynomial(data.x_train, data.y_train, degree)
        train.append(cp.mean_squared_error(cp.predict_polynomial(coef, data.x_train), data.y_train))
        test.append(cp.mean_squared_error(cp.predict_polynomial(coef, data.x_test), data.y_test))
    return np.array(train), np.array(test)


def _train_digits(n_train, seed, *, labels_fraction=0.0, epochs=60, early_stopping=None):
    cp.seed_everything(seed)
    split = cp.load_digits_split(n_train=n_train, seed=seed)
    labels = cp.corrupt_labels(split.y_train, labels_fraction, seed=seed)
    model = cp.mlp([64, 256, 256, 10])
    val_loader = cp.make_loader(split.x_val, split.y_val, batch_size=512, shuffle=False)
    history = cp.fit(
        model,
        cp.make_loader(split.x_train, labels, batch_size=32, seed=seed),
        epochs=epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        val_loader=val_loader,
        early_stopping=early_stopping,
        progress=False,
    )
    train_loader = cp.make_loader(split.x_train, labels, shuffle=False)
    test_loader = cp.make_loader(split.x_test, split.y_test, shuffle=False)
    accuracy = {
        "train": cp.evaluate(model, train_loader)["accuracy"],
        "val": cp.evaluate(model, val_loader),
        "test": cp.evaluate(model, test_loader)["accuracy"],
    }
    return history, accuracy


def test_degree_sweep_test_error_is_u_shaped():
    best_degrees = []
    for seed in range(20):  # closed-form fits: 20 draws of the data cost little
        train, test = _degree_sweep(seed)
        best = int(np.argmin(test))
        best_degrees.append(best)
        # Training error never rises with the degree (nested least-squares problems),
        # and 15 weights interpolate 15 points.
        assert np.all(np.diff(train) <= 1e-9)
        assert train[14] < 1e-10
        # The test error falls, then rises: the best degree is an interior one, far
        # better than the constant and than the interpolating polynomial.
        assert 1 <= best <= 9
        assert test[best] < 0.5 * test[0]
        assert test[14] > 100 * test[best]
    # Typically a cubic to quintic fits sin(πx) from 15 noisy points best.
    assert 3 <= np.median(best_degrees) <= 5


@pytest.mark.parametrize("seed", SEEDS)
def test_generalization_gap_shrinks_with_data(seed):
    gaps = []
    for n in (50, 200, 800):
        _, acc = _train_digits(n, seed, epochs=40)
        assert acc["train"] == 1.0  # the network fits every training set
        gaps.append(acc["train"] - acc["val"]["accuracy"])
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[0] > 0.1 and gaps[2] < 0.05


def test_random_labels_are_memorized_at_chance_test_accuracy():
    test_accs = []
    for seed in SEEDS:
        _, acc = _train_digits(200, seed, labels_fraction=1.0, epochs=100)
        assert acc["train"] >= 0.99  # 200 arbitrary labels memorized
        test_accs.append(acc["test"])
    # Chance is 0.1; a single seed may land a few points above it.
    assert all(a < 0.2 for a in test_accs)
    assert np.mean(test_accs) < 0.15
    # The same network on the true labels generalizes.
    _, clean = _train_digits(200, 0, epochs=100)
    assert clean["test"] > 0.85


@pytest.mark.parametrize("seed", SEEDS)
def test_early_stopping_restores_the_best_epoch(seed):
    stopper = cp.EarlyStopping(patience=10)
    history, acc = _train_digits(100, seed, epochs=300, early_stopping=stopper)
    assert history.stopped_early
    assert history.epoch[-1] == history.best_epoch + 10
    # The restored weights are those of the best epoch, not the last one.
    assert acc["val"]["loss"] == pytest.approx(history.best("val_loss"), rel=1e-6)
    assert acc["val"]["loss"] < history.val_loss[-1]
