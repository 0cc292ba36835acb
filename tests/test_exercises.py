import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from coursepkg.data import make_polynomial_regression
from coursepkg.dropout import dropout
from coursepkg.exercises import batchnorm as batchnorm_exercises
from coursepkg.exercises import dropout as dropout_exercises
from coursepkg.exercises import initialization as init_exercises
from coursepkg.exercises import overfitting, penalties
from coursepkg.exercises import schedules as schedule_exercises
from coursepkg.exercises.framework import (
    Feedback,
    check_function,
    check_value,
    compare,
    report,
    student_error,
)
from coursepkg.lasso import proximal_gradient
from coursepkg.metrics import mean_squared_error
from coursepkg.penalties import soft_threshold_
from coursepkg.polynomial import fit_polynomial, predict_polynomial
from coursepkg.schedules import cosine_annealing

# --- compare ----------------------------------------------------------------------------

T = torch.tensor([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("expected", "received", "kwargs"),
    [
        (T, T.clone(), {}),
        (T, T * (1 + 1e-7), {}),
        (T, [1.0, 2.0, 3.0], {}),
        (T, np.array([1, 2, 3]), {}),
        (T, T + 0.05, {"atol": 0.1}),
        (torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 1.0]), {}),
        (2.0, 2.0 + 1e-9, {}),
        (2, np.int64(2), {}),
        (2.0, torch.tensor(2.0), {}),
        (100.0, 101.0, {"rtol": 0.02}),
        ((1, T), [1.0, T.clone()], {}),
        ("relu", "relu", {}),
        (None, None, {}),
    ],
)
def test_compare_accepts_matching_values(expected, received, kwargs):
    assert compare(expected, received, **kwargs) is None


@pytest.mark.parametrize(
    ("expected", "received", "message"),
    [
        (T, T[:2], "expected shape (3,), got shape (2,)"),
        (T, T[None], "expected shape (3,), got shape (1, 3)"),
        (T, torch.tensor([1.0, math.nan, 3.0]), "contains NaN"),
        (T, T + 1e-3, "values differ"),
        (T, "abc", "expected a tensor, got str"),
        (T, None, "expected shape (3,), got shape ()"),
        (2.0, 2.1, "expected 2.0, got 2.1"),
        (2.0, "2.0", "expected a number, got str"),
        (1, True, "expected a number, got bool"),
        (2.0, T, "expected a number, got Tensor"),
        ((1, 2), (1,), "expected a sequence of 2 items"),
        ((1, 2), 12, "expected a sequence of 2 items"),
        ([1, T], [1, T + 1], "item 1: values differ"),
        ("relu", "tanh", "expected 'relu', got 'tanh'"),
    ],
)
def test_compare_describes_the_difference(expected, received, message):
    problem = compare(expected, received)
    assert problem is not None
    assert message in problem


def test_compare_message_shows_both_values_and_the_worst_index():
    problem = compare(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.5, 3.0]))
    assert "expected tensor of shape (3,) [1, 2, 3]" in problem
    assert "got tensor of shape (3,) [1, 2.5, 3]" in problem
    assert "flat index 1" in problem


def test_compare_worst_index_ignores_matching_nans():
    problem = compare(torch.tensor([math.nan, 1.0]), torch.tensor([math.nan, 2.0]))
    assert "flat index 1" in problem


# --- check_function / check_value --------------------------------------------------------


def _double(x):
    return 2 * x


CASES = [(torch.tensor([1.0, -2.0]),), (torch.arange(6.0).reshape(2, 3),)]


def _stub(*args):
    raise NotImplementedError


def _crashes(x):
    return {}["missing"]


def _in_place(x):
    out = 2 * x
    x.zero_()
    return out


class Weird:
    def __eq__(self, other):
        raise RuntimeError("no comparing me")


@pytest.mark.parametrize(
    ("student", "status", "parts"),
    [
        (_double, "passed", ["all 2 cases agree with the reference"]),
        (lambda x: 2 * x + (x < 0), "failed", ["case 1 of 2", "expected", "got"]),
        (lambda x: x.sum(), "failed", ["case 1 of 2", "expected shape (2,), got shape ()"]),
        (_stub, "not implemented", ["not implemented yet"]),
        (_crashes, "error", ["your code raised KeyError", "missing"]),
        (42, "failed", ["expected a function, got int"]),
        (_in_place, "failed", ["case 1 of 2", "changed its argument 1 in place"]),
    ],
)
def test_check_function_reports_every_outcome(capsys, student, status, parts):
    feedback = check_function("double", student, _double, CASES)
    assert isinstance(feedback, Feedback)
    assert feedback.status == status
    assert feedback.passed is (status == "passed")
    assert all(part in feedback.message for part in parts)
    assert capsys.readouterr().out == f"{feedback}\n"


def test_check_function_keeps_the_reference_inputs_intact():
    cases, seen = [(torch.tensor([1.0, 2.0]),)], []

    def reference(x):
        seen.append(x.clone())
        return 2 * x

    check_function("double", _in_place, reference, cases)
    assert torch.equal(seen[0], torch.tensor([1.0, 2.0]))
    assert torch.equal(cases[0][0], torch.tensor([1.0, 2.0]))


def test_check_function_reports_a_result_that_cannot_be_compared():
    feedback = check_function("name", lambda: Weird(), lambda: "relu", [()])
    assert feedback.status == "failed"
    assert "could not be compared" in feedback.message
    assert "no comparing me" in feedback.message


def _nearly_double(x):
    return 2 * x + 1e-3


def test_check_function_applies_tolerances_and_hint():
    nearly = _nearly_double
    assert check_function("d", nearly, _double, CASES, atol=1e-2).passed
    feedback = check_function("d", nearly, _double, CASES, hint="multiply by two")
    assert feedback.message.endswith(". Hint: multiply by two")


@pytest.mark.parametrize("argument", [nn.Linear(2, 2), np.array([1.0, 2.0])])
def test_check_function_accepts_untouched_non_tensor_arguments(argument):
    assert check_function("count", lambda a: 1, lambda a: 1, [(argument,)]).passed


def test_feedback_string_has_a_symbol_per_status():
    assert str(Feedback("ex", "passed", "ok")) == "✓ ex: ok"
    assert str(Feedback("ex", "failed", "no")).startswith("✗ ex: ")
    assert str(Feedback("ex", "not implemented", "todo")).startswith("… ex: ")
    assert str(Feedback("ex", "error", "boom")).startswith("⚠ ex: ")
    with pytest.raises(AttributeError):
        Feedback("ex", "passed", "ok").status = "failed"  # frozen


@pytest.mark.parametrize(
    ("received", "status", "part"),
    [
        (0.5, "passed", "correct"),
        (lambda: 0.5, "passed", "correct"),
        (torch.tensor(0.5), "passed", "correct"),
        (0.6, "failed", "expected 0.5, got 0.6. Hint: halve it"),
        ("0.5", "failed", "expected a number, got str"),
        (_stub, "not implemented", "not implemented yet"),
        (_double, "error", "your code raised TypeError"),
        (lambda: 1 / 0, "error", "your code raised ZeroDivisionError"),
    ],
)
def test_check_value_reports_every_outcome(capsys, received, status, part):
    feedback = check_value("half", received, 0.5, hint="halve it")
    assert feedback.status == status
    assert part in feedback.message
    assert capsys.readouterr().out == f"{feedback}\n"


def test_report_prints_the_line_and_returns_the_same_feedback(capsys):
    feedback = Feedback("ex", "failed", "no")
    assert report(feedback) is feedback
    assert capsys.readouterr().out == "✗ ex: no\n"


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (NotImplementedError(), "not implemented", "not implemented yet: write your answer"),
        (NotImplementedError("todo"), "not implemented", "not implemented yet: write your answer"),
        (ValueError("bad p"), "error", "your code raised ValueError: bad p"),
        (ZeroDivisionError("by zero"), "error", "your code raised ZeroDivisionError: by zero"),
    ],
)
def test_student_error_turns_an_exception_into_feedback_without_printing(
    capsys, error, status, message
):
    feedback = student_error("ex", error)
    assert (feedback.exercise, feedback.status) == ("ex", status)
    assert feedback.message.startswith(message)
    assert capsys.readouterr().out == ""  # report prints it, once


def test_check_value_reports_an_answer_that_cannot_be_compared():
    feedback = check_value("activation", Weird(), "relu")
    assert feedback.status == "failed"
    assert "could not be compared" in feedback.message


# --- overfitting ------------------------------------------------------------------------


def test_the_references_pass_their_own_checks():
    assert overfitting.check_best_degree(overfitting.reference_best_degree).passed
    assert overfitting.check_early_stopping_epochs(
        overfitting.reference_early_stopping_epochs
    ).passed


@pytest.mark.parametrize(
    ("losses", "patience", "expected"),
    [
        ([1.0, 0.8, 0.7, 0.75, 0.9, 1.1], 2, (3, 5)),
        ([1.0, 0.9, 0.8, 0.7], 3, (4, 4)),
        ([0.5, 0.6, 0.4, 0.45, 0.5, 0.55, 0.6], 3, (3, 6)),
        ([0.3, 0.3, 0.3, 0.3], 2, (1, 3)),
        ([2.0], 1, (1, 1)),
    ],
)
def test_reference_early_stopping_epochs_known_answers(losses, patience, expected):
    assert overfitting.reference_early_stopping_epochs(losses, patience) == expected


def test_reference_early_stopping_epochs_agrees_with_early_stopping(early_stopping_run):
    rng = random.Random(0)
    for _ in range(300):
        losses = [round(rng.uniform(0, 1), 1) for _ in range(rng.randint(1, 15))]  # with ties
        patience = rng.randint(1, 5)
        stop, stopper = early_stopping_run(losses, patience)
        best = losses.index(stopper.best_loss) + 1
        assert overfitting.reference_early_stopping_epochs(losses, patience) == (best, stop)


def _validation_errors_numpy(x_train, y_train, x_val, y_val, max_degree):
    x_train, y_train, x_val, y_val = (t.numpy() for t in (x_train, y_train, x_val, y_val))
    return np.array(
        [
            np.mean((np.polyval(np.polyfit(x_train, y_train, d), x_val) - y_val) ** 2)
            for d in range(max_degree + 1)
        ]
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reference_best_degree_matches_numpy(seed):
    data = make_polynomial_regression(20, 200, seed=seed)
    args = (data.x_train, data.y_train, data.x_test, data.y_test, 9)
    errors = _validation_errors_numpy(*args)
    first, second = np.sort(errors)[:2]
    assert second > first * (1 + 1e-6)  # a clear winner, not a rounding tie
    assert overfitting.reference_best_degree(*args) == int(np.argmin(errors))


def test_reference_best_degree_breaks_ties_towards_the_lowest_degree():
    x = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    zeros, y_val = torch.zeros(2, dtype=torch.float64), torch.tensor([1.0, -1.0]).double()
    # Zero targets: every degree fits the zero polynomial, so all errors are equal.
    assert overfitting.reference_best_degree(x, zeros, x, y_val, 4) == 0


def _degree_by_training_error(x_train, y_train, x_val, y_val, max_degree):
    errors = [
        mean_squared_error(
            predict_polynomial(fit_polynomial(x_train, y_train, d), x_train), y_train
        )
        for d in range(max_degree + 1)
    ]
    return min(range(max_degree + 1), key=errors.__getitem__)


def _epochs_from_zero(val_losses, patience):
    best, stop = overfitting.reference_early_stopping_epochs(val_losses, patience)
    return best - 1, stop - 1


def _ties_improve(val_losses, patience):
    best_epoch, best = 0, math.inf
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best:
            best_epoch, best = epoch, loss
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)


@pytest.mark.parametrize(
    ("check", "student", "status"),
    [
        (overfitting.check_best_degree, _degree_by_training_error, "failed"),
        (overfitting.check_best_degree, lambda *args: 3, "failed"),
        (overfitting.check_best_degree, _stub, "not implemented"),
        (overfitting.check_best_degree, lambda x, y: 3, "error"),
        (overfitting.check_early_stopping_epochs, _epochs_from_zero, "failed"),
        (overfitting.check_early_stopping_epochs, _ties_improve, "failed"),
        (overfitting.check_early_stopping_epochs, "(3, 5)", "failed"),
    ],
)
def test_plausible_wrong_answers_fail(capsys, check, student, status):
    feedback = check(student)
    assert feedback.status == status
    assert capsys.readouterr().out == f"{feedback}\n"


def test_wrong_answers_get_the_hint():
    feedback = overfitting.check_early_stopping_epochs(_ties_improve)
    assert "case 4 of 5" in feedback.message
    assert "a loss equal to the best is not an improvement" in feedback.message


# --- penalties --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "reference"),
    [
        (penalties.check_l2_sgd_step, penalties.reference_l2_sgd_step),
        (penalties.check_soft_threshold, penalties.reference_soft_threshold),
        (penalties.check_alpha_max, penalties.reference_alpha_max),
    ],
)
def test_the_penalty_references_pass_their_own_checks(capsys, check, reference):
    feedback = check(reference)
    assert feedback.passed
    assert capsys.readouterr().out == f"{feedback}\n"


def test_reference_l2_sgd_step_by_hand():
    w = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grad = torch.tensor([0.5, 0.5], dtype=torch.float64)
    # w − 0.1·(grad + 2·0.25·w) = w − 0.1·(1.0, −0.5)
    expected = torch.tensor([0.9, -1.95], dtype=torch.float64)
    torch.testing.assert_close(penalties.reference_l2_sgd_step(w, grad, 0.1, 0.25), expected)


def test_reference_soft_threshold_leaves_its_input_unchanged():
    w = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.0], dtype=torch.float64)
    original = w.clone()
    out = penalties.reference_soft_threshold(w, 0.5)
    assert torch.equal(out, torch.tensor([-1.5, 0.0, 0.0, 0.0, 0.5], dtype=torch.float64))
    assert torch.equal(w, original)


def test_reference_alpha_max_is_the_threshold_of_the_lasso(sparse_data):
    x, y, _ = sparse_data
    alpha_max = penalties.reference_alpha_max(x, y)
    expected = np.abs(x.numpy().T @ y.numpy()).max() / len(y)
    assert alpha_max == pytest.approx(expected, rel=1e-12)
    assert (proximal_gradient(x, y, alpha=alpha_max, steps=200) == 0).all()
    assert (proximal_gradient(x, y, alpha=0.9 * alpha_max, steps=200)[-1] != 0).any()


def _l2_step_with_lam(w, grad, lr, lam):
    return w - lr * (grad + lam * w)


def _l2_step_without_lr_on_the_penalty(w, grad, lr, lam):
    return w - lr * grad - 2 * lam * w


def _soft_threshold_in_place(w, threshold):
    return soft_threshold_(w, threshold)  # right values, but it changes w


def _soft_threshold_without_sign(w, threshold):
    return torch.clamp(w.abs() - threshold, min=0.0)


def _shrink_without_clamp(w, threshold):
    return w - threshold * torch.sign(w)


def _alpha_max_without_n(x, y):
    return float((x.T @ y).abs().max())


def _alpha_max_without_abs(x, y):
    return float((x.T @ y).max() / len(y))


@pytest.mark.parametrize(
    ("check", "student", "status", "part"),
    [
        (penalties.check_l2_sgd_step, _l2_step_with_lam, "failed", "2·lam·w"),
        (penalties.check_l2_sgd_step, _l2_step_without_lr_on_the_penalty, "failed", "case 1"),
        (penalties.check_soft_threshold, _soft_threshold_in_place, "failed", "in place"),
        (penalties.check_soft_threshold, _soft_threshold_without_sign, "failed", "values differ"),
        (penalties.check_soft_threshold, _shrink_without_clamp, "failed", "values differ"),
        (penalties.check_alpha_max, _alpha_max_without_n, "failed", "Hint"),
        (penalties.check_alpha_max, _alpha_max_without_abs, "failed", "Hint"),
        (penalties.check_l2_sgd_step, _stub, "not implemented", "not implemented yet"),
        (penalties.check_soft_threshold, _stub, "not implemented", "not implemented yet"),
        (penalties.check_alpha_max, _stub, "not implemented", "not implemented yet"),
        (penalties.check_alpha_max, lambda x: 1.0, "error", "your code raised TypeError"),
    ],
)
def test_plausible_wrong_penalty_answers_fail(capsys, check, student, status, part):
    feedback = check(student)
    assert feedback.status == status
    assert part in feedback.message
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    ("check", "student"),
    [
        (penalties.check_soft_threshold, lambda w, t: torch.nn.functional.softshrink(w, t)),
        (penalties.check_soft_threshold, lambda w, t: soft_threshold_(w.clone(), t)),
        (
            penalties.check_alpha_max,
            lambda x, y: np.abs(x.numpy().T @ y.numpy()).max() / len(y),
        ),
        (penalties.check_l2_sgd_step, lambda w, grad, lr, lam: (1 - 2 * lr * lam) * w - lr * grad),
    ],
)
def test_other_correct_penalty_answers_pass(check, student):
    assert check(student).passed


# --- dropout --------------------------------------------------------------------------------


def _dropout_bernoulli(x, p):
    return x * torch.bernoulli(torch.full_like(x, 1 - p)) / (1 - p)


def _dropout_unscaled(x, p):
    return x * (torch.rand_like(x) >= p)


def _dropout_scaled_by_keep_probability(x, p):
    return x * (torch.rand_like(x) >= p) * (1 - p)


def _dropout_drops_with_one_minus_p(x, p):
    return x * (torch.rand_like(x) < p) / (1 - p)


def _dropout_drops_with_half_p(x, p):
    return x * (torch.rand_like(x) >= p / 2) / (1 - p)


def _dropout_in_place(x, p):
    return x.mul_(torch.rand_like(x) >= p).div_(1 - p)


def _dropout_list(x, p):
    return dropout(x, p).tolist()


def _dropout_flat_pairs(x, p):
    return dropout(x, p).reshape(-1, 2)


def _dropout_raises(x, p):
    raise ValueError("p is too small")


@pytest.mark.parametrize(
    "student",
    [dropout, _dropout_bernoulli, lambda x, p: torch.nn.functional.dropout(x, p)],
    ids=["coursepkg", "bernoulli", "torch"],
)
def test_correct_dropouts_pass(capsys, student):
    torch.manual_seed(0)
    feedback = dropout_exercises.check_dropout(student)
    assert feedback.passed
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    ("student", "status", "part"),
    [
        (_dropout_unscaled, "failed", "p = 0.3: every output must be 0 or x/(1 - p) = 4.286"),
        (_dropout_scaled_by_keep_probability, "failed", "p = 0.3: every output must be 0"),
        (_dropout_drops_with_one_minus_p, "failed", "p = 0.0: with p = 0.0, 1.000 of the"),
        (_dropout_drops_with_half_p, "failed", "are zero; expected about 0.3"),
        (_dropout_in_place, "failed", "p = 0.3: your function changed its input x in place"),
        (_dropout_list, "failed", "expected a tensor of shape (100000,), got list"),
        (_dropout_flat_pairs, "failed", "expected a tensor of shape (100000,), got (50000, 2)"),
        (lambda x, p: None, "failed", "expected a tensor of shape (100000,), got NoneType"),
        (_stub, "not implemented", "not implemented yet"),
        (_dropout_raises, "error", "your code raised ValueError: p is too small"),
        (lambda x: x, "error", "your code raised TypeError"),
        (42, "failed", "expected a function, got int"),
        ("dropout", "failed", "expected a function, got str"),
    ],
)
def test_wrong_dropouts_fail_without_raising(capsys, student, status, part):
    torch.manual_seed(0)
    feedback = dropout_exercises.check_dropout(student)
    assert feedback.exercise == "dropout"
    assert feedback.status == status
    assert part in feedback.message
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    "student",
    [
        lambda x, p: torch.rand_like(x) >= p,  # returns the mask, not the dropped-out x
        lambda x, p: dropout(x, p).long(),  # 3/(1 - 0.3) = 4.29 truncated to 4
    ],
    ids=["bool-mask", "int64"],
)
def test_a_mask_or_truncated_integers_fail(student):
    torch.manual_seed(0)
    assert dropout_exercises.check_dropout(student).status == "failed"


def test_reference_dropout_moments_passes_its_check(capsys):
    feedback = dropout_exercises.check_dropout_moments(dropout_exercises.reference_dropout_moments)
    assert feedback.passed
    assert capsys.readouterr().out == f"{feedback}\n"


def test_reference_dropout_moments_by_hand():
    assert dropout_exercises.reference_dropout_moments(2.0, 0.5) == (2.0, 4.0)
    assert dropout_exercises.reference_dropout_moments(-3.0, 0.75) == (-3.0, 27.0)
    assert dropout_exercises.reference_dropout_moments(0.5, 0.0) == (0.5, 0.0)


@pytest.mark.parametrize(("a", "p"), [(2.0, 0.5), (1.0, 0.2), (-3.0, 0.75), (0.5, 0.0)])
def test_reference_dropout_moments_agree_with_monte_carlo(a, p):
    n = 1_000_000
    generator = torch.Generator().manual_seed(0)
    samples = dropout(torch.full((n,), a, dtype=torch.float64), p, generator=generator)
    mean, variance = dropout_exercises.reference_dropout_moments(a, p)
    assert abs(samples.mean().item() - mean) <= 5 * math.sqrt(variance / n)
    assert samples.var().item() == pytest.approx(variance, rel=0.01, abs=1e-12)


@pytest.mark.parametrize(
    "student",
    [
        lambda a, p: (a, a * a * p),  # the variance of a·m, forgetting the scale
        lambda a, p: (a, a * a * p * (1 - p)),
        lambda a, p: (a * (1 - p), a * a * p / (1 - p)),  # forgot the inverted scaling
        lambda a, p: a * a * p / (1 - p),  # the variance alone
    ],
    ids=["a2p", "a2p(1-p)", "mean-a(1-p)", "one-number"],
)
def test_wrong_dropout_moments_fail(capsys, student):
    feedback = dropout_exercises.check_dropout_moments(student)
    assert feedback.status == "failed"
    assert "case 1 of 4" in feedback.message
    hint = "the output is a/(1 - p) with probability 1 - p and 0 otherwise"
    assert feedback.message.endswith(f". Hint: {hint}")
    assert capsys.readouterr().out == f"{feedback}\n"


def test_dropout_moments_stub_is_not_implemented():
    feedback = dropout_exercises.check_dropout_moments(_stub)
    assert feedback.status == "not implemented"


# --- batch normalization --------------------------------------------------------------------


def _bn_batch(n, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2 * torch.randn(n, c, generator=g, dtype=torch.float64) - 1


def _bn_forward_eps_outside(x, gamma, beta, eps):
    return gamma * (x - x.mean(dim=0)) / (x.var(dim=0, correction=0).sqrt() + eps) + beta


def _bn_forward_unbiased(x, gamma, beta, eps):
    return gamma * (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0) + eps) + beta


def _bn_forward_without_gamma(x, gamma, beta, eps):
    return (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0, correction=0) + eps) + beta


def _bn_forward_torch(x, gamma, beta, eps):
    return torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)


def _running_update_biased(running_mean, running_var, x, momentum):
    mean, var = x.mean(dim=0), x.var(dim=0, correction=0)
    return (1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + (
        momentum * var
    )


def _running_update_swapped(running_mean, running_var, x, momentum):
    mean, var = x.mean(dim=0), x.var(dim=0)
    return momentum * running_mean + (1 - momentum) * mean, momentum * running_var + (
        1 - momentum
    ) * var


def _running_update_in_place(running_mean, running_var, x, momentum):
    running_mean.mul_(1 - momentum).add_(momentum * x.mean(dim=0))
    running_var.mul_(1 - momentum).add_(momentum * x.var(dim=0))
    return running_mean, running_var


def _running_update_with_torch(running_mean, running_var, x, momentum):
    layer = nn.BatchNorm1d(x.shape[1], momentum=momentum).double()
    layer.running_mean.copy_(running_mean)
    layer.running_var.copy_(running_var)
    layer(x)
    return layer.running_mean, layer.running_var


BN_FORWARD_HINT = "normalize each column with its mean and biased variance, ε inside the root"
RUNNING_HINT = "the running variance uses the unbiased batch variance (divide by N - 1)"


@pytest.mark.parametrize(
    ("check", "reference"),
    [
        (batchnorm_exercises.check_bn_forward, batchnorm_exercises.reference_bn_forward),
        (batchnorm_exercises.check_running_update, batchnorm_exercises.reference_running_update),
    ],
)
def test_the_batchnorm_references_pass_their_own_checks(capsys, check, reference):
    feedback = check(reference)
    assert feedback.passed
    assert feedback.message == "all 4 cases agree with the reference"
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(("n", "c"), [(2, 3), (8, 3), (64, 50)])
@pytest.mark.parametrize("eps", [1e-5, 1e-3, 0.5])
def test_reference_bn_forward_equals_torch_batch_norm(n, c, eps):
    x = _bn_batch(n, c)
    g = torch.Generator().manual_seed(1)
    gamma = 0.5 + torch.rand(c, generator=g, dtype=torch.float64)
    beta = torch.randn(c, generator=g, dtype=torch.float64)
    out = batchnorm_exercises.reference_bn_forward(x, gamma, beta, eps)
    expected = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("n", [2, 8])
@pytest.mark.parametrize("start", [(0.0, 1.0), (2.0, 0.5)], ids=["default", "moved"])
def test_reference_running_update_equals_torch_after_one_step(momentum, n, start):
    c = 4
    x = _bn_batch(n, c, seed=2)
    layer = torch.nn.BatchNorm1d(c, momentum=momentum).double()
    running_mean = torch.full((c,), start[0], dtype=torch.float64)
    running_var = torch.full((c,), start[1], dtype=torch.float64)
    layer.running_mean.copy_(running_mean)
    layer.running_var.copy_(running_var)
    layer.train()(x)
    mean, var = batchnorm_exercises.reference_running_update(running_mean, running_var, x, momentum)
    torch.testing.assert_close(mean, layer.running_mean, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(var, layer.running_var, rtol=1e-10, atol=1e-12)
    assert torch.equal(running_mean, torch.full((c,), start[0], dtype=torch.float64))  # intact


@pytest.mark.parametrize(
    ("check", "student", "status", "part"),
    [
        (batchnorm_exercises.check_bn_forward, _bn_forward_eps_outside, "failed", BN_FORWARD_HINT),
        (batchnorm_exercises.check_bn_forward, _bn_forward_unbiased, "failed", "case 1 of 4"),
        (batchnorm_exercises.check_bn_forward, _bn_forward_without_gamma, "failed", "case 1 of 4"),
        (batchnorm_exercises.check_bn_forward, lambda x, g, b, e: x, "failed", "values differ"),
        (batchnorm_exercises.check_bn_forward, _stub, "not implemented", "not implemented yet"),
        (batchnorm_exercises.check_bn_forward, 42, "failed", "expected a function, got int"),
        (batchnorm_exercises.check_bn_forward, lambda x: x, "error", "your code raised TypeError"),
        (batchnorm_exercises.check_running_update, _running_update_biased, "failed", "item 1"),
        (batchnorm_exercises.check_running_update, _running_update_swapped, "failed", "case 1"),
        (
            batchnorm_exercises.check_running_update,
            _running_update_in_place,
            "failed",
            "case 1 of 4: your function changed its argument 1 in place",
        ),
        (
            batchnorm_exercises.check_running_update,
            lambda rm, rv, x, m: (1 - m) * rm + m * x.mean(dim=0),
            "failed",
            "expected a sequence of 2 items",
        ),
        (batchnorm_exercises.check_running_update, _stub, "not implemented", "not implemented"),
        (batchnorm_exercises.check_running_update, "update", "failed", "expected a function"),
    ],
)
def test_plausible_wrong_batchnorm_answers_fail(capsys, check, student, status, part):
    feedback = check(student)
    assert feedback.status == status
    assert part in feedback.message
    if status == "failed" and callable(student):
        hint = BN_FORWARD_HINT if check is batchnorm_exercises.check_bn_forward else RUNNING_HINT
        assert feedback.message.endswith(f". Hint: {hint}")
    assert capsys.readouterr().out == f"{feedback}\n"


def test_the_biased_running_variance_fails_on_the_variance_only():
    feedback = batchnorm_exercises.check_running_update(_running_update_biased)
    assert "case 1 of 4: item 1: values differ" in feedback.message


def test_the_fourth_bn_forward_case_is_where_eps_outside_the_root_shows():
    seen = []

    def spy(*args):
        seen.append(args)
        return batchnorm_exercises.reference_bn_forward(*args)

    assert batchnorm_exercises.check_bn_forward(spy).passed
    assert len(seen) == 4
    differences = []
    for args in seen:
        expected = batchnorm_exercises.reference_bn_forward(*args)
        wrong = _bn_forward_eps_outside(*args)
        differences.append(((wrong - expected).norm() / expected.norm()).item())
    assert max(differences[:3]) < 1e-4  # ε = 1e-5 against variances near 9: hardly visible
    assert differences[3] > 0.5  # tiny variances with ε = 1e-3: a different answer


@pytest.mark.parametrize(
    ("check", "student"),
    [
        (batchnorm_exercises.check_bn_forward, _bn_forward_torch),
        (batchnorm_exercises.check_running_update, _running_update_with_torch),
    ],
)
def test_torch_based_batchnorm_answers_pass(check, student):
    assert check(student).passed


# --- initialization -------------------------------------------------------------------------

FAN_SHAPES = [(10, 20), (64, 3, 3, 3), (128, 64, 1, 1), (16, 8, 5), (6, 4, 2, 3, 3)]
FANS_HINT = "each output of a convolution sums in_channels * kernel-size products"


def _checked_fan_shapes():
    """The shapes ``check_fans`` asks about, caught by a spy that answers correctly."""
    seen = []

    def spy(shape):
        seen.append(shape)
        return init_exercises.reference_fans(shape)

    assert init_exercises.check_fans(spy).passed
    return seen


def _torch_fans(shape):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_check_fans_asks_about_linear_and_convolution_shapes():
    assert _checked_fan_shapes() == FAN_SHAPES


@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_reference_fans_equal_torch(shape):
    assert init_exercises.reference_fans(shape) == _torch_fans(shape)


@pytest.mark.parametrize(
    "student", [init_exercises.reference_fans, _torch_fans], ids=["reference", "torch"]
)
def test_correct_fans_pass(capsys, student):
    feedback = init_exercises.check_fans(student)
    assert feedback.exercise == "fans"
    assert feedback.passed
    assert feedback.message == "all 5 cases agree with the reference"
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    ("student", "status", "part"),
    [
        (lambda shape: (shape[1], shape[0]), "failed", "case 2 of 5: item 0: expected 27, got 3"),
        (
            lambda shape: _torch_fans(shape)[::-1],
            "failed",
            "case 1 of 5: item 0: expected 20, got 10",
        ),
        (lambda shape: _torch_fans(shape)[0], "failed", "expected a sequence of 2 items"),
        (_stub, "not implemented", "not implemented yet"),
        (lambda shape: shape[2], "error", "your code raised IndexError"),
        ((20, 10), "failed", "expected a function, got tuple"),
    ],
    ids=["ignores-kernel", "swapped", "one-number", "stub", "raises", "not-callable"],
)
def test_wrong_fans_fail_without_raising(capsys, student, status, part):
    feedback = init_exercises.check_fans(student)
    assert feedback.exercise == "fans"
    assert feedback.status == status
    assert part in feedback.message
    if status == "failed" and callable(student):
        assert feedback.message.endswith(f". Hint: {FANS_HINT}")
    assert capsys.readouterr().out == f"{feedback}\n"


def _fans_of(shape):
    return init_exercises.reference_fans(shape)


def _he_normal(shape):
    return torch.randn(shape) * math.sqrt(2 / _fans_of(shape)[0])


def _he_normal_torch(shape):
    return torch.nn.init.kaiming_normal_(torch.empty(shape))


def _he_xavier_std(shape):
    fan_in, fan_out = _fans_of(shape)
    return torch.randn(shape) * math.sqrt(2 / (fan_in + fan_out))


def _he_fan_out(shape):
    return torch.randn(shape) * math.sqrt(2 / _fans_of(shape)[1])


def _he_uniform_wrong_std(shape):
    # U(-σ, σ) has std σ/√3, not σ: the bound must be √3·σ.
    return (2 * torch.rand(shape) - 1) * math.sqrt(2 / _fans_of(shape)[0])


def _he_shifted(shape):
    return _he_normal(shape) + 0.2 * math.sqrt(2 / _fans_of(shape)[0])


def _he_transposed(shape):
    return _he_normal(shape[::-1])


def _he_list(shape):
    return _he_normal(shape).tolist()


def _he_raises(shape):
    raise ValueError("fan_in is unknown")


@pytest.mark.parametrize(
    "student",
    [_he_normal, _he_normal_torch, lambda shape: _he_normal(shape).double()],
    ids=["formula", "torch", "float64"],
)
def test_correct_he_normals_pass(capsys, student):
    torch.manual_seed(0)
    feedback = init_exercises.check_he_normal(student)
    assert feedback.exercise == "he_normal"
    assert feedback.passed
    assert feedback.message == "std √(2/fan_in) and mean 0 on both shapes"
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    ("student", "status", "part"),
    [
        (_he_xavier_std, "failed", "shape (400, 500): std 0.047"),
        (_he_fan_out, "failed", "shape (400, 500): std 0.07"),
        (_he_uniform_wrong_std, "failed", "shape (400, 500): std 0.036"),
        (_he_shifted, "failed", "shape (400, 500): mean 0.01"),
        (_he_transposed, "failed", "expected a tensor of shape (400, 500), got (500, 400)"),
        (_he_list, "failed", "expected a tensor of shape (400, 500), got list"),
        (lambda shape: None, "failed", "expected a tensor of shape (400, 500), got NoneType"),
        (_stub, "not implemented", "not implemented yet"),
        (_he_raises, "error", "your code raised ValueError: fan_in is unknown"),
        (lambda: torch.randn(3), "error", "your code raised TypeError"),
        ("he_normal", "failed", "expected a function, got str"),
    ],
    ids=[
        "xavier-std",
        "fan-out",
        "uniform-wrong-std",
        "shifted-mean",
        "transposed",
        "list",
        "none",
        "stub",
        "value-error",
        "no-argument",
        "not-callable",
    ],
)
def test_wrong_he_normals_fail_without_raising(capsys, student, status, part):
    torch.manual_seed(0)
    feedback = init_exercises.check_he_normal(student)
    assert feedback.exercise == "he_normal"
    assert feedback.status == status
    assert part in feedback.message
    assert capsys.readouterr().out == f"{feedback}\n"


def test_he_normal_failure_names_the_expected_std_and_fan_in():
    torch.manual_seed(0)
    feedback = init_exercises.check_he_normal(_he_fan_out)
    want = math.sqrt(2 / 500)
    assert f"expected √(2/fan_in) = {want:.4g} (fan_in = 500)" in feedback.message


def test_he_normal_checks_the_convolution_shape_too():
    def linear_only(shape):
        return _he_normal(shape) if len(shape) == 2 else _he_fan_out(shape)

    torch.manual_seed(0)
    feedback = init_exercises.check_he_normal(linear_only)
    assert feedback.status == "failed"
    assert "shape (256, 32, 3, 3): std" in feedback.message
    assert "(fan_in = 288)" in feedback.message


def test_check_properties_reports_every_outcome_without_raising(capsys):
    from coursepkg.exercises.framework import check_properties

    def even(result, n):
        return None if result % 2 == 0 else f"{n} gave an odd number"

    cases = [(1,), (2,)]
    assert check_properties("double", lambda n: 2 * n, cases, even, success="ok").passed
    assert check_properties("same", lambda n: n, cases, even, success="ok").message == (
        "1 gave an odd number"
    )
    assert check_properties("x", 3, cases, even, success="ok").status == "failed"
    assert check_properties("x", lambda n: "a", cases, even, success="ok").status == "failed"
    stub = check_properties("x", _stub, cases, even, success="ok")
    assert stub.status == "not implemented"
    assert capsys.readouterr().out.count("\n") == 5


def _cosine_without_cap(step, base_lr, total_steps, min_lr):
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2


@pytest.mark.parametrize(
    ("check", "student", "status", "part"),
    [
        (
            schedule_exercises.check_cosine_annealing,
            lambda t, base, total, low: base * (1 + math.cos(math.pi * min(t, total) / total)) / 2,
            "failed",
            "case 9 of 14",  # min_lr forgotten: step 1 of the first case with min_lr > 0
        ),
        (schedule_exercises.check_cosine_annealing, _cosine_without_cap, "failed", "case 7"),
        (schedule_exercises.check_cosine_annealing, _stub, "not implemented", "not implemented"),
        (
            schedule_exercises.check_linear_warmup,
            lambda t, base, w: base * min(t, w) / w,  # starts at zero
            "failed",
            "already uses base_lr / warmup_steps",
        ),
        (
            schedule_exercises.check_linear_warmup,
            lambda t, base, w: base * (t + 1) / w,  # never stops rising
            "failed",
            "case 5",
        ),
        (
            schedule_exercises.check_exponential_gamma,
            lambda rate, steps: rate / steps,
            "failed",
            "Hint",
        ),
        (schedule_exercises.check_exponential_gamma, lambda rate: rate, "error", "TypeError"),
        (schedule_exercises.check_exponential_gamma, 0.96, "failed", "expected a function"),
    ],
)
def test_wrong_schedule_answers_fail_without_raising(capsys, check, student, status, part):
    feedback = check(student)
    assert feedback.status == status
    assert part in feedback.message
    assert capsys.readouterr().out == f"{feedback}\n"


@pytest.mark.parametrize(
    ("check", "reference"),
    [
        (
            schedule_exercises.check_cosine_annealing,
            lambda t, base, total, low: cosine_annealing(
                t, base_lr=base, total_steps=total, min_lr=low
            ),
        ),
        (schedule_exercises.check_linear_warmup, schedule_exercises.reference_linear_warmup),
        (
            schedule_exercises.check_exponential_gamma,
            schedule_exercises.reference_exponential_gamma,
        ),
    ],
)
def test_the_schedule_references_pass_their_own_checks(check, reference):
    assert check(reference).passed


def test_reference_exponential_gamma_gives_decay_rate_over_decay_steps():
    gamma = schedule_exercises.reference_exponential_gamma(0.96, 100)
    assert gamma**100 == pytest.approx(0.96, rel=1e-12)
