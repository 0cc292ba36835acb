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
from torch import nn

from coursepkg.data import make_sparse_regression
from coursepkg.dropout import dropout
from coursepkg.exercises import (
    batchnorm,
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
from coursepkg.penalties import soft_threshold_
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


def _bn_forward(x, gamma, beta, eps, *, correction=0, eps_inside=True):
    var = x.var(dim=0, correction=correction)
    scale = torch.sqrt(var + eps) if eps_inside else var.sqrt() + eps
    return gamma * (x - x.mean(dim=0)) / scale + beta


def _running_update(running_mean, running_var, x, momentum, *, correction=1, swap=False):
    keep = momentum if swap else 1 - momentum
    var = x.var(dim=0, correction=correction)
    return keep * running_mean + (1 - keep) * x.mean(dim=0), keep * running_var + (1 - keep) * var


def _running_update_in_place(running_mean, running_var, x, momentum):
    running_mean.mul_(1 - momentum).add_(momentum * x.mean(dim=0))
    running_var.mul_(1 - momentum).add_(momentum * x.var(dim=0))
    return running_mean, running_var


def _he(shape, fan=0, *, std=None):
    fans = initialization.reference_fans(shape)
    return torch.randn(shape) * (std or math.sqrt(2 / fans[fan]))


def _cosine(t, base_lr, total, min_lr, *, cap=True):
    t = min(t, total) if cap else t
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * t / total)) / 2


def _bottleneck_params(inplanes, planes, downsample):
    params = inplanes * planes + 9 * planes**2 + 4 * planes**2 + 12 * planes
    return params + (4 * planes * inplanes + 8 * planes if downsample else 0)


WRONG_ANSWERS = {
    "degree-by-training-error": (
        overfitting.check_best_degree,
        _degree_by_training_error,
        "best_degree(tensor of shape (15,), tensor of shape (15,), tensor of shape (100,)",
    ),
    "degree-constant": (overfitting.check_best_degree, lambda *args: 3, "case 2 of 4"),
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
    "l2-lam-not-2lam": (
        penalties.check_l2_sgd_step,
        lambda w, grad, lr, lam: w - lr * (grad + lam * w),
        "Hint: the gradient of lam·Σw² is 2·lam·w",
    ),
    "l2-penalty-without-lr": (
        penalties.check_l2_sgd_step,
        lambda w, grad, lr, lam: w - lr * grad - 2 * lam * w,
        "values differ",
    ),
    "soft-threshold-in-place": (
        penalties.check_soft_threshold,
        soft_threshold_,
        "changed its argument 1 in place",
    ),
    "soft-threshold-without-sign": (
        penalties.check_soft_threshold,
        lambda w, t: torch.clamp(w.abs() - t, min=0.0),
        "values differ",
    ),
    "shrink-without-clamp": (
        penalties.check_soft_threshold,
        lambda w, t: w - t * torch.sign(w),
        "values differ",
    ),
    "alpha-max-without-n": (
        penalties.check_alpha_max,
        lambda x, y: float((x.T @ y).abs().max()),
        "expected 2.273",
    ),
    "alpha-max-without-abs": (
        penalties.check_alpha_max,
        lambda x, y: float((x.T @ y).max() / len(y)),
        "Hint: at w = 0 the data gradient is -X.T @ y / n",
    ),
    "dropout-unscaled": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) >= p),
        "every output must be 0 or x/(1 - p) = 4.286",
    ),
    "dropout-scaled-by-keep": (
        dropout_exercises.check_dropout,
        lambda x, p: x * (torch.rand_like(x) >= p) * (1 - p),
        "every output must be 0 or x/(1 - p)",
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
        "dropout(tensor of shape (100000,), 0.3): your function changed its argument 1",
    ),
    "dropout-list": (
        dropout_exercises.check_dropout,
        lambda x, p: dropout(x, p).tolist(),
        "expected a tensor of shape (100000,), got list",
    ),
    "dropout-reshaped": (
        dropout_exercises.check_dropout,
        lambda x, p: dropout(x, p).reshape(-1, 2),
        "expected a tensor of shape (100000,), got (50000, 2)",
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
    "moments-unscaled-variance": (
        dropout_exercises.check_dropout_moments,
        lambda a, p: (a, a * a * p),
        "dropout_moments(2.0, 0.5): item 1: expected 4.0, got 2.0",
    ),
    "moments-mean-not-inverted": (
        dropout_exercises.check_dropout_moments,
        lambda a, p: (a * (1 - p), a * a * p / (1 - p)),
        "item 0: expected 2.0, got 1.0",
    ),
    "moments-one-number": (
        dropout_exercises.check_dropout_moments,
        lambda a, p: a * a * p / (1 - p),
        "expected a sequence of 2 items",
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
    "running-biased-variance": (
        batchnorm.check_running_update,
        lambda *args: _running_update(*args, correction=0),
        "case 1 of 4, running_update(tensor of shape (3,), tensor of shape (3,), tensor of shape "
        "(8, 3), 0.1): item 1: values differ",
    ),
    "running-momentum-swapped": (
        batchnorm.check_running_update,
        lambda *args: _running_update(*args, swap=True),
        "item 0: values differ",
    ),
    "running-in-place": (
        batchnorm.check_running_update,
        _running_update_in_place,
        "changed its argument 1 in place",
    ),
    "running-mean-only": (
        batchnorm.check_running_update,
        lambda rm, rv, x, m: (1 - m) * rm + m * x.mean(dim=0),
        "expected a sequence of 2 items",
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
    "he-xavier-std": (
        initialization.check_he_normal,
        lambda shape: _he(shape, std=math.sqrt(2 / sum(initialization.reference_fans(shape)))),
        "std 0.047",
    ),
    "he-fan-out": (
        initialization.check_he_normal,
        lambda shape: _he(shape, fan=1),
        "he_normal((400, 500)): std 0.07",
    ),
    "he-fan-out-on-convolutions": (
        initialization.check_he_normal,
        lambda shape: _he(shape, fan=int(len(shape) > 2)),
        "he_normal((256, 32, 3, 3)): std 0.029",
    ),
    "he-uniform-std-as-bound": (
        initialization.check_he_normal,
        lambda shape: (2 * torch.rand(shape) - 1) * math.sqrt(2 / shape[1]),
        "std 0.036",
    ),
    "he-shifted-mean": (
        initialization.check_he_normal,
        lambda shape: _he(shape) + 0.2 * math.sqrt(2 / shape[1]),
        "mean 0.01",
    ),
    "he-transposed": (
        initialization.check_he_normal,
        lambda shape: _he(shape[::-1]),
        "expected a tensor of shape (400, 500), got (500, 400)",
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
    "gamma-divided": (
        schedules.check_exponential_gamma,
        lambda rate, steps: rate / steps,
        "Hint: ExponentialLR multiplies by gamma every step",
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


def _running_update_torch(running_mean, running_var, x, momentum):
    layer = nn.BatchNorm1d(x.shape[1], momentum=momentum).double()
    layer.running_mean.copy_(running_mean)
    layer.running_var.copy_(running_var)
    layer(x)
    return layer.running_mean, layer.running_var


RIGHT_ANSWERS = {
    "degree-numpy": (overfitting.check_best_degree, _best_degree_numpy),
    "epochs-by-hand": (overfitting.check_early_stopping_epochs, _early_stopping_by_hand),
    "l2-step-factored": (
        penalties.check_l2_sgd_step,
        lambda w, grad, lr, lam: (1 - 2 * lr * lam) * w - lr * grad,
    ),
    "softshrink": (penalties.check_soft_threshold, torch.nn.functional.softshrink),
    "alpha-max-numpy": (
        penalties.check_alpha_max,
        lambda x, y: np.abs(x.numpy().T @ y.numpy()).max() / len(y),
    ),
    "dropout-torch": (dropout_exercises.check_dropout, torch.nn.functional.dropout),
    "dropout-bernoulli": (
        dropout_exercises.check_dropout,
        lambda x, p: x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p),
    ),
    "bn-forward-torch": (
        batchnorm.check_bn_forward,
        lambda x, gamma, beta, eps: torch.nn.functional.batch_norm(
            x, None, None, gamma, beta, training=True, eps=eps
        ),
    ),
    "running-update-torch": (batchnorm.check_running_update, _running_update_torch),
    "fans-torch": (
        initialization.check_fans,
        lambda shape: nn.init._calculate_fan_in_and_fan_out(torch.empty(shape)),
    ),
    "he-normal-torch": (
        initialization.check_he_normal,
        lambda shape: nn.init.kaiming_normal_(torch.empty(shape)),
    ),
    "he-normal-float64": (initialization.check_he_normal, lambda shape: _he(shape).double()),
    "cosine-formula": (schedules.check_cosine_annealing, _cosine),
    "warmup-formula": (
        schedules.check_linear_warmup,
        lambda t, base_lr, w: base_lr * min(t + 1, w) / w,
    ),
    "gamma-root": (schedules.check_exponential_gamma, lambda rate, steps: rate ** (1 / steps)),
    "bottleneck-formula": (resnet.check_bottleneck_params, _bottleneck_params),
    "visibility-koschmieder": (
        resnet.check_visibility_from_transmission,
        lambda t, d: -math.log(0.02) * d / -math.log(t),
    ),
    "precision-recall-nan-to-zero": (
        resnet.check_precision_recall,
        lambda c: ((c.diag() / c.sum(0)).nan_to_num(), (c.diag() / c.sum(1)).nan_to_num()),
    ),
}


@pytest.mark.parametrize(("check", "answer"), RIGHT_ANSWERS.values(), ids=RIGHT_ANSWERS)
def test_another_right_answer_passes(check, answer):
    torch.manual_seed(0)
    assert check(answer).passed


# --- references whose truth needs more than another answer ---------------------------------------


def test_reference_dropout_moments_agree_with_monte_carlo():
    generator = torch.Generator().manual_seed(0)
    n = 1_000_000
    for a, p in [(2.0, 0.5), (1.0, 0.2), (-3.0, 0.75), (0.5, 0.0)]:
        samples = dropout(torch.full((n,), a, dtype=torch.float64), p, generator=generator)
        mean, variance = dropout_exercises.reference_dropout_moments(a, p)
        assert abs(samples.mean().item() - mean) <= 5 * math.sqrt(variance / n)
        assert samples.var().item() == pytest.approx(variance, rel=0.01, abs=1e-12)


def test_reference_alpha_max_is_the_smallest_strength_that_zeroes_the_lasso():
    data = make_sparse_regression(100, 20, n_informative=3, noise=0.5, seed=0)
    alpha_max = penalties.reference_alpha_max(data.x, data.y)
    assert (proximal_gradient(data.x, data.y, alpha=alpha_max, steps=200) == 0).all()
    assert (proximal_gradient(data.x, data.y, alpha=0.9 * alpha_max, steps=200)[-1] != 0).any()


def test_reference_bottleneck_params_add_up_to_resnet50():
    total, inplanes = 7 * 7 * 3 * 64 + 2 * 64 + 2048 * 1000 + 1000, 64  # stem and classifier
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        total += resnet.reference_bottleneck_params(inplanes, planes, True)
        total += (blocks - 1) * resnet.reference_bottleneck_params(4 * planes, planes, False)
        inplanes = 4 * planes
    assert total == sum(p.numel() for p in resnet50().parameters()) == 25_557_032
