"""Checks for the exercises of :ref:`ch-overfitting`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from coursepkg.data import make_polynomial_regression
from coursepkg.early_stopping import EarlyStopping
from coursepkg.exercises.framework import Feedback, check_function, check_properties, compare
from coursepkg.metrics import mean_squared_error
from coursepkg.polynomial import (
    fit_polynomial,
    fit_polynomial_ridge,
    polynomial_features,
    predict_polynomial,
)

__all__ = [
    "check_best_degree",
    "check_early_stopping_epochs",
    "check_ridge_by_augmentation",
    "reference_best_degree",
    "reference_early_stopping_epochs",
    "reference_ridge_by_augmentation",
]


def reference_best_degree(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    max_degree: int,
) -> int:
    """Return the degree in ``0 .. max_degree`` with the lowest validation error.

    Each degree is fitted by least squares on the training data; ties go to the
    lowest degree.
    """
    errors = [
        mean_squared_error(predict_polynomial(fit_polynomial(x_train, y_train, d), x_val), y_val)
        for d in range(max_degree + 1)
    ]
    return min(range(max_degree + 1), key=errors.__getitem__)


def reference_early_stopping_epochs(val_losses: Sequence[float], patience: int) -> tuple[int, int]:
    """Return ``(best_epoch, stop_epoch)``, both counted from 1.

    They are what :class:`~coursepkg.early_stopping.EarlyStopping` decides:
    training stops at the first epoch that ends ``patience`` epochs without a new
    lowest validation loss, or at the last epoch if that never happens; the best
    epoch is the one with the lowest loss up to the stop (the first on ties).
    """
    stopper, model = EarlyStopping(patience, restore_best=False), torch.nn.Module()
    for loss in val_losses:
        if stopper.step(loss, model):
            break
    return stopper.best_epoch, stopper.epoch


def _degree_cases() -> list[tuple[Any, ...]]:
    # (n_train, noise, max_degree, seed), chosen so that the answers differ: 3, 6, 1, 5,
    # then max_degree itself (5: noise-free data, the odd sine wants every odd power).
    settings = [
        (15, 0.2, 10, 0),
        (40, 0.02, 12, 1),
        (30, 0.2, 2, 3),
        (60, 0.05, 12, 4),
        (40, 0.0, 5, 5),
    ]
    cases = []
    for n_train, noise, max_degree, seed in settings:
        data = make_polynomial_regression(n_train, 200, noise=noise, seed=seed)
        # The first half of the test points serve as validation data.
        x_val, y_val = data.x_test[:100], data.y_test[:100]
        cases.append((data.x_train, data.y_train, x_val, y_val, max_degree))
    # An exact tie: zero targets give w = 0 at every degree, the same validation error; the
    # answer is the lowest degree, 0.
    x_train, _, x_val, y_val, _ = cases[0]
    cases.append((x_train, torch.zeros_like(x_train), x_val, y_val, 4))
    return cases


def check_best_degree(best_degree: Any) -> Feedback:
    """Check ``best_degree(x_train, y_train, x_val, y_val, max_degree) -> int``."""
    return check_function(
        "best_degree",
        best_degree,
        reference_best_degree,
        _degree_cases(),
        hint="fit each degree on the training data and score it on the validation data",
    )


def check_early_stopping_epochs(early_stopping_epochs: Any) -> Feedback:
    """Check ``early_stopping_epochs(val_losses, patience) -> (best_epoch, stop_epoch)``."""
    cases = [
        ([1.0, 0.8, 0.7, 0.75, 0.9, 1.1], 2),  # stops 2 epochs after the minimum
        ([1.0, 0.9, 0.8, 0.7], 3),  # never stops early
        ([0.5, 0.6, 0.4, 0.45, 0.5, 0.55, 0.6], 3),  # a new minimum resets the wait
        ([0.3, 0.3, 0.3, 0.3], 2),  # an equal loss is no improvement
        ([2.0], 1),
        ([1.0, 1.1, 1.2, 0.5], 2),  # stops before a later, lower loss
    ]
    return check_function(
        "early_stopping_epochs",
        early_stopping_epochs,
        reference_early_stopping_epochs,
        cases,
        hint="epochs count from 1; a loss equal to the best is not an improvement",
    )


def reference_ridge_by_augmentation(
    x: torch.Tensor, y: torch.Tensor, degree: int, lam: float
) -> torch.Tensor:
    """Return the ridge coefficients of :func:`~coursepkg.polynomial.fit_polynomial_ridge`.

    Least squares on ``Φ`` with ``degree`` rows ``√(Nλ)·e_k`` (``k = 1 .. degree``,
    target 0) appended minimizes ``‖Φw − y‖² + Nλ(w₁² + … + w_D²)``, which is
    ``2N·J`` of that function: the same coefficients.
    """
    return fit_polynomial_ridge(x, y, degree, lam)


def _ridge_with_intercept_penalized(x: torch.Tensor, y: torch.Tensor, degree: int, lam: float):
    phi = polynomial_features(x, degree)  # (N, D + 1)
    eye = torch.eye(degree + 1, dtype=phi.dtype)
    return torch.linalg.solve(phi.T @ phi / len(y) + lam * eye, phi.T @ y / len(y))


def _ridge_mistakes(
    x: torch.Tensor, y: torch.Tensor, degree: int, lam: float
) -> list[tuple[str, torch.Tensor]]:
    """Return what common mistakes compute, each with the words that name it."""
    n, ridge = len(y), fit_polynomial_ridge
    halves = "are ridge at 2λ or λ/2: the ½ of the penalty λ/2‖w‖² matches the ½ of the loss"
    return [
        (
            "are ridge at λ/N: the sum ‖Φw - y‖² is 2N·J, so the extra rows hold √(Nλ), not √λ",
            ridge(x, y, degree, lam / n),
        ),
        (
            "are ridge at λ²/N: the squares of the extra rows make the penalty, so they hold "
            "√(Nλ), not λ",
            ridge(x, y, degree, lam**2 / n),
        ),
        (halves, ridge(x, y, degree, 2 * lam)),
        (halves, ridge(x, y, degree, lam / 2)),
        (
            "penalize the intercept w₀ too: its column in the extra rows must be 0",
            _ridge_with_intercept_penalized(x, y, degree, lam),
        ),
        ("are plain least squares, as if λ = 0: add the extra rows", fit_polynomial(x, y, degree)),
    ]


def check_ridge_by_augmentation(ridge_by_augmentation: Any) -> Feedback:
    """Check ``ridge_by_augmentation(x, y, degree, lam) -> coefficients (degree + 1,)``."""
    cases = []
    # (n_train, degree, lam, seed): small and large λ, few and many points.
    settings = [(15, 5, 1e-3, 0), (30, 3, 0.1, 1), (20, 8, 1e-4, 2), (10, 2, 2.0, 3)]
    for n_train, degree, lam, seed in settings:
        data = make_polynomial_regression(n_train, 1, noise=0.2, seed=seed)
        cases.append((data.x_train, data.y_train, degree, lam))

    def describe_problem(result: Any, x, y, degree, lam) -> str | None:
        expected = reference_ridge_by_augmentation(x, y, degree, lam)
        problem = compare(expected, result, rtol=1e-6, atol=1e-9)
        if problem is None:
            return None
        for words, wrong in _ridge_mistakes(x, y, degree, lam):
            if compare(wrong, result, rtol=1e-6, atol=1e-9) is None:
                return f"your coefficients {words}"
        return problem

    return check_properties(
        "ridge_by_augmentation",
        ridge_by_augmentation,
        cases,
        describe_problem,
        success=f"all {len(cases)} cases agree with ridge regression",
        hint="2N·J = ‖Φw - y‖² + Nλ(w₁² + … + w_D²): one extra row per penalized weight",
    )
