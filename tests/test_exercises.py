"""The exercise framework, and every chapter's checkers against plausible student answers.

That each checker passes its ``reference_*`` and never crashes nor passes on a
broken answer (raising, of the wrong type, NaN, changing its input) is fuzzed in
test_checker_fuzz.py; here each checker must reject the mistakes students make,
with feedback that names them.
"""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from torch import nn

from coursepkg.data import make_sparse_regression
from coursepkg.dropout import dropout
from coursepkg.exercises import (
    batchnorm,
    beyond,
    initialization,
    overfitting,
    penalties,
    resnet,
    schedules,
)
from coursepkg.exercises import dropout as dropout_exercises
from coursepkg.exercises.framework import (
    Feedback,
    check_function,
    check_properties,
    check_value,
    compare,
)
from coursepkg.lasso import proximal_gradient
from coursepkg.metrics import expected_calibration_error, mean_squared_error
from coursepkg.penalties import L2SP, soft_threshold_
from coursepkg.polynomial import fit_polynomial, polynomial_features, predict_polynomial
from coursepkg.resnet import resnet50

# --- compare ----------------------------------------------------------------------------

T = torch.tensor([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("expected", "received", "kwargs"),
    [
        (T, T * (1 + 1e-7), {}),
        (T, [1.0, 2.0, 3.0], {}),
        (T, np.array([1, 2, 3]), {}),
        (T.double(), T.half(), {}),
        (T, T + 0.05, {"atol": 0.1}),
        (torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 1.0]), {}),
        (2.0, 2.0 + 1e-9, {}),
        (2, np.int64(2), {}),
        (2.0, torch.tensor([2.0]), {}),
        (100.0, 101.0, {"rtol": 0.02}),
        ((1, T), [1.0, T.clone()], {}),
        ("relu", "relu", {}),
    ],
)
def test_compare_accepts_matching_values(expected, received, kwargs):
    assert compare(expected, received, **kwargs) is None


@pytest.mark.parametrize(
    ("expected", "received", "message"),
    [
        (T, T[:2], "expected shape (3,), got shape (2,)"),
        (T, torch.tensor([1.0, math.nan, 3.0]), "the result contains NaN"),
        (T, T + 1e-3, "values differ"),
        (T, "abc", "expected a tensor, got str"),
        (T, T + 1j, "expected real numbers, got complex ones"),
        (2.0, 2.1, "expected 2.0, got 2.1"),
        (2.0, "2.0", "expected a number, got str"),
        (1, True, "expected a number, got bool"),
        (1, 10**400, "expected 1, got 1000"),
        ((1, 2), 12, "expected a sequence of 2 items"),
        ([1, T], [1, T + 1], "item 1: values differ"),
        ("relu", "tanh", "expected 'relu', got 'tanh'"),
        (torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 2.0]), "at index (1,)"),
    ],
)
def test_compare_describes_the_difference(expected, received, message):
    assert message in compare(expected, received)


def test_values_differ_is_the_trimmed_message_of_assert_close():
    problem = compare(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.123456789, 3.0]))
    assert problem == (
        "values differ: expected [1, 2, 3], got [1, 2.123, 3]; "
        "mismatched elements: 1 / 3 (33.3%); greatest absolute difference: 0.1235 at index (1,)"
    )


# --- check_function, check_properties, check_value ---------------------------------------------


def _double(x):
    return 2 * x


CASES = [(torch.tensor([1.0, -2.0]),), (torch.arange(6.0).reshape(2, 3),)]


def _stub(*args):
    raise NotImplementedError


def _in_place(x):
    out = 2 * x
    x.zero_()
    return out


class Weird:
    def __eq__(self, other):
        raise RuntimeError("no comparing me")


class _UnprintableFloat(float):
    """A number that refuses to be formatted, as a hostile answer."""

    def __format__(self, spec):
        raise RuntimeError("no printing me")


def test_feedback_is_printed_as_one_line_with_a_symbol_per_status(capsys):
    feedback = check_function("double", lambda x: 3 * x, _double, CASES, hint="twice")
    assert capsys.readouterr().out == f"{feedback}\n"
    assert str(feedback) == f"✗ double: {feedback.message}"
    assert feedback.message.startswith("case 1 of 2, double(tensor of shape (2,)): values differ")
    assert feedback.message.endswith(". Hint: twice")
    for status, symbol in [("passed", "✓"), ("not implemented", "…"), ("error", "⚠")]:
        assert str(Feedback("ex", status, "text")) == f"{symbol} ex: text"


@pytest.mark.parametrize(
    ("student", "status", "phrase"),
    [
        (_double, "passed", "all 2 cases agree with the reference"),
        (lambda x: x.sum(), "failed", "expected shape (2,), got shape ()"),
        (lambda x: 2 * x + (x < 0), "failed", "case 1 of 2"),
        (_in_place, "failed", "case 1 of 2, double(tensor of shape (2,)): your function changed"),
        (_stub, "not implemented", "not implemented yet"),
        (lambda x: {}["missing"], "error", "your code raised KeyError: 'missing'"),
        (42, "failed", "expected a function, got int"),
    ],
    ids=["right", "shape", "values", "in-place", "stub", "raises", "not-callable"],
)
def test_check_function_reports_every_outcome(student, status, phrase):
    feedback = check_function("double", student, _double, CASES)
    assert (feedback.status, feedback.passed) == (status, status == "passed")
    assert phrase in feedback.message


def test_an_in_place_change_does_not_spoil_the_case():
    cases = [(torch.tensor([1.0, 2.0]),)]
    check_function("double", _in_place, _double, cases)
    assert torch.equal(cases[0][0], torch.tensor([1.0, 2.0]))


def test_check_function_edge_cases():
    incomparable = check_function("name", lambda: Weird(), lambda: "relu", [()])
    assert "could not be checked (RuntimeError: no comparing me)" in incomparable.message
    assert "could not be checked" in check_value("name", Weird(), "relu").message
    assert check_function("d", lambda x: 2 * x + 1e-3, _double, CASES, atol=1e-2).passed
    assert check_function("count", lambda a, b: 1, lambda a, b: 1, [(nn.Linear(2, 2), "a")]).passed
    with pytest.raises(ValueError, match="at least one"):
        check_function("d", _double, _double, [])


def test_a_layer_changed_in_place_is_caught():
    def zero_the_weights(layer):
        with torch.no_grad():
            layer.weight.zero_()
        return 0

    feedback = check_function("w", zero_the_weights, lambda layer: 0, [(nn.Linear(2, 2),)])
    assert "changed its argument 1 in place" in feedback.message


def test_an_error_in_the_reference_is_the_courses_not_the_students():
    def broken(x):
        raise KeyError("a bug in the course")

    with pytest.raises(KeyError, match="a bug in the course"):
        check_function("d", _double, broken, CASES)


def test_check_properties_runs_the_same_loop():
    def even(result, n):
        return None if result % 2 == 0 else "an odd number"

    def append_one(items):
        items.append(1)
        return 2

    assert check_properties("double", lambda n: 2 * n, [(1,), (2,)], even, success="ok").passed
    odd = check_properties("same", lambda n: n, [(2,), (3,)], even, success="ok", hint="double")
    assert odd.message == "case 2 of 2, same(3): an odd number. Hint: double"
    changed = check_properties("x", append_one, [([2],)], even, success="ok")
    assert "your function changed its argument 1 in place" in changed.message
    assert check_properties("x", _stub, [(1,)], even, success="ok").status == "not implemented"


@pytest.mark.parametrize(
    ("received", "status", "phrase"),
    [
        (0.5, "passed", "correct"),
        (lambda: 0.5, "passed", "correct"),
        (0.6, "failed", "expected 0.5, got 0.6. Hint: halve it"),
        (Weird(), "failed", "expected a number, got Weird"),
        (_stub, "not implemented", "not implemented yet"),
        (lambda: 1 / 0, "error", "your code raised ZeroDivisionError"),
    ],
)
def test_check_value_reports_every_outcome(received, status, phrase):
    feedback = check_value("half", received, 0.5, hint="halve it")
    assert feedback.status == status
    assert phrase in feedback.message


# --- every chapter's checkers: plausible wrong answers ------------------------------------------


def _degree_by_training_error(x_train, y_train, x_val, y_val, max_degree):
    return overfitting.reference_best_degree(x_train, y_train, x_train, y_train, max_degree)


def _early_stopping_by_hand(val_losses, patience, *, ties_improve=False):
    best_epoch, best = 0, math.inf
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best or (ties_improve and loss == best):
            best_epoch, best = epoch, loss
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


def _ridge_by_rows(x, y, degree, lam, *, entry=None, penalize_intercept=False, rows=True):
    """Ridge as least squares with extra rows ``entry(N, λ)·e_k``; right with √(Nλ), k >= 1."""
    phi = polynomial_features(x, degree)
    value = (len(y) * lam) ** 0.5 if entry is None else entry(len(y), lam)
    extra = value * torch.eye(degree + 1, dtype=phi.dtype)
    extra = extra if penalize_intercept else extra[1:]
    extra = extra if rows else extra[:0]
    phi_aug, y_aug = torch.cat([phi, extra]), torch.cat([y, torch.zeros(len(extra))])
    return torch.linalg.lstsq(phi_aug, y_aug[:, None]).solution[:, 0]


def _ridge_scikit_learn(x, y, degree, lam):
    sk = Ridge(alpha=len(y) * lam).fit(polynomial_features(x, degree)[:, 1:].numpy(), y.numpy())
    return torch.tensor(np.concatenate([[sk.intercept_], sk.coef_]))


def _bn_forward(x, gamma, beta, eps, *, correction=0, eps_inside=True):
    var = x.var(dim=0, correction=correction)
    scale = torch.sqrt(var + eps) if eps_inside else var.sqrt() + eps
    return gamma * (x - x.mean(dim=0)) / scale + beta


def _bn_backward(x, gamma, grad_out, eps, *, mean_term=True, projection=True, correction=0):
    scale = torch.sqrt(x.var(dim=0, correction=correction) + eps)
    x_hat = (x - x.mean(dim=0)) / scale
    g = gamma * grad_out
    grad = g - g.mean(dim=0) if mean_term else g
    if projection:
        grad = grad - x_hat * (g * x_hat).mean(dim=0)
    return grad / scale


def _cosine(t, base_lr, total, min_lr, *, cap=True):
    t = min(t, total) if cap else t
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t / total)) / 2


def _bottleneck_params(inplanes, planes, downsample):
    params = inplanes * planes + 9 * planes**2 + 4 * planes**2 + 12 * planes
    return params + (4 * planes * inplanes + 8 * planes if downsample else 0)


def _fixed_generator():
    """A generator seeded anew at every call: a mask drawn from it never changes."""
    return torch.Generator().manual_seed(0)


def _adaptive_ece(probs, labels, bins, *, weighted=True, larger_last=False, stable=True):
    """Equal-mass ECE with one of the slips students make switched on."""
    confidence, predicted = probs.max(dim=1)
    order = confidence.argsort(stable=stable, descending=False)
    groups = order.flip(0).tensor_split(bins)[::-1] if larger_last else order.tensor_split(bins)
    groups = [g for g in groups if len(g)]
    gaps = [
        abs((predicted[g] == labels[g]).double().mean().item() - confidence[g].mean().item())
        for g in groups
    ]
    if not weighted:
        return sum(gaps) / len(gaps)
    return sum(len(g) / len(labels) * gap for g, gap in zip(groups, gaps, strict=True))


WRONG_ANSWERS = {
    "degree-by-training-error": (
        overfitting.check_best_degree,
        _degree_by_training_error,
        "best_degree(tensor of shape (15,), tensor of shape (15,), tensor of shape (100,)",
    ),
    "degree-constant": (overfitting.check_best_degree, lambda *args: 3, "case 2 of 6"),
    "degree-off-by-one": (
        overfitting.check_best_degree,
        lambda xt, yt, xv, yv, max_degree: overfitting.reference_best_degree(
            xt, yt, xv, yv, max_degree - 1
        ),
        "case 5 of 6",
    ),
    "degree-last-minimum": (
        overfitting.check_best_degree,
        lambda xt, yt, xv, yv, max_degree: max(
            range(max_degree + 1),
            key=lambda d: (
                -mean_squared_error(predict_polynomial(fit_polynomial(xt, yt, d), xv), yv),
                d,
            ),
        ),
        "case 6 of 6",
    ),
    "epochs-global-minimum": (
        overfitting.check_early_stopping_epochs,
        lambda losses, patience: (
            min(range(len(losses)), key=losses.__getitem__) + 1,
            min(min(range(len(losses)), key=losses.__getitem__) + 1 + patience, len(losses)),
        ),
        "early_stopping_epochs([1.0, 1.1, 1.2, 0.5], 2): item 0: expected 1, got 4",
    ),
    "epochs-from-zero": (
        overfitting.check_early_stopping_epochs,
        lambda losses, patience: tuple(e - 1 for e in _early_stopping_by_hand(losses, patience)),
        "item 0: expected 3, got 2",
    ),
    "ties-improve": (
        overfitting.check_early_stopping_epochs,
        lambda losses, patience: _early_stopping_by_hand(losses, patience, ties_improve=True),
        "early_stopping_epochs([0.3, 0.3, 0.3, 0.3], 2): item 0: expected 1, got 4",
    ),
    "ridge-rows-without-n": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: _ridge_by_rows(x, y, d, lam, entry=lambda n, lam: lam**0.5),
        "are ridge at λ/N",
    ),
    "ridge-rows-lambda-not-root": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: _ridge_by_rows(x, y, d, lam, entry=lambda n, lam: lam),
        "are ridge at λ²/N",
    ),
    "ridge-rows-half": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: _ridge_by_rows(x, y, d, lam, entry=lambda n, a: (n * a / 2) ** 0.5),
        "are ridge at 2λ or λ/2",
    ),
    "ridge-intercept-penalized": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: _ridge_by_rows(x, y, d, lam, penalize_intercept=True),
        "penalize the intercept w₀ too",
    ),
    "ridge-without-rows": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: _ridge_by_rows(x, y, d, lam, rows=False),
        "are plain least squares, as if λ = 0",
    ),
    "ridge-intercept-is-the-mean-of-y": (
        overfitting.check_ridge_by_augmentation,
        lambda x, y, d, lam: torch.cat([y.mean()[None], _ridge_by_rows(x, y, d, lam)[1:]]),
        "at index (0,)",
    ),
    "enet-prox-divide-by-1-plus-tau": (
        penalties.check_elastic_net_prox,
        lambda v, tau, rho: soft_threshold_(v.clone(), tau * rho) / (1 + tau),
        "Hint: on w > 0 the objective is smooth",
    ),
    "enet-prox-threshold-tau": (
        penalties.check_elastic_net_prox,
        lambda v, tau, rho: soft_threshold_(v.clone(), tau) / (1 + tau * (1 - rho)),
        "elastic_net_prox(tensor of shape (5,), 0.5, 0.5): values differ",
    ),
    "enet-prox-scale-first": (
        penalties.check_elastic_net_prox,
        lambda v, tau, rho: soft_threshold_(v / (1 + tau * (1 - rho)), tau * rho),
        "values differ",
    ),
    "adamw-decay-exponential": (
        penalties.check_adamw_decay,
        lambda shrink, lr, steps: -math.log(shrink) / (lr * steps),
        "Hint: AdamW multiplies a weight the data do not move by (1 - lr·wd)",
    ),
    "adamw-decay-without-lr": (
        penalties.check_adamw_decay,
        lambda shrink, lr, steps: 1 - shrink ** (1 / steps),
        "adamw_decay(0.5, 0.001, 420): expected",
    ),
    "alpha-max-without-n": (
        penalties.check_alpha_max,
        lambda x, y, rho: float((x.T @ y).abs().max() / rho),
        "expected 2.273",
    ),
    "alpha-max-without-abs": (
        penalties.check_alpha_max,
        lambda x, y, rho: float((x.T @ y).max() / (len(y) * rho)),
        "Hint: at w = 0 the data gradient is -X.T @ y / n",
    ),
    "alpha-max-lasso-only": (
        penalties.check_alpha_max,
        lambda x, y, rho: float((x.T @ y).abs().max() / len(y)),
        "case 2 of 3",
    ),
    "dropout-unscaled": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) >= p),
        "every output must be 0 or x_i/(1 - p)",
    ),
    "dropout-scaled-by-keep": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) >= p) * (1 - p),
        "every output must be 0 or x_i/(1 - p)",
    ),
    "dropout-drops-1-p": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) < p) / (1 - p),
        "1.000 of the outputs are zero; expected about p = 0.0",
    ),
    "dropout-drops-half-p": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) >= p / 2) / (1 - p),
        "expected about p = 0.3",
    ),
    "dropout-in-place": (
        dropout_exercises.check_dropout,
        lambda x, p: x.mul_(torch.rand_like(x) >= p).div_(1 - p),
        "dropout(tensor of shape (400, 250), 0.3): your function changed its argument 1",
    ),
    "dropout-list": (
        dropout_exercises.check_dropout,
        lambda x, p: dropout(x, p).tolist(),
        "expected a tensor of shape (400, 250), got list",
    ),
    "dropout-reshaped": (
        dropout_exercises.check_dropout,
        lambda x, p: dropout(x, p).reshape(-1, 2),
        "expected a tensor of shape (400, 250), got (50000, 2)",
    ),
    "dropout-fixed-seed": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand(x.shape, generator=_fixed_generator()) >= p) / (1 - p),
        "two calls returned the same mask",
    ),
    "dropout-deterministic-mask": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.arange(x.numel()).reshape(x.shape) >= p * x.numel()) / (1 - p),
        "the zeros form contiguous blocks",
    ),
    "dropout-deterministic-per-row": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.arange(x.shape[-1]) >= p * x.shape[-1]) / (1 - p),
        "the zeros form contiguous blocks",
    ),
    "dropout-one-mask-per-batch": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand(x.shape[-1]) >= p) / (1 - p),
        "every example (row) got the same mask",
    ),
    "dropout-max-times-mask": (
        dropout_exercises.check_dropout,
        lambda x, p: x.max() * (torch.rand_like(x) >= p) / (1 - p),
        "every kept output has the same value",
    ),
    "dropout-abs": (
        dropout_exercises.check_dropout,
        lambda x, p: x.abs() * (torch.rand_like(x) >= p) / (1 - p),
        "the signs of x are lost",
    ),
    "dropout-mask": (
        dropout_exercises.check_dropout,
        lambda x, p: torch.rand_like(x) >= p,
        "expected a floating-point tensor",
    ),
    "dropout-int64": (
        dropout_exercises.check_dropout,
        lambda x, p: dropout(x, p).long(),
        "expected a floating-point tensor",
    ),
    "penalty-unscaled-dropout": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p * (1 - p) * float((w**2 * x**2).sum()),
        "expected 2.5625, got 1.64: this is the variance of dropout without the 1/(1 - p)",
    ),
    "penalty-factor-p": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p * float((w**2 * x**2).sum()),
        "the factor is not p",
    ),
    "penalty-factor-upside-down": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: (1 - p) / p * float((w**2 * x**2).sum()) if p else 0.0,
        "the factor is upside down",
    ),
    "penalty-second-moment": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: float((w**2 * x**2).sum()) / (1 - p),
        "subtract the squared mean",
    ),
    "penalty-without-x": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p / (1 - p) * float((w**2).sum()),
        "each term carries x_i²",
    ),
    "penalty-x-not-squared": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p / (1 - p) * float((w**2 * x).sum()),
        "x_i enters squared",
    ),
    "penalty-square-of-sum": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p / (1 - p) * float(w @ x) ** 2,
        "you squared the sum w·x",
    ),
    "penalty-negative": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: -p / (1 - p) * float((w**2 * x**2).sum()),
        "expected 2.5625, got -2.5625. Hint: write ŷ - w·x",
    ),
    "penalty-per-coordinate": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: p / (1 - p) * w**2 * x**2,
        "expected a number, got Tensor",
    ),
    "bn-eps-outside-root": (
        batchnorm.check_bn_forward,
        lambda *args: _bn_forward(*args, eps_inside=False),
        "ε inside the root",
    ),
    "bn-unbiased-variance": (
        batchnorm.check_bn_forward,
        lambda *args: _bn_forward(*args, correction=1),
        "case 1 of 4",
    ),
    "bn-without-gamma": (
        batchnorm.check_bn_forward,
        lambda x, gamma, beta, eps: _bn_forward(x, 1, beta, eps),
        "values differ",
    ),
    "bn-backward-no-mean-term": (
        batchnorm.check_bn_backward,
        lambda *args: _bn_backward(*args, mean_term=False),
        "the term -mean(g) is missing",
    ),
    "bn-backward-no-projection": (
        batchnorm.check_bn_backward,
        lambda *args: _bn_backward(*args, projection=False),
        "the projection term -x̂·mean(g·x̂) is missing",
    ),
    "bn-backward-statistics-fixed": (
        batchnorm.check_bn_backward,
        lambda x, gamma, grad_out, eps: gamma * grad_out / torch.sqrt(x.var(0, correction=0) + eps),
        "both terms through the batch statistics are missing",
    ),
    "bn-backward-unbiased-variance": (
        batchnorm.check_bn_backward,
        lambda *args: _bn_backward(*args, correction=1),
        "you used the unbiased variance",
    ),
    "bn-backward-without-gamma": (
        batchnorm.check_bn_backward,
        lambda x, gamma, grad_out, eps: _bn_backward(x, 1.0, grad_out, eps),
        "values differ",
    ),
    "bn-backward-without-eps": (
        batchnorm.check_bn_backward,
        lambda x, gamma, grad_out, eps: _bn_backward(x, gamma, grad_out, 0.0),
        "ε is missing",
    ),
    "bn-backward-returns-tuple": (
        batchnorm.check_bn_backward,
        lambda *args: (_bn_backward(*args), None),
        "expected a tensor, got tuple",
    ),
    "warmup-floor": (
        batchnorm.check_batches_to_reach,
        lambda m, f: math.floor(math.log(1 - f) / math.log(1 - m)),
        "expected 44, got 43",
    ),
    "warmup-momentum-for-gap": (
        batchnorm.check_batches_to_reach,
        lambda m, f: math.ceil(math.log(1 - f) / math.log(m)),
        "expected 44, got 2",
    ),
    "warmup-fraction-for-gap": (
        batchnorm.check_batches_to_reach,
        lambda m, f: math.ceil(math.log(f) / math.log(1 - m)),
        "expected 44, got 1",
    ),
    "warmup-not-rounded": (
        batchnorm.check_batches_to_reach,
        lambda m, f: math.log(1 - f) / math.log(1 - m),
        "expected 44, got 43.7",
    ),
    "fans-ignore-kernel": (
        initialization.check_fans,
        lambda shape: (shape[1], shape[0]),
        "fans((64, 3, 3, 3)): item 0: expected 27, got 3",
    ),
    "fans-swapped": (
        initialization.check_fans,
        lambda shape: initialization.reference_fans(shape)[::-1],
        "item 0: expected 20, got 10",
    ),
    "dropout-he-ignores-dropout": (
        initialization.check_he_std_after_dropout,
        lambda n, p: math.sqrt(2 / n),
        "ignores dropout",
    ),
    "dropout-he-inverted": (
        initialization.check_he_std_after_dropout,
        lambda n, p: math.sqrt(2 / ((1 - p) * n)),
        "grows the weights",
    ),
    "dropout-he-std-not-variance": (
        initialization.check_he_std_after_dropout,
        lambda n, p: (1 - p) * math.sqrt(2 / n),
        "shrinks the std by (1 - p)",
    ),
    "dropout-he-returns-variance": (
        initialization.check_he_std_after_dropout,
        lambda n, p: 2 * (1 - p) / n,
        "is the variance",
    ),
    "dropout-he-drop-rate-for-keep": (
        initialization.check_he_std_after_dropout,
        lambda n, p: math.sqrt(2 * p / n),
        "uses the drop rate p",
    ),
    "dropout-he-no-relu-factor": (
        initialization.check_he_std_after_dropout,
        lambda n, p: math.sqrt((1 - p) / n),
        "forgets the ReLU",
    ),
    "dropout-he-other": (
        initialization.check_he_std_after_dropout,
        lambda n, p: 1.1 * math.sqrt(2 * (1 - p) / n),
        "he_std_after_dropout(100, 0.2): got 0.1391, expected 0.1265",
    ),
    "dropout-he-tensor-of-two": (
        initialization.check_he_std_after_dropout,
        lambda n, p: torch.tensor([1.0, 2.0]),
        "expected a number, got Tensor",
    ),
    "leaky-gain-ignores-slope": (
        initialization.check_leaky_relu_gain,
        lambda a: math.sqrt(2),
        "ignores the slope a",
    ),
    "leaky-gain-a-not-squared": (
        initialization.check_leaky_relu_gain,
        lambda a: math.sqrt(2 / (1 + a)),
        "uses a where a² belongs",
    ),
    "leaky-gain-variance-not-std": (
        initialization.check_leaky_relu_gain,
        lambda a: 2 / (1 + a**2),
        "take the square root",
    ),
    "leaky-gain-inverted": (
        initialization.check_leaky_relu_gain,
        lambda a: math.sqrt((1 + a**2) / 2),
        "is the inverse",
    ),
    "leaky-gain-linear": (
        initialization.check_leaky_relu_gain,
        lambda a: 1.0,
        "gain of a linear unit",
    ),
    "leaky-gain-other": (
        initialization.check_leaky_relu_gain,
        lambda a: math.sqrt(2 / (1 + a**2)) * 1.1,
        "leaky_relu_gain(0.0): got 1.556, expected 1.414",
    ),
    "leaky-gain-tensor-of-two": (
        initialization.check_leaky_relu_gain,
        lambda a: torch.tensor([1.0, 2.0]),
        "expected a number, got Tensor",
    ),
    "right-width-std-not-squared": (
        initialization.check_right_width,
        lambda std: 2 / std,
        "uses std where the variance std² belongs",
    ),
    "right-width-no-relu": (
        initialization.check_right_width,
        lambda std: 1 / std**2,
        "forgets the ReLU",
    ),
    "right-width-inverted": (
        initialization.check_right_width,
        lambda std: std**2 / 2,
        "is the inverse",
    ),
    "right-width-sqrt": (
        initialization.check_right_width,
        lambda std: math.sqrt(2) / std,
        "is √n",
    ),
    "right-width-other": (
        initialization.check_right_width,
        lambda std: 3 / std**2,
        "right_width(0.01): got 3e+04, expected 2e+04",
    ),
    "right-width-string": (
        initialization.check_right_width,
        lambda std: "20000",
        "expected a number, got str",
    ),
    "cosine-without-min-lr": (
        schedules.check_cosine_annealing,
        lambda t, base_lr, total, min_lr: _cosine(t, base_lr, total, 0.0),
        "case 9 of 14, cosine_annealing(1, 1.0, 37, 0.05): expected 0.998",
    ),
    "cosine-without-cap": (
        schedules.check_cosine_annealing,
        lambda *args: _cosine(*args, cap=False),
        "cosine_annealing(110, 0.1, 100, 0.0)",
    ),
    "warmup-starts-at-zero": (
        schedules.check_linear_warmup,
        lambda t, base_lr, w: base_lr * min(t, w) / w,
        "Hint: the first step (step 0) already uses base_lr / warmup_steps",
    ),
    "warmup-never-stops": (
        schedules.check_linear_warmup,
        lambda t, base_lr, w: base_lr * (t + 1) / w,
        "linear_warmup(10, 0.1, 10): expected 0.1, got 0.11",
    ),
    "plain-rate-uncapped": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: lr / (1 - m),
        "above plain SGD's edge",
    ),
    "plain-rate-heavy-ball-edge": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: min(lr / (1 - m), safety * 2 * (1 + m) / c),
        "you capped at heavy ball's edge",
    ),
    "plain-rate-unchanged": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: lr,
        "the momentum run's rate unchanged",
    ),
    "plain-rate-inverted": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: min(lr * (1 - m), safety * 2 / c),
        "the factor goes the other way",
    ),
    "plain-rate-no-safety": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: min(lr / (1 - m), 2 / c),
        "the cap is safety times the edge",
    ),
    "plain-rate-capped-only-past-edge": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: lr / (1 - m) if lr / (1 - m) < 2 / c else safety * 2 / c,
        "it is above safety times the edge",
    ),
    "plain-rate-string": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: "0.1",
        "expected a number, got str",
    ),
    "nesterov-edge-heavy-ball": (
        schedules.check_nesterov_edge,
        lambda curvature, momentum: 2 * (1 + momentum) / curvature,
        "nesterov_edge(10.0, 0.9): expected 0.1357",
    ),
    "nesterov-edge-plain-gd": (
        schedules.check_nesterov_edge,
        lambda curvature, momentum: 2 / curvature,
        "Nesterov's look-ahead lowers it",
    ),
    "bottleneck-without-projection": (
        resnet.check_bottleneck_params,
        lambda inplanes, planes, downsample: _bottleneck_params(inplanes, planes, False),
        "bottleneck_params(64, 64, True): expected",
    ),
    "bottleneck-without-batch-norms": (
        resnet.check_bottleneck_params,
        lambda i, p, d: i * p + 9 * p * p + 4 * p * p,
        "expected 75008, got",
    ),
    "visibility-without-distance": (
        resnet.check_visibility_from_transmission,
        lambda t, d: -math.log(0.02) / -math.log(t),
        "visibility_from_transmission(0.5, 0.1)",
    ),
    "precision-recall-swapped": (
        resnet.check_precision_recall,
        lambda c: (c.diag() / c.sum(1), c.diag() / c.sum(0)),
        "item 0: values differ",
    ),
    "precision-recall-zero-by-zero": (
        resnet.check_precision_recall,
        lambda c: (c.double().diag() / c.sum(0), c.double().diag() / c.sum(1)),
        "item 0: the result contains NaN",
    ),
    "l2sp-lambda-not-two-lambda": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: (h * wd + lam * w0) / (h + lam),
        "the pretrained value weighs 2λ, not λ",
    ),
    "l2sp-plain-l2": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: h * wd / (h + 2 * lam),
        "that is plain L2, which pulls towards 0",
    ),
    "l2sp-weights-swapped": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: (2 * lam * wd + h * w0) / (h + 2 * lam),
        "the weights are swapped",
    ),
    "l2sp-without-curvature": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: (wd + 2 * lam * w0) / (1 + 2 * lam),
        "the curvature h is missing",
    ),
    "l2sp-other": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: (h * wd + 2 * lam * w0) / (h - 2 * lam),
        "l2sp_minimum(2.0, 4.0, 0.5, 0.5): got 2.833, expected 1.7. Hint",
    ),
    "l2sp-string": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: "1.7",
        "expected a number, got str",
    ),
    "l2sp-hostile-float": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: _UnprintableFloat(wd),
        "the result could not be checked",
    ),
    "gap-without-share-on-true-class": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log((1 - e) / (e / k)),
        "its target is 1 - ε + ε/K",
    ),
    "gap-over-k-minus-one": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log((1 - e) / (e / (k - 1))),
        "label_smoothing spreads it over all K",
    ),
    "gap-log10": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log10(1 + k * (1 - e) / e),
        "log10 where the natural log belongs",
    ),
    "gap-sign": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log((e / k) / (1 - e + e / k)),
        "the true class's logit is the larger one",
    ),
    "gap-probability": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: 1 - e + e / k,
        "the true class's probability at the optimum",
    ),
    "gap-ratio": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: 1 + k * (1 - e) / e,
        "the logits differ by its log",
    ),
    "gap-other": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log(k / e),
        "smoothed_logit_gap(0.1, 4): got 3.689, expected 3.611. Hint",
    ),
    "gap-tensor-of-two": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: torch.tensor([1.0, 2.0]),
        "expected a number, got Tensor",
    ),
    "gap-none": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: None,
        "expected a number, got NoneType",
    ),
    "adaptive-ece-unweighted": (
        beyond.check_adaptive_ece,
        lambda p, y, b: _adaptive_ece(p, y, b, weighted=False),
        "Hint: sort the predictions",
    ),
    "adaptive-ece-larger-groups-last": (
        beyond.check_adaptive_ece,
        lambda p, y, b: _adaptive_ece(p, y, b, larger_last=True),
        "case",
    ),
    "adaptive-ece-equal-width": (
        beyond.check_adaptive_ece,
        lambda p, y, b: expected_calibration_error(p, y, bins=b),
        "Hint: sort the predictions",
    ),
    "vote-all-right": (beyond.check_vote_accuracy, lambda p, m: p**m, "every member is right"),
    "vote-one-right": (
        beyond.check_vote_accuracy,
        lambda p, m: 1 - (1 - p) ** m,
        "at least one member",
    ),
    "vote-smallest-majority": (
        beyond.check_vote_accuracy,
        lambda p, m: math.comb(m, m // 2 + 1) * p ** (m // 2 + 1) * (1 - p) ** (m // 2),
        "only the smallest majority",
    ),
    "vote-no-binomial": (
        beyond.check_vote_accuracy,
        lambda p, m: sum(p**k * (1 - p) ** (m - k) for k in range(m // 2 + 1, m + 1)),
        "binomial coefficient is missing",
    ),
}


@pytest.mark.parametrize(("check", "answer", "phrase"), WRONG_ANSWERS.values(), ids=WRONG_ANSWERS)
def test_a_plausible_wrong_answer_fails_with_feedback_that_names_it(check, answer, phrase):
    torch.manual_seed(0)
    feedback = check(answer)
    assert feedback.status == "failed"
    assert phrase in feedback.message


# --- other right answers pass: the references and the tolerances are right ---------------------


def _best_degree_numpy(x_train, y_train, x_val, y_val, max_degree):
    x_train, y_train, x_val, y_val = (t.numpy() for t in (x_train, y_train, x_val, y_val))
    fits = [np.polynomial.Polynomial.fit(x_train, y_train, d) for d in range(max_degree + 1)]
    return int(np.argmin([np.mean((fit(x_val) - y_val) ** 2) for fit in fits]))


def _bn_backward_torch(x, gamma, grad_out, eps):
    x = x.clone().requires_grad_()
    y = torch.nn.functional.batch_norm(x, None, None, gamma, None, training=True, eps=eps)
    y.backward(grad_out)
    return x.grad


RIGHT_ANSWERS = {
    "degree-numpy": (overfitting.check_best_degree, _best_degree_numpy),
    "epochs-by-hand": (overfitting.check_early_stopping_epochs, _early_stopping_by_hand),
    "ridge-by-rows": (overfitting.check_ridge_by_augmentation, _ridge_by_rows),
    "ridge-scikit-learn": (overfitting.check_ridge_by_augmentation, _ridge_scikit_learn),
    "enet-prox-torch": (
        penalties.check_elastic_net_prox,
        lambda v, tau, rho: torch.nn.functional.softshrink(v, tau * rho) / (1 + tau - tau * rho),
    ),
    "adamw-decay-log1p": (
        penalties.check_adamw_decay,
        lambda shrink, lr, steps: -math.expm1(math.log(shrink) / steps) / lr,
    ),
    "alpha-max-numpy": (
        penalties.check_alpha_max,
        lambda x, y, rho: np.abs(x.numpy().T @ y.numpy()).max() / (len(y) * rho),
    ),
    "dropout-torch": (dropout_exercises.check_dropout, torch.nn.functional.dropout),
    "dropout-bernoulli": (
        dropout_exercises.check_dropout,
        lambda x, p: x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p),
    ),
    "penalty-variance-of-the-output": (
        dropout_exercises.check_dropout_penalty,
        lambda w, x, p: (w**2 * x**2).sum() * (1 / (1 - p) - 1),  # a 0-d tensor
    ),
    "bn-forward-torch": (
        batchnorm.check_bn_forward,
        lambda x, gamma, beta, eps: torch.nn.functional.batch_norm(
            x, None, None, gamma, beta, training=True, eps=eps
        ),
    ),
    "bn-backward-torch": (batchnorm.check_bn_backward, _bn_backward_torch),
    "bn-backward-closed-form": (batchnorm.check_bn_backward, _bn_backward),
    "warmup-closed-form": (
        batchnorm.check_batches_to_reach,
        lambda m, f: math.ceil(math.log(1 - f) / math.log(1 - m)),
    ),
    "fans-torch": (
        initialization.check_fans,
        lambda shape: nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)),
    ),
    "dropout-he-tensor": (
        initialization.check_he_std_after_dropout,
        lambda n, p: torch.tensor(2.0 * (1 - p) / n).sqrt(),
    ),
    "leaky-gain-torch": (
        initialization.check_leaky_relu_gain,
        lambda a: nn.init.calculate_gain("leaky_relu", a),
    ),
    "leaky-gain-tensor": (
        initialization.check_leaky_relu_gain,
        lambda a: torch.tensor(2.0 / (1.0 + a**2)).sqrt(),
    ),
    "right-width-formula": (
        initialization.check_right_width,
        lambda std: 2.0 / std**2,
    ),
    "cosine-formula": (schedules.check_cosine_annealing, _cosine),
    "warmup-formula": (
        schedules.check_linear_warmup,
        lambda t, base_lr, w: base_lr * min(t + 1, w) / w,
    ),
    "plain-rate-formula": (
        schedules.check_plain_sgd_rate,
        lambda lr, m, c, safety: float(np.minimum(lr / (1 - m), safety * 2 / c)),
    ),
    "nesterov-edge-formula": (
        schedules.check_nesterov_edge,
        lambda curvature, momentum: 2 * (1 + momentum) / ((1 + 2 * momentum) * curvature),
    ),
    "bottleneck-formula": (resnet.check_bottleneck_params, _bottleneck_params),
    "visibility-koschmieder": (
        resnet.check_visibility_from_transmission,
        lambda t, d: -math.log(0.02) * d / -math.log(t),
    ),
    "precision-recall-nan-to-zero": (
        resnet.check_precision_recall,
        lambda c: ((c.diag() / c.sum(0)).nan_to_num(), (c.diag() / c.sum(1)).nan_to_num()),
    ),
    "l2sp-shift-from-data-optimum": (
        resnet.check_l2sp_minimum,
        lambda wd, h, w0, lam: wd + 2 * lam / (h + 2 * lam) * (w0 - wd),
    ),
    "gap-log-of-one-plus": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: math.log1p(k * (1 - e) / e),
    ),
    "gap-numpy": (
        resnet.check_smoothed_logit_gap,
        lambda e, k: np.log(1 - e + e / k) - np.log(e / k),
    ),
    "adaptive-ece-loop": (beyond.check_adaptive_ece, lambda p, y, b: _adaptive_ece(p, y, b)),
    "vote-one-minus-minority": (
        beyond.check_vote_accuracy,
        lambda p, m: (
            1 - sum(math.comb(m, k) * p**k * (1 - p) ** (m - k) for k in range(m // 2 + 1))
        ),
    ),
}


@pytest.mark.parametrize(("check", "answer"), RIGHT_ANSWERS.values(), ids=RIGHT_ANSWERS)
def test_another_right_answer_passes(check, answer):
    torch.manual_seed(0)
    assert check(answer).passed


# --- references whose truth needs more than another answer ---------------------------------------


def test_reference_dropout_penalty_is_the_extra_squared_error_under_random_masks():
    generator = torch.Generator().manual_seed(0)
    n = 200_000  # mask draws
    w = torch.tensor([0.5, -1.0, 2.0, 0.3], dtype=torch.float64)
    x = torch.tensor([1.0, 3.0, -0.5, 2.0], dtype=torch.float64)
    y = 0.7
    for p in (0.2, 0.5, 0.75):
        y_hat = dropout(x.expand(n, -1), p, generator=generator) @ w  # (n,) thinned outputs
        extra = (y - y_hat) ** 2 - (y - w @ x) ** 2  # (n,) one sample of the penalty each
        penalty = dropout_exercises.reference_dropout_penalty(w, x, p)
        assert abs(extra.mean().item() - penalty) <= 5 * extra.std().item() / math.sqrt(n)


@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_reference_alpha_max_is_the_smallest_strength_that_zeroes_the_elastic_net(rho):
    data = make_sparse_regression(100, 20, n_informative=3, noise=0.5, seed=0)
    alpha_max = penalties.reference_alpha_max(data.x, data.y, rho)
    path = proximal_gradient(data.x, data.y, alpha=alpha_max, l1_ratio=rho, steps=200)
    assert (path == 0).all()
    path = proximal_gradient(data.x, data.y, alpha=0.9 * alpha_max, l1_ratio=rho, steps=200)
    assert (path[-1] != 0).any()


def test_reference_adamw_decay_gives_the_shrink_with_torch_adamw():
    shrink, lr, steps = 0.1, 0.1, 20
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    decay = penalties.reference_adamw_decay(shrink, lr, steps)
    optimizer = torch.optim.AdamW([w], lr=lr, weight_decay=decay)
    for _ in range(steps):
        w.grad = torch.zeros_like(w)  # a weight the data do not move
        optimizer.step()
    assert w.item() == pytest.approx(shrink, rel=1e-12)


def test_reference_bottleneck_params_add_up_to_resnet50():
    total, inplanes = 7 * 7 * 3 * 64 + 2 * 64 + 2048 * 1000 + 1000, 64  # stem and classifier
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        total += resnet.reference_bottleneck_params(inplanes, planes, True)
        total += (blocks - 1) * resnet.reference_bottleneck_params(4 * planes, planes, False)
        inplanes = 4 * planes
    assert total == sum(p.numel() for p in resnet50().parameters()) == 25_557_032


def _minimize(params, objective, *, max_iter):
    """Run L-BFGS on ``objective()`` to a gradient below 1e-13; leave its gradient in place."""
    optimizer = torch.optim.LBFGS(
        params,
        max_iter=max_iter,
        tolerance_grad=1e-13,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    optimizer.step(closure)
    closure()


@pytest.mark.parametrize(
    ("w_data", "curvature", "w_start", "strength"),
    [(2.0, 4.0, 0.5, 0.5), (-1.0, 0.25, 1.0, 2.0), (0.5, 0.2, 1.5, 50.0)],
)
def test_reference_l2sp_minimum_minimizes_the_l2sp_objective(w_data, curvature, w_start, strength):
    model = nn.Linear(1, 1, bias=False, dtype=torch.float64)  # one weight
    penalty = L2SP({"weight": torch.full((1, 1), w_start, dtype=torch.float64)}, strength)
    _minimize(
        model.parameters(),
        lambda: 0.5 * curvature * (model.weight - w_data).square().sum() + penalty(model),
        max_iter=100,
    )
    # The objective is quadratic with second derivative h + 2λ >= 4.25 here: a gradient
    # below 1e-12 puts the weight within 2.4e-13 of the minimizer.
    assert model.weight.grad.abs().item() < 1e-12
    expected = resnet.reference_l2sp_minimum(w_data, curvature, w_start, strength)
    assert model.weight.item() == pytest.approx(expected, rel=0, abs=1e-10)


@pytest.mark.parametrize(("epsilon", "classes"), [(0.1, 4), (0.05, 2), (0.9, 3), (0.2, 10)])
def test_reference_smoothed_logit_gap_minimizes_torchs_smoothed_cross_entropy(epsilon, classes):
    logits = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    label = torch.tensor(0)
    _minimize(
        [logits],
        lambda: nn.functional.cross_entropy(logits, label, label_smoothing=epsilon),
        max_iter=500,
    )
    # The gradient is softmax - target; moving one gap by δ changes it by about p(1 - p)·δ,
    # with p ≥ ε/K ≥ 0.02 here: a gradient below 1e-12 puts every gap within 1e-10.
    assert logits.grad.abs().max() < 1e-12
    gaps = logits.detach()[0] - logits.detach()[1:]
    expected = torch.full_like(gaps, resnet.reference_smoothed_logit_gap(epsilon, classes))
    torch.testing.assert_close(gaps, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("p", "members"), [(0.88, 3), (0.6, 5), (0.3, 7)])
def test_reference_vote_accuracy_is_the_majority_rate_of_simulated_votes(p, members):
    votes = torch.rand(200_000, members, generator=torch.Generator().manual_seed(0)) < p
    simulated = (votes.sum(dim=1) > members // 2).double().mean().item()
    # 200,000 votes: the standard error of the simulated rate is at most 0.5 / sqrt(2e5) = 0.0011
    assert abs(simulated - beyond.reference_vote_accuracy(p, members)) < 0.005
