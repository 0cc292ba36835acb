import math
import os
import random

import numpy as np
import pytest
import torch

from coursepkg.utils import (
    check_fraction,
    check_nonnegative,
    check_positive_int,
    get_device,
    seed_everything,
    show_source,
)


def _draws():
    return torch.rand(5), np.random.rand(5), [random.random() for _ in range(5)]


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1, np.int64(123)])
def test_seed_everything_returns_the_seed_as_int(seed):
    result = seed_everything(seed)
    assert result == seed
    assert type(result) is int


def test_same_seed_gives_identical_draws():
    seed_everything(42)
    first = _draws()
    seed_everything(42)
    second = _draws()
    assert torch.equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2]


def test_different_seeds_give_different_draws():
    seed_everything(1)
    first = _draws()
    seed_everything(2)
    second = _draws()
    assert not torch.equal(first[0], second[0])
    assert not np.array_equal(first[1], second[1])
    assert first[2] != second[2]


def test_seed_everything_sets_pythonhashseed_for_subprocesses(monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    seed_everything(31)
    assert os.environ["PYTHONHASHSEED"] == "31"


@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (-1, ValueError),
        (2**32, ValueError),
        (1.0, TypeError),
        ("3", TypeError),
        (None, TypeError),
        (True, TypeError),
    ],
)
def test_seed_everything_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        seed_everything(seed)


@pytest.mark.skipif(
    torch.cuda.is_available() or torch.backends.mps.is_available(), reason="an accelerator exists"
)
def test_get_device_is_cpu_without_accelerator():
    assert get_device() == torch.device("cpu")


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert get_device() == torch.device(expected)


@pytest.mark.parametrize(("value", "minimum"), [(1, 1), (5, 1), (0, 0), (np.int32(3), 2)])
def test_check_positive_int_returns_valid_values_as_int(value, minimum):
    result = check_positive_int(value, "n", minimum=minimum)
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_check_positive_int_names_the_argument(value, error):
    with pytest.raises(error, match="width"):
        check_positive_int(value, "width")


NOT_NUMBERS = [True, False, np.bool_(True), "0.5", None, [0.5], torch.tensor(0.5), 1j]


@pytest.mark.parametrize(
    "value", [0, 1, 0.0, 0.25, 1.0, np.int64(1), np.float32(0.5), np.float64(0.75)]
)
def test_check_fraction_returns_values_in_0_1_as_float(value):
    result = check_fraction(value, "p")
    assert result == value
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-0.1, ValueError),
        (-1e-300, ValueError),
        (1 + 1e-12, ValueError),
        (2, ValueError),
        (math.nan, ValueError),
        (np.float64("nan"), ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        *[(value, TypeError) for value in NOT_NUMBERS],
    ],
)
def test_check_fraction_names_the_argument(value, error):
    with pytest.raises(error, match="dropout"):
        check_fraction(value, "dropout")


@pytest.mark.parametrize(
    "value", [0, 3, 0.0, 2.5, 1e300, np.int32(7), np.float32(0.5), np.float64(0.0)]
)
def test_check_nonnegative_returns_finite_values_at_least_zero_as_float(value):
    result = check_nonnegative(value, "lam")
    assert result == value
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (-1e-12, ValueError),
        (np.int64(-2), ValueError),
        (math.nan, ValueError),
        (np.float32("nan"), ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        *[(value, TypeError) for value in NOT_NUMBERS],
    ],
)
def test_check_nonnegative_names_the_argument(value, error):
    with pytest.raises(error, match="strength"):
        check_nonnegative(value, "strength")


def test_show_source_lists_the_code_without_its_docstring():
    from coursepkg.polynomial import fit_polynomial

    listing = show_source(fit_polynomial).data
    assert listing.startswith("def fit_polynomial(")
    assert "torch.linalg.lstsq" in listing
    assert "Parameters" not in listing
    assert "Parameters" in show_source(fit_polynomial, docstring=True).data


def test_show_source_of_a_method_is_dedented():
    from coursepkg.early_stopping import EarlyStopping

    assert show_source(EarlyStopping.step).data.startswith("def step(")


def test_show_source_rejects_what_has_no_source():
    with pytest.raises(TypeError, match="obj"):
        show_source(3)


def test_check_nonnegative_rejects_a_huge_integer_by_name():
    with pytest.raises(ValueError, match="strength"):
        check_nonnegative(10**400, "strength")


def test_check_type_names_the_argument_and_the_type():
    from coursepkg.utils import check_type

    assert check_type(3, int, "n", "integer") is None
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module, got str"):
        check_type("x", torch.nn.Module, "model", "torch.nn.Module")
