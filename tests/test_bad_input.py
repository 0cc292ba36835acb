"""Bad input, everywhere: the inventory of what every public callable of coursepkg refuses.

Every name in the ``__all__`` of a coursepkg module (``coursepkg.exercises`` and
``coursepkg.__main__`` aside) that is callable and defined there has rows in
:data:`CASES`: calls with a wrong type, a wrong shape, an out-of-range value or an
empty input, one argument varied at a time from a small valid call. Each must
raise ``ValueError`` or ``TypeError`` (the one the row names) whose message
names the argument and says what is allowed. :func:`test_every_public_callable_is_in_the_table`
keeps the table complete as the package grows.

The numeric domains (penalties, dropout, schedules, initialization) are also
explored with Hypothesis: any value outside the allowed range is refused naming
its argument, and any value inside is accepted and gives a sane result.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import pkgutil
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import coursepkg
from coursepkg import (
    augment,
    batchnorm,
    data,
    early_stopping,
    editions,
    grading,
    initialization,
    lasso,
    metrics,
    models,
    penalties,
    plotting,
    polynomial,
    range_test,
    resnet,
    schedules,
    stats,
    training,
    utils,
    visibility,
)

# coursepkg re-exports the functions dropout and pca under their modules' names.
dropout = importlib.import_module("coursepkg.dropout")
pca = importlib.import_module("coursepkg.pca")

V, T = ValueError, TypeError
NAN, INF = math.nan, math.inf


# --- small valid inputs, built once -----------------------------------------------------------

GEN = torch.Generator().manual_seed(0)
IMAGES = torch.rand(2, 3, 8, 8, generator=GEN)  # a batch of RGB images in [0, 1]
X = torch.randn(6, 4, generator=GEN)  # 6 samples, 4 features
Y = torch.tensor([0, 1, 2, 0, 1, 2])  # their labels, 3 classes
LOGITS = torch.randn(6, 3, generator=GEN)
MODEL = models.mlp([4, 8, 3])
OPTIMIZER = torch.optim.SGD(MODEL.parameters(), lr=0.1)
LOADER = data.make_loader(X, Y, batch_size=3, shuffle=False)
PARAMS = [torch.randn(3, 4, generator=GEN), torch.randn(3, generator=GEN)]
WEIGHT = torch.empty(3, 4)
XL = torch.randn(5, 3, generator=GEN, dtype=torch.float64)  # a lasso problem
YL = torch.randn(5, generator=GEN, dtype=torch.float64)
WL = torch.zeros(3, dtype=torch.float64)
X1 = torch.linspace(-1, 1, 5, dtype=torch.float64)  # 1-D inputs of the polynomials
COEF = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
CONFUSION = torch.tensor([[3, 1], [0, 2]])
HISTORY = training.History(
    epoch=[1],
    train_loss=[1.0],
    train_acc=[0.5],
    val_loss=[1.0],
    val_acc=[0.5],
    lr=[0.1],
    best_epoch=1,
)
RECORD = range_test.RangeTest(
    np.array([0.01, 0.1, 1.0]), np.array([2.0, 0.5, 1.0]), np.array([2.0, 0.5, 1.0]), False
)
UNBALANCED = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION")])
SCORE = grading.ExerciseScore("ex", "passed", 1, 1, "ok")
# A path inside a file: nothing can be written there, so a call that wrongly goes on
# to write fails with an OSError instead of the expected error, and leaves no trace.
NOWHERE = Path(__file__) / "never-written"
BN1, BN2 = batchnorm.BatchNorm1d(3), batchnorm.BatchNorm2d(3)
DROPOUT = dropout.Dropout(0.5)
STOPPER = early_stopping.EarlyStopping(2)
PENALTY = penalties.WeightPenalty("l2", 0.1)
CLASSES = visibility.VISIBILITY_CLASSES


@functools.cache
def _small_resnet() -> resnet.ResNet:
    return resnet.ResNet([1, 1, 1, 1], num_classes=2)


def _extract_features(*args, **kwargs):
    return resnet.extract_features(_small_resnet(), *args, **kwargs)


def _load_weights(*args, **kwargs):
    return resnet.load_torchvision_weights(_small_resnet(), *args, **kwargs)


def _lambda_lr(*args, **kwargs):
    # A fresh optimizer each time: LambdaLR records its initial rate in it.
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=kwargs.pop("lr", 0.1))
    return schedules.lambda_lr(optimizer, *args, **kwargs)


# --- families of bad values: (value, expected exception) -------------------------------------

NOT_A_NUMBER = [("0.5", T), (None, T), (True, T), ([0.5], T), (1 + 2j, T)]
FRACTION = [(-0.1, V), (1.5, V), (NAN, V), (INF, V), (-INF, V), (10**400, V), *NOT_A_NUMBER]
DROP_P = [(1, V), (1.0, V), *FRACTION]
NONNEGATIVE = [(-1.0, V), (-1e-300, V), (NAN, V), (INF, V), (-INF, V), (10**400, V)]
NONNEGATIVE += NOT_A_NUMBER
POSITIVE = [(0, V), (0.0, V), *NONNEGATIVE]
NOT_A_BOOL = [("no", T), (None, T)]
NOT_A_PATH = [(5, T), (None, T), (["a"], T)]
NOT_CALLABLE = [(5, T), ("f", T)]
NOT_A_MODULE = [("mlp", T), (None, T), (lambda x: x, T)]


def integer(minimum: int) -> list[tuple[object, type[Exception]]]:
    """Bad values of an integer argument that must be ``>= minimum``."""
    return [
        (minimum - 1, V),
        (-(10**20), V),
        (minimum + 0.5, T),
        (float(minimum + 1), T),
        (np.float64(minimum + 1), T),
        (str(minimum + 1), T),
        (None, T),
        (True, T),
    ]


SEED = [*integer(0), (2**64, V)]

# --- the table -------------------------------------------------------------------------------


def _label(target: object, via: object = None) -> str:
    label = f"{target.__module__.removeprefix('coursepkg.')}.{target.__qualname__}"
    if inspect.ismethod(via):
        label += f".{via.__name__}"
    elif isinstance(via, nn.Module):
        label += ".forward"
    return label


def _short(value: object) -> str:
    if isinstance(value, torch.Tensor):
        dtype = (
            "" if value.dtype == torch.float32 else f",{str(value.dtype).removeprefix('torch.')}"
        )
        shape = "x".join(map(str, value.shape)) or "scalar"
        values = f"={value.tolist()}" if 0 < value.numel() <= 4 else ""
        return f"tensor({shape}{dtype}){values}"
    if getattr(value, "__name__", None) == "<lambda>":
        return f"lambda->{value(0)}"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _check_binds(call, args, kwargs) -> None:
    """Fail at collection if a row's arguments do not fit the signature: such a row
    would raise a TypeError ("multiple values for argument") and pass for nothing."""
    try:
        signature = inspect.signature(call.forward if isinstance(call, nn.Module) else call)
    except (TypeError, ValueError):  # e.g. some builtins
        return
    signature.bind(*args, **kwargs)


def case(target, argname, error, /, *args, via=None, note=None, **kwargs):
    """A bad call ``(via or target)(*args, **kwargs)`` that must raise ``error`` naming it."""
    call = target if via is None else via
    _check_binds(call, args, kwargs)
    tag = note or ",".join(_short(a) for a in args)
    return pytest.param(
        target, call, args, kwargs, error, argname, id=f"{_label(target, via)}:{argname}:{tag}"
    )


def vary(target, param, bad, /, *args, via=None, argname=None, **base):
    """Rows that call ``target(*args, **base)`` with ``param`` set to each bad value in turn."""
    _check_binds(target if via is None else via, args, {**base, param: None})
    return [
        pytest.param(
            target,
            target if via is None else via,
            args,
            {**base, param: value},
            error,
            argname or param,
            id=f"{_label(target, via)}:{argname or param}={_short(value)}",
        )
        for value, error in bad
    ]


CASES = [
    # augment -----------------------------------------------------------------------------
    *vary(
        augment.random_flip,
        "x",
        [([[0.5]], V), (None, V), (IMAGES[0], V), (IMAGES[None], V), (IMAGES[:0], V)],
        generator=GEN,
    ),
    *vary(augment.random_flip, "x", [(torch.rand(2, 3, 0, 8), V)], generator=GEN),
    *vary(augment.random_flip, "generator", [(0, T), (None, T), ("g", T)], IMAGES),
    *vary(augment.random_flip, "p", FRACTION, IMAGES, GEN),
    *vary(
        augment.random_crop,
        "x",
        [([[0.5]], V), (IMAGES[0], V), (IMAGES[:0], V)],
        generator=GEN,
        padding=1,
    ),
    *vary(augment.random_crop, "generator", [(0, T), (None, T)], IMAGES, padding=1),
    *vary(augment.random_crop, "padding", [*integer(0), (8, V), (80, V)], IMAGES, GEN),
    *vary(
        augment.color_jitter,
        "x",
        [(IMAGES[:, :1], V), (IMAGES[0], V), ([[0.5]], V), (IMAGES[:0], V)],
        generator=GEN,
        brightness=0.1,
        contrast=0.1,
    ),
    case(
        augment.color_jitter,
        "x",
        T,
        (IMAGES * 255).to(torch.uint8),
        GEN,
        brightness=0.1,
        contrast=0.1,
        note="uint8",
    ),
    *vary(augment.color_jitter, "generator", [(0, T)], IMAGES, brightness=0.1, contrast=0.1),
    *vary(augment.color_jitter, "brightness", FRACTION, IMAGES, GEN, contrast=0.1),
    *vary(augment.color_jitter, "contrast", FRACTION, IMAGES, GEN, brightness=0.1),
    *vary(
        augment.AugmentedLoader,
        "transforms",
        [(5, T), ([1], T), (augment.random_flip, T), ("ab", T), (None, T)],
        LOADER,
    ),
    *vary(
        augment.AugmentedLoader, "loader", [(5, T), (None, T), ("ab", T), ([], V)], transforms=[]
    ),
    *vary(augment.AugmentedLoader, "normalize", NOT_CALLABLE, LOADER, []),
    *vary(augment.AugmentedLoader, "seed", SEED, LOADER, []),
    # batchnorm ---------------------------------------------------------------------------
    *vary(
        batchnorm.normalize,
        "x",
        [([[0.5]], T), (torch.zeros(4, 3, dtype=torch.long), T), (torch.zeros(3), V)],
        mean=torch.zeros(3),
        var=torch.ones(3),
        eps=1e-5,
    ),
    *vary(
        batchnorm.normalize,
        "mean",
        [([0.0] * 3, T), (torch.zeros(4), V), (torch.zeros(1, 3), V)],
        torch.zeros(4, 3),
        var=torch.ones(3),
        eps=1e-5,
    ),
    *vary(
        batchnorm.normalize,
        "var",
        [(None, T), (torch.ones(2), V), (torch.ones(3, 1), V)],
        torch.zeros(4, 3),
        mean=torch.zeros(3),
        eps=1e-5,
    ),
    *vary(
        batchnorm.normalize, "eps", NONNEGATIVE, torch.zeros(4, 3), torch.zeros(3), torch.ones(3)
    ),
    *vary(
        batchnorm.normalize,
        "eps_inside_root",
        NOT_A_BOOL,
        torch.zeros(4, 3),
        torch.zeros(3),
        torch.ones(3),
        eps=1e-5,
    ),
    *vary(batchnorm.BatchNorm1d, "num_features", integer(1)),
    *vary(batchnorm.BatchNorm1d, "eps", NONNEGATIVE, 3),
    *vary(batchnorm.BatchNorm1d, "momentum", FRACTION, 3),
    *vary(batchnorm.BatchNorm1d, "affine", NOT_A_BOOL, 3),
    *vary(batchnorm.BatchNorm2d, "num_features", integer(1)),
    *vary(batchnorm.BatchNorm2d, "eps", NONNEGATIVE, 3),
    *vary(batchnorm.BatchNorm2d, "momentum", FRACTION, 3),
    *vary(
        batchnorm.BatchNorm1d,
        "x",
        [
            ([[0.5] * 3], T),
            (torch.zeros(4, 3, dtype=torch.long), T),
            (torch.zeros(3), V),
            (torch.zeros(2, 3, 4, 4), V),
            (torch.zeros(4, 2), V),
            (torch.zeros(1, 3), V),  # one value per channel: no variance in training
            (torch.zeros(0, 3), V),
        ],
        via=BN1,
    ),
    *vary(
        batchnorm.BatchNorm2d,
        "x",
        [(None, T), (torch.zeros(2, 3, 4), V), (torch.zeros(2, 4, 2, 2), V), (IMAGES[:0], V)],
        via=BN2,
    ),
    # data --------------------------------------------------------------------------------
    *vary(data.true_function, "x", [(0.5, T), ([0.5], T), (None, T)]),
    *vary(data.make_polynomial_regression, "n_train", integer(1)),
    *vary(data.make_polynomial_regression, "n_test", integer(1)),
    *vary(data.make_polynomial_regression, "noise", NONNEGATIVE),
    *vary(data.make_polynomial_regression, "seed", SEED),
    *vary(data.make_sparse_regression, "n_samples", integer(1)),
    *vary(data.make_sparse_regression, "n_features", integer(1)),
    *vary(data.make_sparse_regression, "n_informative", [*integer(0), (21, V)], n_features=20),
    *vary(data.make_sparse_regression, "noise", NONNEGATIVE),
    *vary(data.make_sparse_regression, "seed", SEED),
    *vary(data.load_digits_split, "n_val", [*integer(1), (1797, V)]),
    *vary(data.load_digits_split, "n_test", integer(1)),
    # n_train=None is allowed: all the images left.
    *vary(data.load_digits_split, "n_train", [*integer(1)[:-2], (True, T), (2000, V)]),
    *vary(data.load_digits_split, "seed", SEED, n_train=10),
    *vary(
        data.corrupt_labels,
        "labels",
        [
            ([0, 1], T),
            (Y.float(), T),
            (Y.bool(), T),
            (Y[None], T),
            (torch.tensor([0, 10]), V),
            (torch.tensor([-1, 2]), V),
        ],
        fraction=0.5,
    ),
    *vary(data.corrupt_labels, "fraction", FRACTION, Y),
    *vary(data.corrupt_labels, "num_classes", [*integer(2), (2, V)], Y, 0.5),  # labels reach 2
    *vary(data.corrupt_labels, "seed", SEED, Y, 0.5),
    *vary(data.make_loader, "x", [(X.tolist(), T), (torch.tensor(1.0), V), (X[:5], V)], y=Y),
    *vary(data.make_loader, "y", [(None, T), (Y[:0], V)], X),
    case(data.make_loader, "x", V, X[:0], Y[:0], note="empty"),
    *vary(data.make_loader, "batch_size", integer(1), X, Y),
    *vary(data.make_loader, "shuffle", NOT_A_BOOL, X, Y),
    *vary(data.make_loader, "seed", SEED, X, Y),
    # dropout -----------------------------------------------------------------------------
    *vary(dropout.check_drop_probability, "p", DROP_P),
    *vary(dropout.check_drop_probability, "p", DROP_P[:3], argname="rate", name="rate"),
    *vary(dropout.dropout, "x", [(X.tolist(), T), (Y, T), (None, T)], p=0.5),
    *vary(dropout.dropout, "p", DROP_P, X),
    *vary(dropout.dropout, "training", NOT_A_BOOL, X, 0.5),
    *vary(dropout.dropout, "generator", [(0, T), ("g", T)], X, 0.5),
    *vary(dropout.Dropout, "p", DROP_P),
    *vary(dropout.Dropout, "x", [(X.tolist(), T), (Y, T)], via=DROPOUT),
    # early_stopping ----------------------------------------------------------------------
    *vary(early_stopping.EarlyStopping, "patience", integer(1)),
    *vary(early_stopping.EarlyStopping, "min_delta", NONNEGATIVE, 2),
    *vary(early_stopping.EarlyStopping, "restore_best", NOT_A_BOOL, 2),
    *vary(
        early_stopping.EarlyStopping,
        "loss",
        [("0.5", T), (None, T), ([0.5], T), (True, T)],
        model=MODEL,
        via=STOPPER.step,
    ),
    *vary(early_stopping.EarlyStopping, "model", NOT_A_MODULE, 0.5, via=STOPPER.step),
    *vary(early_stopping.EarlyStopping, "model", NOT_A_MODULE, via=STOPPER.restore),
    # editions ----------------------------------------------------------------------------
    *vary(editions.chapter_paths, "root", NOT_A_PATH),
    *vary(editions.student_notebook, "notebook", [({}, T), ("nb", T), (None, T)]),
    case(editions.student_notebook, "notebook", V, UNBALANCED, note="unbalanced"),
    *vary(editions.student_edition, "out_dir", NOT_A_PATH),
    *vary(editions.student_edition, "root", NOT_A_PATH, NOWHERE),
    *vary(editions.instructor_edition, "out_dir", NOT_A_PATH),
    *vary(editions.instructor_edition, "root", NOT_A_PATH, NOWHERE),
    # grading -----------------------------------------------------------------------------
    *vary(grading.checks_of, "chapter", NOT_A_PATH),
    *vary(grading.grade, "submission", NOT_A_PATH),
    *vary(grading.grade, "root", NOT_A_PATH, NOWHERE / "x.ipynb"),
    *vary(grading.grade, "timeout", integer(1), NOWHERE / "x.ipynb"),
    *vary(grading.write_scores, "scores", [(SCORE, T), (5, T), (None, T)], stem=NOWHERE),
    *vary(grading.write_scores, "scores", [([SCORE, {}], T)], stem=NOWHERE, argname="scores[1]"),
    *vary(grading.write_scores, "stem", NOT_A_PATH, [SCORE]),
    # initialization ----------------------------------------------------------------------
    *vary(
        initialization.calculate_gain,
        "nonlinearity",
        [("relux", V), ("ReLU", V), ("", V), (5, T), ([], T), (None, T), (nn.ReLU, T)],
    ),
    *vary(
        initialization.fan_in_and_fan_out,
        "tensor",
        [
            ([[0.5]], T),
            (None, T),
            (torch.zeros(3), V),
            (torch.zeros(()), V),
            (torch.zeros(0, 3), V),
        ],
    ),
    *[
        row
        for fill in (initialization.xavier_uniform_, initialization.xavier_normal_)
        for row in (
            *vary(
                fill,
                "tensor",
                [
                    ([[0.5]], T),
                    (torch.zeros(3), V),
                    (torch.zeros(3, 0), V),
                    (torch.zeros(3, 4, dtype=torch.long), T),
                ],
            ),
            *vary(fill, "gain", [*POSITIVE, (1e300, V)], WEIGHT),
        )
    ],
    *[
        row
        for fill in (initialization.kaiming_normal_, initialization.kaiming_uniform_)
        for row in (
            *vary(
                fill,
                "tensor",
                [
                    ([[0.5]], T),
                    (torch.zeros(3), V),
                    (torch.zeros(0, 3), V),
                    (torch.zeros(3, 4, dtype=torch.long), T),
                ],
            ),
            *vary(fill, "nonlinearity", [("relux", V), ([], T), (None, T)], WEIGHT),
            *vary(fill, "mode", [("fan", V), ("FAN_IN", V), (None, V), ([], V)], WEIGHT),
        )
    ],
    *vary(initialization.layer_statistics, "model", NOT_A_MODULE, x=X, y=Y),
    *vary(
        initialization.layer_statistics,
        "x",
        [(X.tolist(), T), (None, T), (X[:5], V), (X[:0], V)],
        MODEL,
        y=Y,
    ),
    case(initialization.layer_statistics, "x", V, MODEL, X[:0], Y[:0], note="empty"),
    *vary(
        initialization.layer_statistics,
        "y",
        [(Y.tolist(), T), (Y.float(), T), (Y[None], V), (Y[:5], V)],
        MODEL,
        X,
    ),
    *vary(
        initialization.layer_statistics,
        "layer_type",
        [(5, T), ("Linear", T), (nn.Linear(4, 8), T), (int, T), (nn.Conv2d, V)],
        MODEL,
        X,
        Y,
    ),
    # lasso -------------------------------------------------------------------------------
    *[
        row
        for solver, kwargs in (
            (lasso.elastic_net_objective, {"w": WL, "alpha": 0.1}),
            (lasso.proximal_gradient, {"alpha": 0.1, "steps": 2}),
            (lasso.subgradient_descent, {"alpha": 0.1, "lr": 0.1, "steps": 2}),
        )
        for row in (
            *vary(
                solver,
                "x",
                [
                    (XL.tolist(), T),
                    (XL[:, 0], V),
                    (XL[:4], V),
                    (XL.float(), T),
                    (XL[:, :0], V),
                ],
                y=YL,
                **kwargs,
            ),
            *vary(solver, "y", [(None, T), (YL[:, None], V), (YL[:4], V)], XL, **kwargs),
            case(solver, "x", V, XL[:0], YL[:0], note="empty", **kwargs),
            *vary(solver, "alpha", NONNEGATIVE, XL, YL, **{**kwargs, "alpha": None}),
        )
    ],
    *vary(
        lasso.elastic_net_objective,
        "w",
        [(WL.tolist(), V), (WL[:2], V), (WL.float(), V), (WL[None], V)],
        XL,
        YL,
        alpha=0.1,
    ),
    *vary(lasso.elastic_net_objective, "l1_ratio", FRACTION, XL, YL, WL, alpha=0.1),
    *vary(
        lasso.lipschitz_constant,
        "x",
        [(XL.tolist(), T), (XL.long(), T), (XL[:, 0], V), (XL[:0], V), (XL[:, :0], V)],
    ),
    *vary(lasso.proximal_gradient, "l1_ratio", FRACTION, XL, YL, alpha=0.1, steps=2),
    *vary(lasso.proximal_gradient, "steps", integer(1), XL, YL, alpha=0.1),
    *vary(
        lasso.proximal_gradient, "w0", [(WL.tolist(), V), (WL[:2], V)], XL, YL, alpha=0.1, steps=2
    ),
    *vary(lasso.subgradient_descent, "lr", NONNEGATIVE, XL, YL, alpha=0.1, steps=2),
    *vary(lasso.subgradient_descent, "steps", integer(1), XL, YL, alpha=0.1, lr=0.1),
    *vary(lasso.subgradient_descent, "w0", [(WL[None], V)], XL, YL, alpha=0.1, lr=0.1, steps=2),
    # metrics -----------------------------------------------------------------------------
    *[
        row
        for metric, kwargs in (
            (metrics.accuracy, {}),
            (metrics.confusion_matrix, {"num_classes": 3}),
        )
        for row in (
            *vary(
                metric,
                "outputs",
                [
                    (LOGITS.tolist(), T),
                    (LOGITS[None], V),
                    (LOGITS[:, 0], V),  # 1-D scores are not labels
                    (LOGITS[:5], V),
                ],
                targets=Y,
                **kwargs,
            ),
            *vary(
                metric,
                "targets",
                [(None, T), (Y.float(), V), (Y[None], V), (Y[:5], V)],
                LOGITS,
                **kwargs,
            ),
            case(metric, "targets", V, LOGITS[:0], Y[:0], note="empty", **kwargs),
        )
    ],
    *vary(metrics.confusion_matrix, "num_classes", [*integer(1), (2, V)], LOGITS, Y),
    *vary(
        metrics.confusion_matrix,
        "outputs",
        [(torch.tensor([0, 1, 2, 3, 0, -1]), V)],
        targets=Y,
        num_classes=3,
    ),
    *vary(
        metrics.confusion_matrix,
        "targets",
        [(torch.tensor([0, 1, 2, 3, 0, 1]), V)],
        LOGITS,
        num_classes=3,
    ),
    *vary(
        metrics.precision_recall,
        "confusion",
        [
            (CONFUSION.tolist(), T),
            (None, T),
            (CONFUSION[0], V),
            (CONFUSION[:1], V),
            (CONFUSION[:0, :0], V),
            (-CONFUSION, V),
            (torch.tensor([[1.0, NAN], [0.0, 1.0]]), V),
            (torch.tensor([[1.0, INF], [0.0, 1.0]]), V),
        ],
    ),
    # models ------------------------------------------------------------------------------
    *vary(
        models.mlp,
        "sizes",
        [([4], V), ([], V), (5, V), ("48", V), (None, V), ({4, 8}, V)],
    ),
    *vary(models.mlp, "sizes", [([4, 0], V), ([4, 2.5], T), ([4, "8"], T)], argname="sizes[1]"),
    *vary(
        models.mlp, "activation", [(nn.ReLU(), T), ("relu", T), (torch.relu, T), (int, T)], [4, 3]
    ),
    *vary(models.mlp, "dropout", DROP_P, [4, 3]),
    *vary(models.mlp, "batch_norm", NOT_A_BOOL, [4, 3]),
    # pca ---------------------------------------------------------------------------------
    *vary(
        pca.pca,
        "x",
        [
            (X.tolist(), V),
            (X[:, 0], V),
            (X[:1], V),
            (X[:0], V),
            (X[:2, :2].masked_fill(X[:2, :2] > 0, NAN), V),
            (X[:2, :2].masked_fill(X[:2, :2] > 0, INF), V),
        ],
    ),
    *vary(pca.pca, "n_components", [*integer(1), (5, V)], X),
    # penalties ---------------------------------------------------------------------------
    *[
        row
        for penalty, kwargs in (
            (penalties.l1_penalty, {}),
            (penalties.l2_penalty, {}),
            (penalties.elastic_net_penalty, {"l1_ratio": 0.5}),
            (penalties.sparsity, {}),
        )
        for row in (
            *vary(
                penalty, "params", [(5, T), (None, T), (MODEL, T), ([], V), (iter([]), V)], **kwargs
            ),
            *vary(penalty, "params", [([1.0], T), ("ab", T)], argname="params[0]", **kwargs),
            *vary(penalty, "params", [([PARAMS[0], None], T)], argname="params[1]", **kwargs),
        )
    ],
    *vary(penalties.elastic_net_penalty, "l1_ratio", FRACTION, PARAMS),
    *vary(penalties.sparsity, "tol", NONNEGATIVE, PARAMS),
    *vary(
        penalties.WeightPenalty,
        "kind",
        [("l3", V), ("L2", V), (None, V), (2, V), ([], V)],
        strength=0.1,
    ),
    *vary(penalties.WeightPenalty, "strength", NONNEGATIVE, "l2"),
    *vary(penalties.WeightPenalty, "l1_ratio", FRACTION, "elastic_net", 0.1),
    *vary(penalties.WeightPenalty, "model", [*NOT_A_MODULE, (PARAMS, T)], via=PENALTY),
    *vary(
        penalties.soft_threshold_,
        "tensor",
        [(PARAMS[0].tolist(), T), (torch.zeros(3, dtype=torch.long), T), (None, T)],
        threshold=0.1,
    ),
    *vary(penalties.soft_threshold_, "threshold", NONNEGATIVE, torch.zeros(3)),
    *vary(penalties.split_decay_parameters, "model", [*NOT_A_MODULE, (PARAMS, T)]),
    *vary(penalties.decay_param_groups, "model", NOT_A_MODULE, weight_decay=0.1),
    *vary(penalties.decay_param_groups, "weight_decay", NONNEGATIVE, MODEL),
    # plotting ----------------------------------------------------------------------------
    *vary(
        plotting.plot_learning_curves,
        "history",
        [({}, T), (None, T), ([HISTORY], T), (training.History(), V)],
    ),
    *vary(
        plotting.plot_learning_curves, "metric", [("los", V), ("val_loss", V), (None, V)], HISTORY
    ),
    *vary(plotting.plot_learning_curves, "ax", [("ax", T), (5, T), (plt, T)], HISTORY),
    *vary(plotting.plot_runs, "runs", [({}, V), ([HISTORY], V), (None, V), (HISTORY, V)]),
    *vary(plotting.plot_runs, "runs", [({"a": 5}, T)], argname="runs['a']"),
    *vary(plotting.plot_runs, "metric", [("acc", V), ("loss", V), (None, V)], {"a": HISTORY}),
    *vary(plotting.plot_runs, "ax", [("ax", T)], {"a": HISTORY}),
    *vary(plotting.plot_schedules, "total_steps", integer(1), {"a": float}),
    *vary(plotting.plot_schedules, "schedules", [({}, V), ([float], V), (None, V)], total_steps=3),
    *vary(
        plotting.plot_schedules,
        "schedules",
        [({"a": 5}, T)],
        total_steps=3,
        argname="schedules['a']",
    ),
    *vary(plotting.plot_schedules, "ax", [("ax", T)], {"a": float}, 3),
    # polynomial --------------------------------------------------------------------------
    *vary(
        polynomial.polynomial_features,
        "x",
        [(X1.tolist(), T), (X1.long(), T), (X1[None], V), (X1[:0], V), (None, T)],
        degree=2,
    ),
    *vary(polynomial.polynomial_features, "degree", integer(0), X1),
    *vary(
        polynomial.fit_polynomial,
        "x",
        [(X1.tolist(), T), (X1[None], V), (X1[:0], V)],
        y=X1,
        degree=2,
    ),
    *vary(
        polynomial.fit_polynomial,
        "y",
        [(X1.tolist(), T), (X1.float(), T), (X1[None], V), (X1[:0], V)],
        X1,
        degree=2,
    ),
    case(polynomial.fit_polynomial, "x and y", V, X1, X1[:4], 2, note="lengths"),
    *vary(polynomial.fit_polynomial, "degree", integer(0), X1, X1),
    *vary(
        polynomial.predict_polynomial,
        "coef",
        [(COEF.tolist(), T), (COEF[None], V), (COEF[:0], V), (COEF.long(), T)],
        x=X1,
    ),
    *vary(polynomial.predict_polynomial, "x", [(None, T), (X1.float(), T), (X1[:0], V)], COEF),
    *vary(
        polynomial.mean_squared_error,
        "prediction",
        [(X1.tolist(), T), (X1[None], V), (X1[:0], V)],
        target=X1,
    ),
    *vary(polynomial.mean_squared_error, "target", [(None, T), (X1.float(), T), (X1[:4], V)], X1),
    # range_test --------------------------------------------------------------------------
    *vary(
        range_test.RangeTest,
        "divisor",
        [(0.5, V), (0, V), (-2, V), (NAN, V), ("3", V), (None, V), (True, V)],
        via=RECORD.suggestion,
    ),
    *vary(range_test.lr_range_test, "model", NOT_A_MODULE, loader=LOADER, optimizer=OPTIMIZER),
    *vary(
        range_test.lr_range_test,
        "loader",
        [(5, T), (None, T), ("ab", T), ([], V)],
        MODEL,
        optimizer=OPTIMIZER,
    ),
    *vary(
        range_test.lr_range_test,
        "optimizer",
        [(None, T), ("sgd", T), (torch.optim.SGD, T)],
        MODEL,
        LOADER,
    ),
    *vary(
        range_test.lr_range_test,
        "min_lr",
        [(0.0, V), (-1e-3, V), (NAN, V), (20.0, V), ("1e-4", T), (True, T), (None, T)],
        MODEL,
        LOADER,
        OPTIMIZER,
    ),
    *vary(
        range_test.lr_range_test,
        "max_lr",
        [(INF, V), (NAN, V), (1e-5, V), ("10", T), (None, T)],
        MODEL,
        LOADER,
        OPTIMIZER,
    ),
    *vary(range_test.lr_range_test, "num_steps", integer(2), MODEL, LOADER, OPTIMIZER),
    *vary(
        range_test.lr_range_test, "beta", [(1, V), (1.0, V), *FRACTION], MODEL, LOADER, OPTIMIZER
    ),
    *vary(
        range_test.lr_range_test,
        "diverge_factor",
        [(1.0, V), (0.5, V), (NAN, V), ("4", V), (True, V), (None, V)],
        MODEL,
        LOADER,
        OPTIMIZER,
    ),
    *vary(range_test.lr_range_test, "loss_fn", NOT_CALLABLE, MODEL, LOADER, OPTIMIZER),
    # resnet ------------------------------------------------------------------------------
    *vary(resnet.Bottleneck, "inplanes", integer(1), planes=4),
    *vary(resnet.Bottleneck, "planes", integer(1), 16),
    *vary(resnet.Bottleneck, "stride", integer(1), 16, 4),
    *vary(resnet.Bottleneck, "downsample", [("conv", T), (5, T), (nn.Conv2d, T)], 16, 4),
    *vary(resnet.Bottleneck, "residual", NOT_A_BOOL, 16, 4),
    *vary(resnet.ResNet, "layers", [([3, 4, 6], V), (5, T), (None, T), ("3463", T), ([], V)]),
    *vary(resnet.ResNet, "layers", [([3, 4, 0, 3], V), ([3, 4, 2.5, 3], T)], argname="layers[2]"),
    *vary(resnet.ResNet, "num_classes", integer(1), [1, 1, 1, 1]),
    *vary(resnet.ResNet, "dropout", DROP_P, [1, 1, 1, 1]),
    *vary(resnet.ResNet, "zero_init_residual", NOT_A_BOOL, [1, 1, 1, 1]),
    *vary(resnet.ResNet, "residual", NOT_A_BOOL, [1, 1, 1, 1]),
    *vary(resnet.resnet50, "num_classes", integer(1)),
    *vary(resnet.resnet50, "dropout", DROP_P),
    *vary(resnet.resnet50, "zero_init_residual", NOT_A_BOOL),
    *vary(resnet.resnet50, "residual", NOT_A_BOOL),
    case(resnet.resnet50, "zero_init_residual", V, zero_init_residual=True, residual=False),
    *vary(resnet.extract_features, "model", [(MODEL, T), (None, T)], x=IMAGES),
    *vary(
        resnet.extract_features,
        "x",
        [
            (IMAGES.tolist(), T),
            (None, T),
            (IMAGES[0], V),
            (IMAGES[:, :1], V),
            (IMAGES[:0], V),
            (IMAGES.long(), T),
        ],
        via=_extract_features,
    ),
    *vary(resnet.extract_features, "batch_size", integer(1), IMAGES, via=_extract_features),
    *vary(resnet.load_torchvision_weights, "model", [(MODEL, T), (None, T)], path=NOWHERE),
    *vary(resnet.load_torchvision_weights, "path", NOT_A_PATH, via=_load_weights),
    # schedules ---------------------------------------------------------------------------
    *[
        row
        for schedule, kwargs in (
            (schedules.step_decay, {"base_lr": 0.1, "step_size": 3, "gamma": 0.5}),
            (schedules.exponential_decay, {"base_lr": 0.1, "decay_rate": 0.5, "decay_steps": 3}),
            (schedules.cosine_annealing, {"base_lr": 0.1, "total_steps": 10}),
            (schedules.warmup_cosine, {"base_lr": 0.1, "warmup_steps": 2, "total_steps": 10}),
            (schedules.one_cycle, {"max_lr": 0.1, "total_steps": 10}),
        )
        for row in (
            *vary(schedule, "step", integer(0), **kwargs),
            *vary(schedule, "max_lr" if "max_lr" in kwargs else "base_lr", POSITIVE, 3, **kwargs),
        )
    ],
    *vary(schedules.step_decay, "step_size", integer(1), 3, base_lr=0.1, gamma=0.5),
    *vary(
        schedules.step_decay, "gamma", [(0, V), (0.0, V), *FRACTION], 3, base_lr=0.1, step_size=3
    ),
    *vary(
        schedules.exponential_decay,
        "decay_rate",
        [(0.0, V), *FRACTION],
        3,
        base_lr=0.1,
        decay_steps=3,
    ),
    *vary(schedules.exponential_decay, "decay_steps", integer(1), 3, base_lr=0.1, decay_rate=0.5),
    *vary(
        schedules.exponential_decay,
        "staircase",
        NOT_A_BOOL,
        3,
        base_lr=0.1,
        decay_rate=0.5,
        decay_steps=3,
    ),
    *vary(schedules.cosine_annealing, "total_steps", integer(1), 3, base_lr=0.1),
    *vary(
        schedules.cosine_annealing,
        "min_lr",
        [(0.2, V), *NONNEGATIVE],
        3,
        base_lr=0.1,
        total_steps=10,
    ),
    *vary(
        schedules.warmup_cosine,
        "warmup_steps",
        [*integer(0), (10, V), (11, V)],
        3,
        base_lr=0.1,
        total_steps=10,
    ),
    *vary(schedules.warmup_cosine, "total_steps", integer(1), 3, base_lr=0.1, warmup_steps=0),
    *vary(
        schedules.warmup_cosine,
        "min_lr",
        [(0.2, V), *NONNEGATIVE],
        3,
        base_lr=0.1,
        warmup_steps=2,
        total_steps=10,
    ),
    *vary(schedules.one_cycle, "total_steps", integer(2), 3, max_lr=0.1),
    *vary(
        schedules.one_cycle,
        "pct_start",
        [(0.0, V), (0.1, V), (1.0, V), *FRACTION],
        3,
        max_lr=0.1,
        total_steps=10,
    ),
    *[
        row
        for factor in ("div_factor", "final_div_factor")
        for row in vary(
            schedules.one_cycle,
            factor,
            [(0.5, V), (0, V), (-25.0, V), (NAN, V), (INF, V), ("25", T), (None, T), (True, T)],
            3,
            max_lr=0.1,
            total_steps=10,
        )
    ],
    *vary(
        schedules.one_cycle,
        "anneal",
        [("cosine", V), ("COS", V), (None, V), (5, V)],
        3,
        max_lr=0.1,
        total_steps=10,
    ),
    *vary(schedules.lambda_lr, "optimizer", [(None, T), (MODEL, T), ("sgd", T)], schedule=float),
    *vary(schedules.lambda_lr, "schedule", [*NOT_CALLABLE, (None, T)], via=_lambda_lr),
    *vary(
        schedules.lambda_lr,
        "schedule",
        [(lambda step: -1.0, V), (lambda step: NAN, V), (lambda step: INF, V)],
        via=_lambda_lr,
    ),
    case(schedules.lambda_lr, "optimizer", V, float, lr=0.0, via=_lambda_lr, note="lr=0"),
    # training ----------------------------------------------------------------------------
    *vary(
        training.History, "metric", [("val", V), ("loss", V), (None, V), (5, V)], via=HISTORY.best
    ),
    *vary(training.evaluate, "model", NOT_A_MODULE, loader=LOADER),
    *vary(training.evaluate, "loader", [(5, T), (None, T), ("ab", T), ([], V), ((), V)], MODEL),
    *vary(training.evaluate, "loss_fn", NOT_CALLABLE, MODEL, LOADER),
    *vary(training.fit, "model", NOT_A_MODULE, train_loader=LOADER, epochs=1, optimizer=OPTIMIZER),
    *vary(
        training.fit,
        "train_loader",
        [(5, T), (None, T), ("ab", T), ([], V)],
        MODEL,
        epochs=1,
        optimizer=OPTIMIZER,
    ),
    *vary(training.fit, "epochs", integer(1), MODEL, LOADER, optimizer=OPTIMIZER),
    *vary(
        training.fit,
        "optimizer",
        [(None, T), ("sgd", T), (torch.optim.SGD, T)],
        MODEL,
        LOADER,
        epochs=1,
    ),
    *vary(
        training.fit,
        "val_loader",
        [(5, T), ("ab", T), ([], V)],
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
    ),
    *vary(
        training.fit,
        "early_stopping",
        [("stop", T), (2, T)],
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
        val_loader=LOADER,
    ),
    case(
        training.fit,
        "val_loader",
        V,
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
        early_stopping=early_stopping.EarlyStopping(2),
        note="early_stopping-without-val_loader",
    ),
    *vary(
        training.fit,
        "scheduler",
        [("cos", T), (OPTIMIZER, T), (float, T)],
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
    ),
    *vary(
        training.fit,
        "scheduler_interval",
        [("batch", V), (None, V), ("Epoch", V)],
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
    ),
    case(
        training.fit,
        "scheduler_interval",
        V,
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
        scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(OPTIMIZER),
        scheduler_interval="step",
        note="plateau-per-step",
    ),
    *[
        row
        for name in ("loss_fn", "penalty")
        for row in vary(
            training.fit, name, NOT_CALLABLE, MODEL, LOADER, epochs=1, optimizer=OPTIMIZER
        )
    ],
    *vary(
        training.fit,
        "progress",
        NOT_A_BOOL,
        MODEL,
        LOADER,
        epochs=1,
        optimizer=OPTIMIZER,
    ),
    # utils -------------------------------------------------------------------------------
    *vary(
        utils.check_type,
        "value",
        [("3", T), (None, T), (3.0, T)],
        expected=int,
        name="count",
        label="int",
        argname="count",
    ),
    *vary(utils.check_positive_int, "value", integer(1), name="width", argname="width"),
    *vary(
        utils.check_positive_int, "value", integer(5)[:1], name="width", minimum=5, argname="width"
    ),
    *vary(utils.check_nonnegative, "value", NONNEGATIVE, name="strength", argname="strength"),
    *vary(utils.check_fraction, "value", FRACTION, name="ratio", argname="ratio"),
    *vary(utils.check_seed, "value", SEED, argname="seed"),
    *vary(utils.check_seed, "value", SEED[:2], name="start", argname="start"),
    *vary(
        utils.check_path, "value", [*NOT_A_PATH, (b"bytes", T)], name="out_dir", argname="out_dir"
    ),
    *vary(utils.glue, "name", [(3, T), (None, T), (b"ch1", T)], value=0.5, display=False),
    *vary(utils.glue, "display", NOT_A_BOOL, "ch1_value", 0.5),
    *vary(utils.seed_everything, "seed", [*integer(0), (2**32, V)]),
    *vary(utils.seeded_generator, "seed", [*integer(0), (2**64, V)]),
    *vary(utils.show_source, "obj", [(3, T), (None, T), (len, T), ("fit", T)]),
    *vary(utils.show_source, "docstring", NOT_A_BOOL, utils.get_device),
    # visibility --------------------------------------------------------------------------
    *vary(
        visibility.visibility_to_beta,
        "visibility",
        [
            (0, V),
            (0.0, V),
            (-1.0, V),
            (NAN, V),
            (INF, V),
            ("2", T),
            (None, T),
            (True, T),
            ([2.0], T),
            (torch.tensor([2.0, 0.0]), V),
            (torch.tensor([2.0, NAN]), V),
            (torch.tensor([2.0, INF]), V),
        ],
    ),
    *vary(
        visibility.haze,
        "clear",
        [
            (IMAGES.tolist(), T),
            (IMAGES[0], V),
            (IMAGES[:, :1], V),
            (IMAGES[:0], V),
            (IMAGES.long(), T),
        ],
        depth=torch.ones(2, 1, 8, 8),
        beta=torch.ones(2),
        airlight=torch.ones(2, 3),
    ),
    *vary(
        visibility.haze,
        "depth",
        [
            (None, T),
            (torch.ones(2, 3, 8, 8), V),
            (torch.ones(2, 1, 4, 4), V),
            (torch.ones(1, 1, 8, 8), V),
            (-torch.ones(2, 1, 8, 8), V),
        ],
        IMAGES,
        beta=torch.ones(2),
        airlight=torch.ones(2, 3),
    ),
    *vary(
        visibility.haze,
        "beta",
        [(1.0, T), (torch.ones(3), V), (torch.ones(2, 1), V), (torch.tensor([1.0, -1.0]), V)],
        IMAGES,
        torch.ones(2, 1, 8, 8),
        airlight=torch.ones(2, 3),
    ),
    *vary(
        visibility.haze,
        "airlight",
        [([1.0, 1.0, 1.0], T), (torch.ones(2, 1), V), (torch.ones(3), V), (torch.ones(1, 3), V)],
        IMAGES,
        torch.ones(2, 1, 8, 8),
        torch.ones(2),
    ),
    # stats ---------------------------------------------------------------------------------
    *vary(stats.compare, "a", [([1.0, 2.0, 3.0, 4.0], V), ([1.0, 2.0, 3.0, 4.0, NAN], V)], b=0.0),
    *vary(stats.compare, "b", [([1.0, 2.0], V), ([1.0, 2.0, 3.0, 4.0, INF], V)], [1.0] * 5),
    *vary(visibility.make_visibility_data, "n", integer(1)),
    *vary(visibility.make_visibility_data, "image_size", integer(8), 4),
    *vary(visibility.make_visibility_data, "seed", SEED, 4),
    *vary(
        visibility.make_visibility_data,
        "classes",
        [
            ((), V),
            (None, V),
            ("abc", V),
            ((("a", 2.0, 1.0),), V),
            ((("a", 0.0, 1.0),), V),
            ((("a", 1.0),), V),
            ((("a", 1.0, 2.0, 3.0),), V),
            ((("a", 1.0, "2"),), V),
            ((("a", NAN, 2.0),), V),
            ((("a", 1.0, INF),), V),
            ((CLASSES[0], 5), V),
        ],
        4,
    ),
]


def _names(argname: str) -> str:
    """A pattern that finds ``argname`` as a whole word in a message."""
    return rf"(?<![\w.]){re.escape(argname)}(?!\w)"


def _says_what_is_allowed(message: str) -> bool:
    return re.search(r"\b(must|needs?)\b", message) is not None


@pytest.mark.parametrize(("target", "call", "args", "kwargs", "error", "argname"), CASES)
def test_a_bad_input_is_refused_naming_the_argument(target, call, args, kwargs, error, argname):
    with pytest.raises(error, match=_names(argname)) as info:
        call(*args, **kwargs)
    assert _says_what_is_allowed(str(info.value)), str(info.value)


# --- the table is complete -------------------------------------------------------------------

# Public callables with no argument a caller could get wrong: pure records, whose
# fields are stored as given (Python itself refuses a missing or extra field), and
# functions without parameters.
EXEMPT = {
    "coursepkg.data.DigitsSplit": "NamedTuple record of the split tensors",
    "coursepkg.data.RegressionData": "NamedTuple record of the generated tensors",
    "coursepkg.data.SparseRegression": "NamedTuple record of the generated tensors",
    "coursepkg.pca.PCA": "NamedTuple record of pca's results",
    "coursepkg.visibility.VisibilityData": "NamedTuple record of the generated data",
    "coursepkg.grading.Check": "frozen dataclass record, built by checks_of only",
    "coursepkg.grading.ExerciseScore": "frozen dataclass record, built by grade only",
    "coursepkg.stats.Comparison": "frozen dataclass record, built by compare only",
    "coursepkg.initialization.LayerStats": "dataclass record, filled by layer_statistics only",
    "coursepkg.utils.get_device": "takes no arguments",
}


def _skipped(name: str) -> bool:
    return name == "coursepkg.__main__" or name.startswith("coursepkg.exercises")


def _on_import_error(name: str) -> None:
    if not _skipped(name):
        raise ImportError(f"cannot import {name}")


def _public_callables() -> dict[str, object]:
    found = {}
    for info in pkgutil.walk_packages(coursepkg.__path__, "coursepkg.", onerror=_on_import_error):
        if _skipped(info.name):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if callable(obj) and getattr(obj, "__module__", None) == info.name:
                found[f"{info.name}.{name}"] = obj
    return found


def test_every_public_callable_is_in_the_table():
    public = _public_callables()
    assert len(public) > 60  # the walk found the package
    in_table = {id(p.values[0]) for p in CASES}
    missing = [name for name, obj in public.items() if id(obj) not in in_table]
    assert [name for name in missing if name not in EXEMPT] == []
    # The exemptions are current: each exists and has no rows.
    assert set(EXEMPT) <= set(public)
    assert [name for name in EXEMPT if id(public[name]) in in_table] == []
    # Each row's target is public.
    public_ids = {id(obj) for obj in public.values()}
    assert [p.id for p in CASES if id(p.values[0]) not in public_ids] == []


def test_table_ids_are_unique():
    ids = [p.id for p in CASES]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]


# --- Hypothesis: the numeric domains ---------------------------------------------------------

EXPLORE = settings(max_examples=60, deadline=None, derandomize=True, database=None)
CONFIRM = settings(max_examples=40, deadline=None, derandomize=True, database=None)

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
NON_NUMBERS = st.one_of(
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.floats(allow_nan=False), max_size=2),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
    st.builds(object),
)


def expect_refusal(call, error, argname):
    """Call ``call()`` and check it raises ``error`` naming ``argname``."""
    with pytest.raises(error, match=_names(argname)) as info:
        call()
    assert _says_what_is_allowed(str(info.value)), str(info.value)


class Domain(NamedTuple):
    """The finite floats allowed between ``low`` and ``high``, each end open or closed."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    def contains(self, v: float) -> bool:
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below and math.isfinite(v)

    def inside(self):
        return st.floats(
            self.low,
            None if self.high == INF else self.high,
            exclude_min=self.low_open,
            exclude_max=self.high_open and self.high != INF,
            allow_nan=False,
            allow_infinity=False,
        )

    def outside(self):
        """Floats outside the domain, nan and ±inf always among them."""
        others = ANY_FLOAT.filter(lambda v: not self.contains(v))
        return st.one_of(st.just(NAN), st.just(INF), st.just(-INF), others)


UNIT = Domain(0, 1, False, False)  # [0, 1]
UNIT_OPEN_ABOVE = Domain(0, 1, False, True)  # [0, 1)
UNIT_OPEN_BELOW = Domain(0, 1, True, False)  # (0, 1]
NONNEGATIVE_REALS = Domain(0, INF, False, True)  # [0, inf)
POSITIVE_REALS = Domain(0, INF, True, True)  # (0, inf)
# A gain is > 0 and small enough that the scale of a float32 weight stays representable.
GAINS = Domain(0, torch.finfo(torch.float32).max / 2, True, False)

# Each numeric argument of the four numeric modules: how to call with it set to v,
# its name, and its domain.
NUMERIC_ARGUMENTS = {
    "elastic_net_penalty.l1_ratio": (
        lambda v: penalties.elastic_net_penalty(PARAMS, l1_ratio=v),
        "l1_ratio",
        UNIT,
    ),
    "WeightPenalty.strength": (
        lambda v: penalties.WeightPenalty("l1", v),
        "strength",
        NONNEGATIVE_REALS,
    ),
    "WeightPenalty.l1_ratio": (
        lambda v: penalties.WeightPenalty("elastic_net", 0.1, l1_ratio=v),
        "l1_ratio",
        UNIT,
    ),
    "soft_threshold_.threshold": (
        lambda v: penalties.soft_threshold_(torch.zeros(3), v),
        "threshold",
        NONNEGATIVE_REALS,
    ),
    "sparsity.tol": (lambda v: penalties.sparsity(PARAMS, tol=v), "tol", NONNEGATIVE_REALS),
    "decay_param_groups.weight_decay": (
        lambda v: penalties.decay_param_groups(MODEL, weight_decay=v),
        "weight_decay",
        NONNEGATIVE_REALS,
    ),
    "dropout.p": (lambda v: dropout.dropout(X, v), "p", UNIT_OPEN_ABOVE),
    "Dropout.p": (lambda v: dropout.Dropout(v), "p", UNIT_OPEN_ABOVE),
    "check_drop_probability.p": (
        lambda v: dropout.check_drop_probability(v),
        "p",
        UNIT_OPEN_ABOVE,
    ),
    "step_decay.base_lr": (
        lambda v: schedules.step_decay(3, base_lr=v, step_size=2, gamma=0.5),
        "base_lr",
        POSITIVE_REALS,
    ),
    "step_decay.gamma": (
        lambda v: schedules.step_decay(3, base_lr=0.1, step_size=2, gamma=v),
        "gamma",
        UNIT_OPEN_BELOW,
    ),
    "exponential_decay.decay_rate": (
        lambda v: schedules.exponential_decay(3, base_lr=0.1, decay_rate=v, decay_steps=2),
        "decay_rate",
        UNIT_OPEN_BELOW,
    ),
    "cosine_annealing.min_lr": (
        lambda v: schedules.cosine_annealing(3, base_lr=0.1, total_steps=10, min_lr=v),
        "min_lr",
        Domain(0, 0.1, False, False),
    ),
    "warmup_cosine.base_lr": (
        lambda v: schedules.warmup_cosine(3, base_lr=v, warmup_steps=2, total_steps=10),
        "base_lr",
        POSITIVE_REALS,
    ),
    "one_cycle.max_lr": (
        lambda v: schedules.one_cycle(3, max_lr=v, total_steps=10),
        "max_lr",
        POSITIVE_REALS,
    ),
    "one_cycle.div_factor": (
        lambda v: schedules.one_cycle(3, max_lr=0.1, total_steps=10, div_factor=v),
        "div_factor",
        Domain(1, INF, False, True),
    ),
    "one_cycle.final_div_factor": (
        lambda v: schedules.one_cycle(3, max_lr=0.1, total_steps=10, final_div_factor=v),
        "final_div_factor",
        Domain(1, INF, False, True),
    ),
    "xavier_uniform_.gain": (
        lambda v: initialization.xavier_uniform_(torch.empty(3, 4), gain=v),
        "gain",
        GAINS,
    ),
    "xavier_normal_.gain": (
        lambda v: initialization.xavier_normal_(torch.empty(3, 4), gain=v),
        "gain",
        GAINS,
    ),
}


@pytest.mark.parametrize("key", sorted(NUMERIC_ARGUMENTS))
@EXPLORE
@given(data=st.data())
def test_any_number_outside_the_domain_is_refused(key, data):
    call, argname, domain = NUMERIC_ARGUMENTS[key]
    value = data.draw(domain.outside(), label=argname)
    expect_refusal(lambda: call(value), ValueError, argname)


@pytest.mark.parametrize("key", sorted(NUMERIC_ARGUMENTS))
@CONFIRM
@given(data=st.data())
def test_any_number_inside_the_domain_is_accepted(key, data):
    call, argname, domain = NUMERIC_ARGUMENTS[key]
    result = call(data.draw(domain.inside(), label=argname))
    if isinstance(result, torch.Tensor):
        assert not result.isnan().any()
    elif isinstance(result, float):
        assert math.isfinite(result)


@pytest.mark.parametrize("key", sorted(NUMERIC_ARGUMENTS))
@CONFIRM
@given(value=NON_NUMBERS)
def test_anything_but_a_number_is_refused_with_a_type_error(key, value):
    call, argname, _ = NUMERIC_ARGUMENTS[key]
    expect_refusal(lambda: call(value), TypeError, argname)


@pytest.mark.parametrize(
    ("call", "argname", "minimum"),
    [
        (lambda v: schedules.step_decay(v, base_lr=0.1, step_size=2, gamma=0.5), "step", 0),
        (lambda v: schedules.step_decay(3, base_lr=0.1, step_size=v, gamma=0.5), "step_size", 1),
        (lambda v: schedules.cosine_annealing(v, base_lr=0.1, total_steps=10), "step", 0),
        (lambda v: schedules.cosine_annealing(3, base_lr=0.1, total_steps=v), "total_steps", 1),
        (lambda v: schedules.one_cycle(3, max_lr=0.1, total_steps=v), "total_steps", 2),
        (
            lambda v: schedules.warmup_cosine(3, base_lr=0.1, warmup_steps=v, total_steps=10),
            "warmup_steps",
            0,
        ),
    ],
    ids=[
        "step_decay.step",
        "step_decay.step_size",
        "cosine.step",
        "cosine.total_steps",
        "one_cycle.total_steps",
        "warmup_cosine.warmup_steps",
    ],
)
@CONFIRM
@given(data=st.data())
def test_any_integer_below_the_minimum_or_any_non_integer_is_refused(call, argname, minimum, data):
    value = data.draw(
        st.one_of(st.integers(max_value=minimum - 1), st.floats(), NON_NUMBERS), label=argname
    )
    error = ValueError if isinstance(value, int) and not isinstance(value, bool) else TypeError
    expect_refusal(lambda: call(value), error, argname)


@CONFIRM
@given(
    kind=st.sampled_from(["l1", "l2", "elastic_net"]),
    strength=st.floats(0, 1e6),
    l1_ratio=st.floats(0, 1),
)
def test_any_penalty_inside_the_domain_is_finite_and_between_its_parts(kind, strength, l1_ratio):
    value = penalties.WeightPenalty(kind, strength, l1_ratio=l1_ratio)(MODEL)
    assert value.ndim == 0 and torch.isfinite(value) and value >= 0
    mixed = penalties.elastic_net_penalty(PARAMS, l1_ratio=l1_ratio)
    parts = penalties.l1_penalty(PARAMS), penalties.l2_penalty(PARAMS)
    assert min(parts) * (1 - 1e-6) <= mixed <= max(parts) * (1 + 1e-6)


@CONFIRM
@given(threshold=NONNEGATIVE_REALS.inside(), tol=NONNEGATIVE_REALS.inside())
def test_any_threshold_inside_the_domain_shrinks_towards_zero(threshold, tol):
    w = PARAMS[0].clone()
    out = penalties.soft_threshold_(w.clone(), threshold)
    assert out.shape == w.shape and torch.isfinite(out).all()
    assert (out.abs() <= w.abs()).all() and (out[w.abs() <= threshold] == 0).all()
    assert 0 <= penalties.sparsity(PARAMS, tol=tol) <= 1


@CONFIRM
@given(p=st.floats(0, 1, exclude_max=True))
def test_any_drop_probability_inside_the_domain_keeps_or_scales_each_element(p):
    generator = torch.Generator().manual_seed(0)
    out = dropout.dropout(X, p, generator=generator)
    assert out.shape == X.shape and torch.isfinite(out).all()
    kept = out != 0
    torch.testing.assert_close(out[kept], X[kept] / (1 - p))
    assert dropout.Dropout(p).p == p == dropout.check_drop_probability(p)


RATES = st.floats(1e-8, 1e3)


@CONFIRM
@given(
    step=st.integers(0, 10**6),
    base_lr=RATES,
    step_size=st.integers(1, 10**4),
    gamma=st.floats(0, 1, exclude_min=True),
    staircase=st.booleans(),
)
def test_any_decay_inside_the_domain_stays_within_zero_and_the_base_rate(
    step, base_lr, step_size, gamma, staircase
):
    for lr in (
        schedules.step_decay(step, base_lr=base_lr, step_size=step_size, gamma=gamma),
        schedules.exponential_decay(
            step, base_lr=base_lr, decay_rate=gamma, decay_steps=step_size, staircase=staircase
        ),
    ):
        assert math.isfinite(lr) and 0 <= lr <= base_lr


@CONFIRM
@given(
    step=st.integers(0, 10**6),
    base_lr=RATES,
    total_steps=st.integers(1, 10**5),
    warmup_fraction=st.floats(0, 1, exclude_max=True),
    min_fraction=st.floats(0, 1),
)
def test_any_cosine_inside_the_domain_stays_within_min_and_base_rate(
    step, base_lr, total_steps, warmup_fraction, min_fraction
):
    min_lr = base_lr * min_fraction
    warmup_steps = int(warmup_fraction * total_steps)
    for lr in (
        schedules.cosine_annealing(step, base_lr=base_lr, total_steps=total_steps, min_lr=min_lr),
        schedules.warmup_cosine(
            step, base_lr=base_lr, warmup_steps=warmup_steps, total_steps=total_steps, min_lr=min_lr
        ),
    ):
        assert math.isfinite(lr) and 0 <= lr <= base_lr
    if step >= warmup_steps:  # warmup climbs from base_lr / warmup_steps, below min_lr maybe
        lr = schedules.warmup_cosine(
            step, base_lr=base_lr, warmup_steps=warmup_steps, total_steps=total_steps, min_lr=min_lr
        )
        assert lr >= min_lr * (1 - 1e-12)


@CONFIRM
@given(
    step=st.integers(0, 10**6),
    max_lr=RATES,
    total_steps=st.integers(3, 10**5),
    pct_start=st.floats(0, 1, exclude_min=True, exclude_max=True),
    div_factor=st.floats(1, 1e4),
    final_div_factor=st.floats(1, 1e4),
    anneal=st.sampled_from(["cos", "linear"]),
)
def test_any_one_cycle_inside_the_domain_stays_within_its_end_and_peak_rates(
    step, max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal
):
    assume(0 < pct_start * total_steps - 1 < total_steps - 1)
    lr = schedules.one_cycle(
        step,
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        anneal=anneal,
    )
    end_lr = max_lr / div_factor / final_div_factor
    slack = 1e-12 * max_lr  # begin + (end - begin)·1 may miss end by an ulp of max_lr
    assert math.isfinite(lr) and end_lr - slack <= lr <= max_lr + slack


@CONFIRM
@given(
    gain=st.floats(1e-30, 1e30),
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple),
)
def test_any_gain_inside_the_domain_fills_with_finite_values_within_the_bound(gain, shape):
    fan_in, fan_out = initialization.fan_in_and_fan_out(torch.empty(shape))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    uniform = initialization.xavier_uniform_(torch.empty(shape), gain=gain)
    normal = initialization.xavier_normal_(torch.empty(shape), gain=gain)
    assert uniform.shape == normal.shape == shape
    assert torch.isfinite(uniform).all() and torch.isfinite(normal).all()
    assert (uniform.abs() <= bound * (1 + 1e-6)).all()


@CONFIRM
@given(
    name=st.text(max_size=8).filter(lambda s: s not in ("linear", "sigmoid", "tanh", "relu")),
    which=st.sampled_from(["nonlinearity", "mode"]),
    fill=st.sampled_from([initialization.kaiming_normal_, initialization.kaiming_uniform_]),
)
def test_any_unknown_nonlinearity_or_mode_is_refused(name, which, fill):
    assume(which == "nonlinearity" or name not in ("fan_in", "fan_out"))
    expect_refusal(lambda: fill(torch.empty(3, 4), **{which: name}), ValueError, which)
    if which == "nonlinearity":
        expect_refusal(lambda: initialization.calculate_gain(name), ValueError, "nonlinearity")


# --- the count -------------------------------------------------------------------------------
