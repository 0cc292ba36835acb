import numpy as np
import pytest
import torch

from coursepkg.data import make_polynomial_regression
from coursepkg.metrics import mean_squared_error
from coursepkg.polynomial import (
    fit_polynomial,
    fit_polynomial_ridge,
    polynomial_features,
    predict_polynomial,
)


@pytest.fixture
def data():
    return make_polynomial_regression(30, 50, noise=0.2, seed=0)


@pytest.mark.parametrize("degree", [0, 1, 3, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_polynomial_features_is_the_increasing_vandermonde_matrix(data, degree, dtype):
    x = data.x_train.to(dtype)
    result = polynomial_features(x, degree)
    assert result.dtype == dtype
    assert result.shape == (30, degree + 1)
    expected = np.vander(x.numpy(), degree + 1, increasing=True)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("degree", [0, 1, 2, 5, 8])
def test_fit_polynomial_matches_numpy_polyfit(data, degree):
    coef = fit_polynomial(data.x_train, data.y_train, degree)
    assert coef.shape == (degree + 1,) and coef.dtype == torch.float64
    expected = np.polyfit(data.x_train.numpy(), data.y_train.numpy(), degree)[::-1]
    np.testing.assert_allclose(coef.numpy(), expected, rtol=1e-7, atol=1e-9)
    column = fit_polynomial(data.x_train, data.y_train[:, None], degree)  # y as (N, 1)
    assert torch.equal(column, coef)


def test_degree_n_minus_one_interpolates_the_training_points():
    data = make_polynomial_regression(10, 1, seed=1)
    coef = fit_polynomial(data.x_train, data.y_train, 9)
    prediction = predict_polynomial(coef, data.x_train)
    assert mean_squared_error(prediction, data.y_train) < 1e-16
    line = predict_polynomial(fit_polynomial(data.x_train, data.y_train, 1), data.x_train)
    assert mean_squared_error(line, data.y_train) > 1e-3


@pytest.mark.parametrize("seed", range(5))
def test_training_error_never_rises_with_the_degree(seed):
    # Nested least-squares problems: degree d + 1 can always set its last weight to 0.
    # float64 over at most 15 points of size ~1: a rise beyond 1e-12 is not rounding.
    data = make_polynomial_regression(15, 1, noise=0.2, seed=seed)
    errors = [
        mean_squared_error(predict_polynomial(fit_polynomial(data.x_train, data.y_train, d),
                                              data.x_train), data.y_train)
        for d in range(15)
    ]  # fmt: skip
    assert np.all(np.diff(errors) <= 1e-12)


def test_underdetermined_fit_is_the_minimum_norm_interpolant():
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    y = torch.tensor([0.3, -1.0, 0.5, 2.0, -0.7], dtype=torch.float64)
    coef = fit_polynomial(x, y, 12)
    vander = np.vander(x.numpy(), 13, increasing=True)
    expected = np.linalg.lstsq(vander, y.numpy(), rcond=None)[0]
    np.testing.assert_allclose(coef.numpy(), expected, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(predict_polynomial(coef, x), y, rtol=0, atol=1e-10)


def test_rank_deficient_fit_averages_repeated_inputs():
    x = torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0], dtype=torch.float64)
    y = torch.tensor([1.0, 3.0, 0.0, 2.0, 5.0, 5.0], dtype=torch.float64)
    coef = fit_polynomial(x, y, 5)  # 6 coefficients but only 3 distinct inputs
    expected = np.linalg.lstsq(np.vander(x.numpy(), 6, increasing=True), y.numpy(), rcond=None)[0]
    np.testing.assert_allclose(coef.numpy(), expected, rtol=1e-8, atol=1e-10)
    fitted = predict_polynomial(coef, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(fitted, torch.tensor([2.0, 1.0, 5.0], dtype=torch.float64))


def test_predict_polynomial_known_answer_and_numpy_polyval(data):
    coef = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    x = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    assert predict_polynomial(coef, x).tolist() == [1.0, 6.0, 17.0]
    coef = fit_polynomial(data.x_train, data.y_train, 4)
    expected = np.polyval(coef.numpy()[::-1], data.x_test.numpy())
    np.testing.assert_allclose(predict_polynomial(coef, data.x_test).numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize(("degree", "lam"), [(1, 0.1), (5, 1e-3), (14, 5e-4), (8, 2.0)])
def test_ridge_matches_scikit_learn_ridge_at_alpha_n_lambda(degree, lam):
    # scikit-learn's Ridge minimizes ‖y − Xw − b‖² + alpha‖w‖² (no 1/(2N)), intercept b free:
    # our λ/2‖w‖² next to 1/(2N)‖·‖² is alpha = N·λ.
    from sklearn.linear_model import Ridge

    data = make_polynomial_regression(15, 1, noise=0.2, seed=3)
    coef = fit_polynomial_ridge(data.x_train, data.y_train, degree, lam)
    features = polynomial_features(data.x_train, degree)[:, 1:].numpy()
    sk = Ridge(alpha=15 * lam, solver="svd").fit(features, data.y_train.numpy())
    np.testing.assert_allclose(coef[1:].numpy(), sk.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(coef[0].item(), sk.intercept_, rtol=1e-7, atol=1e-10)


def test_ridge_zeroes_the_gradient_of_its_objective(data):
    # J(w₀, w) = 1/(2N)‖w₀ + Φw − y‖² + λ/2‖w‖², w₀ not penalized: autograd's gradient vanishes.
    coef = fit_polynomial_ridge(data.x_train, data.y_train, 6, 0.01).requires_grad_()
    residual = predict_polynomial(coef, data.x_train) - data.y_train
    objective = (residual**2).mean() / 2 + 0.01 / 2 * (coef[1:] ** 2).sum()
    (grad,) = torch.autograd.grad(objective, coef)
    assert grad.abs().max() < 1e-12


def test_ridge_leaves_the_intercept_free_and_tends_to_least_squares_and_the_mean(data):
    x, y = data.x_train, data.y_train
    shifted = fit_polynomial_ridge(x, y + 5.0, 4, 0.1) - fit_polynomial_ridge(x, y, 4, 0.1)
    torch.testing.assert_close(shifted, torch.tensor([5.0, 0, 0, 0, 0], dtype=torch.float64))
    torch.testing.assert_close(
        fit_polynomial_ridge(x, y, 3, 1e-12), fit_polynomial(x, y, 3), rtol=1e-8, atol=1e-8
    )
    flat = fit_polynomial_ridge(x, y, 3, 1e12)  # every power weight shrunk to 0: the mean
    torch.testing.assert_close(flat, torch.tensor([y.mean(), 0, 0, 0]), rtol=0, atol=1e-10)
    assert fit_polynomial_ridge(x, y, 0, 0.5).item() == pytest.approx(y.mean().item())


@pytest.mark.parametrize(
    ("lam", "error"),
    [(0.0, ValueError), (-1.0, ValueError), (float("nan"), ValueError), ("0.1", TypeError)],
)
def test_ridge_rejects_a_strength_that_is_not_positive(data, lam, error):
    with pytest.raises(error, match="lam"):
        fit_polynomial_ridge(data.x_train, data.y_train, 3, lam)
