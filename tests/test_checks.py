"""The shared argument checks: each accepts what is allowed and names the argument otherwise."""

import math

import numpy as np
import pytest
import torch

from coursepkg._checks import (
    check_drop_probability,
    check_fraction,
    check_loader,
    check_nonnegative,
    check_positive_int,
    seeded_generator,
)

NOT_NUMBERS = [True, np.bool_(True), "0.5", None, [0.5], torch.tensor(0.5), 1j]


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (
            lambda v: check_positive_int(v, "width"),
            [1, 5, np.int32(3)],
            [0, -3, 2.0, True, "2"],
        ),
        (
            lambda v: check_fraction(v, "width"),
            [0, 0.25, 1.0, np.float32(0.5)],
            [-1e-300, 1 + 1e-12, math.nan, math.inf, *NOT_NUMBERS],
        ),
        (
            lambda v: check_nonnegative(v, "width"),
            [0, 2.5, 1e300, np.int32(7)],
            [-1e-12, np.int64(-2), math.nan, math.inf, 10**400, *NOT_NUMBERS],
        ),
        (
            lambda v: check_drop_probability(v, "width"),
            [0, 0.5, 0.999],
            [1, 1.0, -0.1, math.nan, *NOT_NUMBERS],
        ),
        (
            lambda v: seeded_generator(v, "width"),
            [0, 2**64 - 1, np.int64(3)],
            [-1, 2**64, 1.0, None],
        ),
        (
            lambda v: check_loader(v, "width"),
            [[(torch.zeros(1), torch.zeros(1))], iter([])],
            [[], "batches", 3],
        ),
    ],
    ids=["positive_int", "fraction", "nonnegative", "drop_probability", "seed", "loader"],
)
def test_a_check_accepts_what_is_allowed_and_names_the_argument_otherwise(check, good, bad):
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises((TypeError, ValueError), match=r"^width "):
            check(value)


def test_checked_numbers_come_back_as_python_numbers():
    assert type(check_positive_int(np.int32(3), "n")) is int
    assert type(check_fraction(np.float32(0.5), "p")) is float
    assert type(check_nonnegative(np.int32(7), "lam")) is float
