from functools import partial

import numpy as np
import pytest
import torch
from sklearn.linear_model import ElasticNet, Lasso

from coursepkg.lasso import (
    duality_gap,
    elastic_net_objective,
    fista,
    lipschitz_constant,
    proximal_gradient,
    subgradient_descent,
)


def _alpha_max(data):
    """``max|Xᵀy| / n`` computed with NumPy."""
    x, y = data.x.numpy(), data.y.numpy()
    return np.abs(x.T @ y).max() / len(y)


# --- solutions against scikit-learn and closed forms ------------------------------------

SKLEARN = {
    1.0: lambda alpha: Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000),
    0.5: lambda alpha: ElasticNet(
        alpha=alpha, l1_ratio=0.5, fit_intercept=False, tol=1e-12, max_iter=100_000
    ),
}


@pytest.mark.parametrize("alpha", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("l1_ratio", SKLEARN)
def test_proximal_gradient_matches_sklearn(sparse_data, l1_ratio, alpha):
    x, y, _ = sparse_data
    path = proximal_gradient(x, y, alpha=alpha, l1_ratio=l1_ratio, steps=1000)
    expected = SKLEARN[l1_ratio](alpha).fit(x.numpy(), y.numpy()).coef_
    np.testing.assert_allclose(path[-1].numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_proximal_gradient_without_l1_is_ridge_regression(sparse_data, alpha):
    x, y, _ = sparse_data
    xn, yn = x.numpy(), y.numpy()
    n, d = xn.shape
    expected = np.linalg.solve(xn.T @ xn / n + alpha * np.eye(d), xn.T @ yn / n)
    path = proximal_gradient(x, y, alpha=alpha, l1_ratio=0.0, steps=1000)
    np.testing.assert_allclose(path[-1].numpy(), expected, rtol=0, atol=1e-9)
    assert (path[-1] != 0).all()  # ridge shrinks but zeroes nothing


def test_a_solution_is_a_fixed_point_of_the_proximal_step(sparse_data):
    x, y, _ = sparse_data
    solution = torch.from_numpy(SKLEARN[1.0](0.2).fit(x.numpy(), y.numpy()).coef_)
    path = proximal_gradient(x, y, alpha=0.2, steps=5, w0=solution)
    torch.testing.assert_close(path, solution.expand(6, -1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("start", ["zeros", "random"])
def test_objective_never_increases_along_the_proximal_path(sparse_data, l1_ratio, start):
    x, y, _ = sparse_data
    g = torch.Generator().manual_seed(1)
    w0 = None if start == "zeros" else 3 * torch.randn(20, generator=g, dtype=torch.float64)
    path = proximal_gradient(x, y, alpha=0.2, l1_ratio=l1_ratio, steps=300, w0=w0)
    objective = np.array(
        [elastic_net_objective(x, y, w, alpha=0.2, l1_ratio=l1_ratio) for w in path]
    )
    assert (np.diff(objective) <= 1e-12).all()
    assert objective[-1] < 0.9 * objective[0]


# --- iterates ---------------------------------------------------------------------------

SOLVERS = {
    "proximal_gradient": partial(proximal_gradient, alpha=0.2),
    "subgradient_descent": partial(subgradient_descent, alpha=0.2, lr=0.05),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("steps", [1, 7])
def test_solvers_return_every_iterate_from_the_start(sparse_data, solver, steps):
    x, y, _ = sparse_data
    path = SOLVERS[solver](x, y, steps=steps)
    assert path.shape == (steps + 1, 20) and path.dtype == torch.float64
    assert torch.equal(path[0], torch.zeros(20, dtype=torch.float64))
    assert not torch.equal(path[1], path[0])

    w0 = torch.linspace(-1, 1, 20, dtype=torch.float64)
    original = w0.clone()
    path = SOLVERS[solver](x, y, steps=steps, w0=w0)
    assert path.shape == (steps + 1, 20)
    assert torch.equal(path[0], original)
    assert torch.equal(w0, original)  # the start is copied, not changed


@pytest.mark.parametrize("factor", [1.0, 1 + 1e-9, 1.5, 10.0])
def test_alpha_from_alpha_max_on_gives_the_zero_solution(sparse_data, factor):
    x, y, _ = sparse_data
    alpha = factor * _alpha_max(sparse_data)
    if factor == 1.0:  # exactly max|Xᵀy|/n, computed the way the package computes it
        alpha = float((x.T @ y).abs().max() / len(y))
    path = proximal_gradient(x, y, alpha=alpha, steps=200)
    assert (path == 0).all()


@pytest.mark.parametrize("factor", [1 - 1e-3, 0.9, 0.5])
def test_alpha_below_alpha_max_gives_non_zeros(sparse_data, factor):
    x, y, _ = sparse_data
    path = proximal_gradient(x, y, alpha=factor * _alpha_max(sparse_data), steps=200)
    assert (path[-1] != 0).any()


@pytest.mark.parametrize("shrink", [1, 10])
def test_only_proximal_gradient_finds_exact_zeros_off_the_true_support(sparse_data, shrink):
    x, y, w_true = sparse_data
    lr = 1 / lipschitz_constant(x) / shrink
    proximal = proximal_gradient(x, y, alpha=0.2, steps=1000)[-1]
    subgradient = subgradient_descent(x, y, alpha=0.2, lr=lr, steps=2000)[-1]
    assert torch.equal(proximal == 0, w_true == 0)
    assert (subgradient != 0).all()
    # The subgradient iterates only dither around the solution, by a few lr·α.
    assert (subgradient - proximal).abs().max() < 3 * lr * 0.2


# --- lipschitz_constant / elastic_net_objective -----------------------------------------


def test_lipschitz_constant_is_the_largest_eigenvalue(sparse_data):
    x = sparse_data.x
    expected = np.linalg.eigvalsh(x.numpy().T @ x.numpy() / len(x)).max()
    assert lipschitz_constant(x) == pytest.approx(expected, rel=1e-12)
    diagonal = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # XᵀX/n = diag(2, ½)
    assert lipschitz_constant(diagonal) == pytest.approx(2.0, rel=1e-15)


HAND_X = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], dtype=torch.float64)
HAND_Y = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)
HAND_W = torch.tensor([0.5, -1.0], dtype=torch.float64)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # Residual (2.5, 2.5, 3): data term 21.5 / 6; Σ|w| = 1.5, Σw² = 1.25.
        ({"alpha": 0.3, "l1_ratio": 0.4}, 21.5 / 6 + 0.3 * 0.4 * 1.5 + 0.3 * 0.6 / 2 * 1.25),
        ({"alpha": 0.3}, 21.5 / 6 + 0.3 * 1.5),
        ({"alpha": 0.3, "l1_ratio": 0.0}, 21.5 / 6 + 0.3 / 2 * 1.25),
        ({"alpha": 0.0, "l1_ratio": 0.7}, 21.5 / 6),
    ],
)
def test_elastic_net_objective_by_hand(kwargs, expected):
    value = elastic_net_objective(HAND_X, HAND_Y, HAND_W, **kwargs)
    assert type(value) is float
    assert value == pytest.approx(expected, rel=1e-14)


def test_proximal_gradient_with_an_all_zero_design_stays_at_zero():
    # J(w) = ‖y‖²/(2n) + α‖w‖₁ is minimized by w = 0.
    y = torch.randn(6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    path = proximal_gradient(torch.zeros(6, 3, dtype=torch.float64), y, alpha=0.1, steps=3)
    assert (path == 0).all()


# --- fista / duality_gap ----------------------------------------------------------------


def _copies_problem(seed, n=200):
    """Three near-copies of one signal and 7 noise features: XᵀX/n has a condition number ~1e4."""
    g = torch.Generator().manual_seed(seed)
    signal = torch.randn(n, 1, generator=g, dtype=torch.float64)
    copies = signal + 0.01 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    x = torch.cat([copies, torch.randn(n, 7, generator=g, dtype=torch.float64)], dim=1)
    return x, 3 * signal[:, 0] + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)


def _sklearn_exact(x, y, alpha, l1_ratio):
    model = SKLEARN[l1_ratio](alpha).set_params(tol=1e-14, max_iter=1_000_000)
    return model.fit(x.numpy(), y.numpy()).coef_


@pytest.mark.parametrize("alpha", [0.05, 0.5])
@pytest.mark.parametrize("l1_ratio", SKLEARN)
def test_fista_matches_sklearn(sparse_data, l1_ratio, alpha):
    x, y, _ = sparse_data
    solution = fista(x, y, alpha=alpha, l1_ratio=l1_ratio, tol=1e-13)
    assert solution.gap <= 1e-13 and solution.steps < 100_000
    expected = _sklearn_exact(x, y, alpha, l1_ratio)
    np.testing.assert_allclose(solution.w.numpy(), expected, rtol=0, atol=1e-6)
    assert torch.equal(solution.w == 0, torch.from_numpy(expected == 0))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("l1_ratio", SKLEARN)
def test_fista_solves_near_copies(seed, l1_ratio):
    x, y = _copies_problem(seed)
    expected = _sklearn_exact(x, y, 1.0, l1_ratio)
    solution = fista(x, y, alpha=1.0, l1_ratio=l1_ratio, tol=1e-13)
    assert solution.gap <= 1e-13
    # J(w) − J(w*) <= gap, and J is strongly convex on the support with modulus
    # μ = λ_min of XᵀX/n there (+ α(1 − ρ)): |w − w*| <= √(2·gap/μ).
    np.testing.assert_allclose(solution.w.numpy(), expected, rtol=0, atol=1e-3)
    assert torch.equal(solution.w == 0, torch.from_numpy(expected == 0))


def test_the_duality_gap_bounds_the_suboptimality(sparse_data):
    x, y, _ = sparse_data
    for l1_ratio in SKLEARN:
        best = torch.from_numpy(_sklearn_exact(x, y, 0.2, l1_ratio))
        j_best = elastic_net_objective(x, y, best, alpha=0.2, l1_ratio=l1_ratio)
        assert abs(duality_gap(x, y, best, alpha=0.2, l1_ratio=l1_ratio)) < 1e-12
        g = torch.Generator().manual_seed(2)
        for _ in range(20):
            w = best + 0.3 * torch.randn(20, generator=g, dtype=torch.float64)
            gap = duality_gap(x, y, w, alpha=0.2, l1_ratio=l1_ratio)
            j = elastic_net_objective(x, y, w, alpha=0.2, l1_ratio=l1_ratio)
            assert gap >= j - j_best - 1e-12 > 0


def test_fista_refuses_ridge_and_reports_an_unfinished_run(sparse_data):
    x, y, _ = sparse_data
    with pytest.raises(ValueError, match="l1_ratio"):
        fista(x, y, alpha=0.2, l1_ratio=0.0)
    solution = fista(x, y, alpha=0.05, tol=0.0, max_steps=3)
    assert solution.steps == 3
    assert solution.gap == duality_gap(x, y, solution.w, alpha=0.05)
