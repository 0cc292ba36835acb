import numpy as np
import pytest
import torch

from coursepkg.data import make_polynomial_regression
from coursepkg.metrics import mean_squared_error
from coursepkg.polynomial import (
    fit_polynomial,
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
