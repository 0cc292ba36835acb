"""The argument checks coursepkg keeps, one row each: a plausible mistake and what it must say.

A check is kept only where the mistake would otherwise pass silently, fail late (after
training has run) or fail with a message that does not point at the argument; where
torch itself raises a clear error, the package trusts it. Each row makes one such
mistake and pins the key phrase of the message, which names the argument.
"""

import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from coursepkg.augment import AugmentedLoader, color_jitter, random_affine, random_flip
from coursepkg.batchnorm import BatchNorm1d, BatchNorm2d
from coursepkg.data import (
    corrupt_labels,
    load_digits_split,
    make_loader,
    make_polynomial_regression,
    make_sparse_regression,
)
from coursepkg.dropout import Dropout, dropout
from coursepkg.early_stopping import EarlyStopping
from coursepkg.initialization import (
    calculate_gain,
    kaiming_normal_,
    kaiming_uniform_,
    layer_statistics,
)
from coursepkg.lasso import proximal_gradient, subgradient_descent
from coursepkg.metrics import (
    accuracy,
    confusion_matrix,
    expected_calibration_error,
    mean_squared_error,
    reliability,
    sparsity,
)
from coursepkg.models import mlp
from coursepkg.pca import pca
from coursepkg.penalties import (
    L2SP,
    WeightPenalty,
    elastic_net_penalty,
    l1_penalty,
    soft_threshold_,
)
from coursepkg.polynomial import fit_polynomial, polynomial_features
from coursepkg.population import PopulationMLP, sharpness
from coursepkg.range_test import RangeTest, lr_range_test
from coursepkg.resnet import load_torchvision_weights, resnet50
from coursepkg.schedules import (
    cosine_annealing,
    exponential_decay,
    lambda_lr,
    one_cycle,
    step_decay,
    warmup_cosine,
)
from coursepkg.soft_targets import mixup, soft_cross_entropy
from coursepkg.stats import compare
from coursepkg.training import History, evaluate, fit
from coursepkg.visibility import make_visibility_data, visibility_to_beta

V, T = ValueError, TypeError
GEN = torch.Generator().manual_seed(0)
X = torch.rand(2, 3, 8, 8, generator=GEN)  # a batch of RGB images
Y = torch.arange(10) % 3  # labels of 3 classes
X2, Y2 = torch.randn(6, 4, generator=GEN), torch.tensor([0, 1, 2, 0, 1, 2])
XL = torch.randn(5, 3, generator=GEN, dtype=torch.float64)  # a lasso problem
YL = torch.randn(5, generator=GEN, dtype=torch.float64)
X1 = torch.linspace(-1, 1, 5, dtype=torch.float64)  # inputs of a polynomial


def _mlp():
    return mlp([4, 8, 3])


def _loader():
    return make_loader(X2, Y2, batch_size=3, shuffle=False)


def _sgd(lr=0.1):
    return torch.optim.SGD(_mlp().parameters(), lr=lr)


def _plateau():
    return torch.optim.lr_scheduler.ReduceLROnPlateau(_sgd())


def _fit(**kwargs):
    model = _mlp()
    arguments = {
        "epochs": 1,
        "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
        "progress": False,
        "train_loader": _loader(),
        **kwargs,
    }
    return fit(model, arguments.pop("train_loader"), **arguments)


def _sharpness(radius):
    population = PopulationMLP([4, 3], seeds=[0, 1])
    x, y = torch.randn(2, 5, 4, generator=GEN), torch.zeros(2, 5, dtype=torch.long)
    return sharpness(population, x, y, radius=radius, draws=1)


def _range_test():
    rates = np.array([0.01, 0.1, 1.0])
    return RangeTest(rates, np.array([2.0, 0.5, 1.0]), np.array([2.0, 0.5, 1.0]), False)


class _WithUnusedLayer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.unused = torch.nn.Linear(4, 3), torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.used(x)


def _load_weights_from(checkpoint):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.pth"
        torch.save(checkpoint, path)
        return load_torchvision_weights(resnet50(num_classes=4), path)


def _spent_parameters():
    parameters = _mlp().parameters()
    list(parameters)
    return parameters


CASES = {
    # data
    "make_polynomial_regression n_train": (
        lambda: make_polynomial_regression(0),
        V,
        "n_train must be >= 1",
    ),
    "make_polynomial_regression noise": (
        lambda: make_polynomial_regression(noise=-0.1),
        V,
        "noise must be a finite number >= 0",
    ),
    "seed negative": (lambda: make_polynomial_regression(seed=-1), V, "seed must be >= 0"),
    "seed not an integer": (lambda: make_sparse_regression(seed=0.5), T, "seed must be an integer"),
    "make_sparse_regression n_informative": (
        lambda: make_sparse_regression(20, 2, n_informative=3),
        V,
        "n_informative must be <= n_features",
    ),
    "load_digits_split nothing to train on": (
        lambda: load_digits_split(n_val=900, n_test=897),
        V,
        "n_val + n_test must leave images to train on",
    ),
    "load_digits_split n_train larger than the pool": (
        lambda: load_digits_split(n_train=1078),
        V,
        "n_train must be <= 1077",
    ),
    "corrupt_labels fraction": (lambda: corrupt_labels(Y, 1.5), V, "fraction must be in [0, 1]"),
    "corrupt_labels labels outside the classes": (
        lambda: corrupt_labels(Y, 0.5, num_classes=2),
        V,
        "labels must be in [0, num_classes - 1]",
    ),
    # augmentation
    "random_flip one image for a batch": (
        lambda: random_flip(X[0]),
        V,
        "x must be a batch of images (N, C, H, W)",
    ),
    "random_flip p": (lambda: random_flip(X, p=1.5), V, "p must be in [0, 1]"),
    "color_jitter grey images": (
        lambda: color_jitter(X[:, :1], brightness=0.1, contrast=0.1),
        V,
        "x must be RGB images (N, 3, H, W)",
    ),
    "color_jitter integer images": (
        lambda: color_jitter((X * 255).to(torch.uint8), brightness=0.1, contrast=0.1),
        T,
        "x must hold floats in [0, 1]",
    ),
    "color_jitter brightness": (
        lambda: color_jitter(X, brightness=1.2, contrast=0.1),
        V,
        "brightness must be in [0, 1]",
    ),
    "random_affine images that are not square": (
        lambda: random_affine(X[..., :6], degrees=10.0, translate=1.0),
        V,
        "x must be square images (N, C, H, H)",
    ),
    "random_affine degrees": (
        lambda: random_affine(X, degrees=-10.0, translate=1.0),
        V,
        "degrees must be a finite number >= 0",
    ),
    "AugmentedLoader empty loader": (lambda: AugmentedLoader([], []), V, "loader is empty"),
    # visibility and ResNet-50
    "visibility_to_beta zero distance": (
        lambda: visibility_to_beta(torch.tensor([1.0, 0.0])),
        V,
        "visibility must hold distances > 0",
    ),
    "make_visibility_data classes": (
        lambda: make_visibility_data(4, classes=(("a", 2.0, 1.0),)),
        V,
        "classes must be a non-empty tuple of (name, lowest, highest)",
    ),
    "make_visibility_data scenes": (
        lambda: make_visibility_data(4, scenes=(2,)),
        V,
        "scenes must be indices into SCENES",
    ),
    "make_visibility_data horizon": (
        lambda: make_visibility_data(4, horizon_km=(3.0, 1.0)),
        V,
        "horizon_km must be (lowest, highest)",
    ),
    "resnet50 dropout 1": (lambda: resnet50(dropout=1.0), V, "every unit would be dropped"),
    "resnet50 zero_init_residual without residuals": (
        lambda: resnet50(zero_init_residual=True, residual=False),
        V,
        "zero_init_residual needs residual=True",
    ),
    "load_torchvision_weights a checkpoint without a state_dict": (
        lambda: _load_weights_from({"net": {"fc.bias": torch.zeros(4)}, "epoch": 3}),
        V,
        "holds no state_dict (names to tensors), nor one under 'model' or 'state_dict'",
    ),
    # schedules and the range test
    "warmup_cosine warmup_steps": (
        lambda: warmup_cosine(0, base_lr=0.1, warmup_steps=100, total_steps=100),
        V,
        "warmup_steps must be < total_steps",
    ),
    "step_decay gamma above 1": (
        lambda: step_decay(0, base_lr=0.1, step_size=10, gamma=10),
        V,
        "gamma must be in (0, 1]",
    ),
    "exponential_decay rate above 1": (
        lambda: exponential_decay(0, base_lr=0.1, decay_rate=2.0, decay_steps=10),
        V,
        "decay_rate must be in (0, 1]",
    ),
    "cosine_annealing min_lr above base_lr": (
        lambda: cosine_annealing(0, base_lr=0.1, total_steps=10, min_lr=0.2),
        V,
        "min_lr must be <= base_lr",
    ),
    "one_cycle pct_start as a percentage": (
        lambda: one_cycle(0, max_lr=0.1, total_steps=100, pct_start=30),
        V,
        "pct_start * total_steps - 1 must lie strictly between",
    ),
    "one_cycle anneal": (
        lambda: one_cycle(0, max_lr=0.1, total_steps=100, anneal="cosine"),
        V,
        "anneal must be 'cos' or 'linear'",
    ),
    "lambda_lr optimizer rate zero": (
        lambda: lambda_lr(_sgd(lr=0.0), lambda t: 1.0),
        V,
        "the optimizer's learning rate must be > 0",
    ),
    "lambda_lr negative rate": (
        lambda: lambda_lr(_sgd(), lambda t: -0.1),
        V,
        "a rate must be finite and >= 0",
    ),
    "lr_range_test rates": (
        lambda: lr_range_test(_mlp(), _loader(), _sgd(), max_lr=1e-5),
        V,
        "need 0 < min_lr < max_lr",
    ),
    "lr_range_test empty loader": (lambda: lr_range_test(_mlp(), [], _sgd()), V, "loader is empty"),
    "RangeTest.suggestion divisor": (
        lambda: _range_test().suggestion(0.5),
        V,
        "divisor must be >= 1",
    ),
    # training
    "EarlyStopping patience": (lambda: EarlyStopping(0), V, "patience must be >= 1"),
    "EarlyStopping min_delta": (
        lambda: EarlyStopping(3, min_delta=-0.1),
        V,
        "min_delta must be a finite number >= 0",
    ),
    "History.best empty": (lambda: History().best(), V, "the history is empty"),
    "evaluate empty loader": (lambda: evaluate(_mlp(), []), V, "loader is empty"),
    "fit epochs": (lambda: _fit(epochs=0), V, "epochs must be >= 1"),
    "fit train_loader not batches": (
        lambda: _fit(train_loader=None),
        T,
        "train_loader must be an iterable",
    ),
    "fit val_loader empty": (lambda: _fit(val_loader=[]), V, "val_loader is empty"),
    "fit a spent iterator": (
        lambda: _fit(train_loader=iter(_loader()), epochs=2),
        V,
        "train_loader yielded no batches",
    ),
    "fit early stopping without validation": (
        lambda: _fit(early_stopping=EarlyStopping(2)),
        V,
        "early_stopping needs a val_loader",
    ),
    "fit a bare schedule as scheduler": (
        lambda: _fit(scheduler=lambda t: 0.1),
        T,
        "scheduler must be a torch.optim.lr_scheduler scheduler",
    ),
    "fit scheduler_interval": (
        lambda: _fit(scheduler_interval="batch"),
        V,
        "scheduler_interval must be 'epoch' or 'step'",
    ),
    "fit ReduceLROnPlateau per step": (
        lambda: _fit(scheduler=_plateau(), scheduler_interval="step"),
        V,
        "scheduler_interval must be 'epoch' with ReduceLROnPlateau",
    ),
    # metrics, statistics, models
    "accuracy probabilities for logits": (
        lambda: accuracy(torch.tensor([0.2, 0.9]), torch.tensor([0, 1])),
        V,
        "outputs must be logits of shape (N, C) or integer labels of shape (N,)",
    ),
    "accuracy lengths": (
        lambda: accuracy(torch.zeros(3, 2), torch.zeros(2, dtype=torch.long)),
        V,
        "outputs and targets must give one label per sample",
    ),
    "confusion_matrix labels outside the classes": (
        lambda: confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 3]), num_classes=3),
        V,
        "targets must hold labels in [0, num_classes - 1]",
    ),
    "accuracy of nothing": (
        lambda: accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)),
        V,
        "targets must not be empty",
    ),
    "reliability logits for probabilities": (
        lambda: reliability(X2, Y2[:6]),
        V,
        "probs must be probabilities (N, C) whose rows sum to 1",
    ),
    "expected_calibration_error bins": (
        lambda: expected_calibration_error(X2.softmax(1), Y2, bins=0),
        V,
        "bins must be >= 1",
    ),
    "sparsity of an exhausted generator": (
        lambda: sparsity(_spent_parameters()),
        V,
        "params holds no tensor: an exhausted generator?",
    ),
    "mean_squared_error shapes": (
        lambda: mean_squared_error(torch.zeros(4, 1), torch.zeros(4)),
        V,
        "prediction and target must have the same shape",
    ),
    "compare lengths": (
        lambda: compare([0.9] * 5, [0.8] * 6),
        V,
        "a and b must hold one value per seed each",
    ),
    "compare too few seeds": (
        lambda: compare([0.9] * 3, [0.8] * 3),
        V,
        "a comparison needs at least 5 seeds",
    ),
    "compare a diverged run": (
        lambda: compare([0.9, 0.8, math.nan, 0.85, 0.9], 0.5),
        V,
        "a and b must be finite",
    ),
    "mlp one width": (lambda: mlp([64]), V, "sizes must hold at least 2 widths"),
    "mlp activation instance": (
        lambda: mlp([4, 8, 2], activation=torch.nn.ReLU()),
        T,
        "activation must be a torch.nn.Module class",
    ),
    "mlp dropout 1": (lambda: mlp([4, 8, 2], dropout=1.0), V, "dropout must be in [0, 1)"),
    "PopulationMLP one width": (
        lambda: PopulationMLP([64], seeds=[0]),
        V,
        "sizes must hold at least 2 widths",
    ),
    "PopulationMLP no seed": (
        lambda: PopulationMLP([4, 3], seeds=[]),
        V,
        "seeds must hold one seed per member",
    ),
    "PopulationMLP negative seed": (
        lambda: PopulationMLP([4, 3], seeds=[0, -1]),
        V,
        "seeds must be >= 0",
    ),
    "PopulationMLP dropout 1": (
        lambda: PopulationMLP([4, 8, 3], seeds=[0], dropout=1.0),
        V,
        "dropout must be in [0, 1), got 1",
    ),
    "sharpness radius 0": (lambda: _sharpness(0.0), V, "radius must be > 0"),
    "sharpness negative radius": (
        lambda: _sharpness(-0.1),
        V,
        "radius must be a finite number >= 0",
    ),
    "soft_cross_entropy labels for probabilities": (
        lambda: soft_cross_entropy(X2, Y2),
        V,
        "targets must be probabilities shaped like logits",
    ),
    "mixup lam of another length": (
        lambda: mixup(X2, X2.softmax(1)[:, :3], torch.rand(5, generator=GEN)),
        V,
        "x (..., B, D), targets (..., B, C) and lam (..., B) must agree",
    ),
    "mixup labels for probabilities": (
        lambda: mixup(X2, Y2, torch.rand(6, generator=GEN)),
        V,
        "x (..., B, D), targets (..., B, C) and lam (..., B) must agree",
    ),
    "pca n_components": (lambda: pca(torch.ones(5, 3), 4), V, "n_components must be <= min(N, D)"),
    # dropout and batch normalization
    "dropout p 1": (lambda: dropout(torch.ones(3), 1.0), V, "every unit would be dropped"),
    "dropout p negative": (lambda: dropout(torch.ones(3), -0.1), V, "p must be in [0, 1)"),
    "Dropout p 1": (lambda: Dropout(1.0), V, "every unit would be dropped"),
    "BatchNorm eps": (lambda: BatchNorm1d(3, eps=-1e-5), V, "eps must be a finite number >= 0"),
    "BatchNorm momentum": (lambda: BatchNorm1d(3, momentum=1.5), V, "momentum must be in [0, 1]"),
    "BatchNorm one value per channel": (
        lambda: BatchNorm1d(3)(torch.randn(1, 3)),
        V,
        "more than 1 value per channel in training",
    ),
    "BatchNorm1d channels": (
        lambda: BatchNorm1d(3).eval()(torch.randn(2, 1)),
        V,
        "x must have shape (N, C) or (N, C, L) with C = 3",
    ),
    "BatchNorm2d rank": (
        lambda: BatchNorm2d(3)(torch.randn(3, 8, 8)),
        V,
        "x must have shape (N, C, H, W) with C = 3",
    ),
    # initialization
    "calculate_gain nonlinearity": (
        lambda: calculate_gain("leaky_relu"),
        V,
        "nonlinearity must be one of",
    ),
    "kaiming mode": (
        lambda: kaiming_uniform_(torch.empty(8, 4), mode="fan_avg"),
        V,
        "mode must be 'fan_in' or 'fan_out'",
    ),
    "fans of a bias": (
        lambda: kaiming_normal_(torch.nn.Linear(4, 3).bias),
        V,
        "tensor must have at least 2 dimensions",
    ),
    "layer_statistics no layer to watch": (
        lambda: layer_statistics(torch.nn.Sequential(torch.nn.ReLU()), X2, Y2),
        V,
        "model has no Linear layer to watch",
    ),
    "layer_statistics unused layer": (
        lambda: layer_statistics(_WithUnusedLayer(), X2, Y2),
        V,
        "layer 'unused' took no part in the forward pass",
    ),
    # penalties, lasso, polynomials
    "penalty of an exhausted generator": (
        lambda: l1_penalty(_spent_parameters()),
        V,
        "params holds no tensor: an exhausted generator?",
    ),
    "elastic_net_penalty l1_ratio": (
        lambda: elastic_net_penalty([torch.ones(2)], l1_ratio=1.5),
        V,
        "l1_ratio must be in [0, 1]",
    ),
    "WeightPenalty kind": (
        lambda: WeightPenalty("L2", 0.1),
        V,
        "kind must be 'l1', 'l2' or 'elastic_net'",
    ),
    "WeightPenalty strength": (
        lambda: WeightPenalty("l2", -0.1),
        V,
        "strength must be a finite number >= 0",
    ),
    "L2SP strength": (
        lambda: L2SP({"0.weight": torch.zeros(8, 4)}, -0.1),
        V,
        "strength must be a finite number >= 0",
    ),
    "L2SP reference of another shape": (
        lambda: L2SP({"0.weight": torch.zeros(4, 8)}, 0.1)(_mlp()),
        V,
        "reference['0.weight'] has shape (4, 8), the model's parameter (8, 4)",
    ),
    "L2SP reference sharing no name with the model": (
        lambda: L2SP({"module.0.weight": torch.zeros(8, 4)}, 0.1)(_mlp()),
        V,
        "reference names none of the model's trainable parameters",
    ),
    "soft_threshold_ threshold": (
        lambda: soft_threshold_(torch.ones(3), -0.1),
        V,
        "threshold must be a finite number >= 0",
    ),
    "lasso y as a column": (
        lambda: proximal_gradient(XL, YL[:, None], alpha=0.1),
        V,
        "x must be (n, d), y (n,) and w0 (d,)",
    ),
    "lasso alpha": (
        lambda: proximal_gradient(XL, YL, alpha=-0.1),
        V,
        "alpha must be a finite number >= 0",
    ),
    "subgradient_descent lr": (
        lambda: subgradient_descent(XL, YL, alpha=0.1, lr=-0.1),
        V,
        "lr must be a finite number >= 0",
    ),
    "polynomial x as a column": (
        lambda: fit_polynomial(X1[:, None], X1, 2),
        V,
        "x must be 1-D, of shape (N,)",
    ),
    "polynomial degree": (lambda: polynomial_features(X1, -1), V, "degree must be >= 0"),
}


@pytest.mark.parametrize(("call", "error", "phrase"), CASES.values(), ids=CASES.keys())
def test_a_plausible_mistake_is_refused_naming_the_argument(call, error, phrase):
    with pytest.raises(error, match=re.escape(phrase)):
        call()
