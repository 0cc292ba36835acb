"""Unit tests of :mod:`coursepkg.pca`, checked against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn import decomposition

from coursepkg.pca import pca


@pytest.fixture
def samples():
    g = torch.Generator().manual_seed(0)
    return torch.randn(150, 12, generator=g) @ torch.randn(12, 12, generator=g) + 3.0


def test_matches_sklearn_up_to_the_sign_of_each_axis(samples):
    ours = pca(samples, 3)
    ours = type(ours)(*(t.numpy() for t in ours))
    ref = decomposition.PCA(3).fit(samples.double().numpy())
    np.testing.assert_allclose(
        ours.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-10
    )
    np.testing.assert_allclose(ours.mean, ref.mean_, rtol=1e-12)
    for k in range(3):
        sign = np.sign(ours.components[k] @ ref.components_[k])
        np.testing.assert_allclose(ours.components[k], sign * ref.components_[k], atol=1e-10)
        scores = ref.transform(samples.double().numpy())[:, k]
        np.testing.assert_allclose(ours.scores[:, k], sign * scores, atol=1e-9)


def test_scores_are_the_centred_data_projected_on_orthonormal_axes(samples):
    result = pca(samples, 4)
    eye = result.components @ result.components.T
    torch.testing.assert_close(eye, torch.eye(4, dtype=torch.float64))
    torch.testing.assert_close(
        result.scores, (samples.double() - result.mean) @ result.components.T
    )
    assert bool((result.explained_variance_ratio[:-1] >= result.explained_variance_ratio[1:]).all())


def test_signs_do_not_depend_on_the_sign_of_the_input_axes(samples):
    a, b = pca(samples, 2), pca(-samples, 2)
    torch.testing.assert_close(a.components, b.components)
    torch.testing.assert_close(a.scores, -b.scores)


def test_data_on_a_line_has_one_axis_with_all_the_variance():
    t = torch.linspace(-1, 1, 20, dtype=torch.float64)[:, None]
    result = pca(t * torch.tensor([[3.0, 4.0]], dtype=torch.float64), 2)
    assert result.explained_variance_ratio[0] == pytest.approx(1.0)
    torch.testing.assert_close(result.components[0], torch.tensor([0.6, 0.8], dtype=torch.float64))
