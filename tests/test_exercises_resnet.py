"""The checkers of :mod:`coursepkg.exercises.resnet`: right answers pass, wrong ones fail."""

import math

import pytest
import torch

from coursepkg.exercises import resnet as ex
from coursepkg.metrics import precision_recall
from coursepkg.resnet import resnet50


def _formula_bottleneck_params(inplanes, planes, downsample):
    params = inplanes * planes + 9 * planes**2 + 4 * planes**2 + 12 * planes
    return params + (4 * planes * inplanes + 8 * planes if downsample else 0)


def test_reference_bottleneck_params_adds_up_to_resnet50():
    stem, fc = 7 * 7 * 3 * 64 + 2 * 64, 2048 * 1000 + 1000
    total, inplanes = stem + fc, 64
    for planes, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        total += ex.reference_bottleneck_params(inplanes, planes, True)
        total += (blocks - 1) * ex.reference_bottleneck_params(4 * planes, planes, False)
        inplanes = 4 * planes
    assert total == sum(p.numel() for p in resnet50().parameters()) == 25_557_032


def test_right_answers_pass():
    assert ex.check_bottleneck_params(_formula_bottleneck_params).status == "passed"
    assert (
        ex.check_visibility_from_transmission(ex.reference_visibility_from_transmission).status
        == "passed"
    )
    assert ex.check_precision_recall(precision_recall).status == "passed"


def test_visibility_reference_inverts_koschmieder():
    # A transmission of 2 % over d km means the visibility is d km.
    assert ex.reference_visibility_from_transmission(0.02, 3.0) == pytest.approx(3.0)
    beta = 3.912 / 5.0
    assert ex.reference_visibility_from_transmission(math.exp(-beta * 2.0), 2.0) == pytest.approx(
        5.0, rel=1e-3
    )


@pytest.mark.parametrize(
    ("check", "wrong", "expected"),
    [
        (
            ex.check_bottleneck_params,
            lambda i, p, d: _formula_bottleneck_params(i, p, False),
            "case 1",
        ),
        (ex.check_bottleneck_params, lambda i, p, d: i * p + 9 * p * p + 4 * p * p, "expected"),
        (ex.check_visibility_from_transmission, lambda t, d: 3.912 / -math.log(t), "Hint"),
        (ex.check_visibility_from_transmission, lambda t, d: d / t, "expected"),
        (
            ex.check_precision_recall,
            lambda c: (c.diag() / c.sum(1), c.diag() / c.sum(0)),  # swapped
            "expected",
        ),
        (
            ex.check_precision_recall,
            lambda c: (c.double().diag() / c.sum(0), c.double().diag() / c.sum(1)),  # 0/0
            "NaN",
        ),
    ],
)
def test_wrong_answers_get_feedback(check, wrong, expected, capsys):
    feedback = check(wrong)
    assert feedback.status == "failed"
    assert expected in feedback.message
    assert "✗" in capsys.readouterr().out


@pytest.mark.parametrize(
    "check",
    [ex.check_bottleneck_params, ex.check_visibility_from_transmission, ex.check_precision_recall],
)
@pytest.mark.parametrize(
    "answer",
    [None, 3, "text", lambda *args: None, lambda *args: 1 / 0, lambda *args: "x"],
)
def test_unfinished_or_broken_answers_never_raise(check, answer):
    assert check(answer).status in ("failed", "error", "not implemented")


def test_the_checkers_do_not_mutate_the_reference_cases():
    def in_place(confusion):
        confusion.zero_()
        return torch.zeros(len(confusion)), torch.zeros(len(confusion))

    feedback = ex.check_precision_recall(in_place)
    assert feedback.status == "failed"
