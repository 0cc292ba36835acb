import functools

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from coursepkg.data import (
    DIGITS_SIZE,
    corrupt_labels,
    load_digits_split,
    make_loader,
    make_polynomial_regression,
    make_sparse_regression,
    true_function,
)


@pytest.mark.parametrize(
    "make",
    [
        make_polynomial_regression,
        make_sparse_regression,
        functools.partial(load_digits_split, n_train=300, n_val=100, n_test=100),
        functools.partial(corrupt_labels, torch.arange(100) % 10, 0.5),
    ],
    ids=["polynomial", "sparse", "digits", "corrupt_labels"],
)
def test_the_seed_fixes_the_data(make):
    def tensors(seed):
        out = make(seed=seed)
        return out if isinstance(out, tuple) else (out,)

    a, b, c = tensors(5), tensors(5), tensors(6)
    assert all(torch.equal(s, t) for s, t in zip(a, b, strict=True))
    assert not all(torch.equal(s, t) for s, t in zip(a, c, strict=True))


# --- make_polynomial_regression -----------------------------------------------------


def test_true_function_is_sin_pi_x():
    x = torch.tensor([0.0, 0.5, -0.5, 1 / 6], dtype=torch.float64)
    expected = torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(true_function(x), expected, rtol=0, atol=1e-12)


def test_regression_shapes_dtype_and_range():
    data = make_polynomial_regression(12, 30, seed=1)
    assert [t.shape for t in data] == [(12,), (12,), (30,), (30,)]
    assert all(t.dtype == torch.float64 for t in data)
    x = torch.cat([data.x_train, data.x_test])
    assert x.min() >= -1 and x.max() < 1


def test_regression_without_noise_is_the_true_function():
    data = make_polynomial_regression(10, 10, noise=0.0, seed=2)
    torch.testing.assert_close(data.y_train, true_function(data.x_train), rtol=0, atol=0)
    torch.testing.assert_close(data.y_test, true_function(data.x_test), rtol=0, atol=0)


def test_regression_noise_has_the_requested_spread():
    data = make_polynomial_regression(10, 20_000, noise=0.3, seed=3)
    residual = data.y_test - true_function(data.x_test)
    assert residual.std().item() == pytest.approx(0.3, rel=0.03)
    assert abs(residual.mean().item()) < 0.01


# --- make_sparse_regression -----------------------------------------------------------


@pytest.mark.parametrize(("n", "d", "k"), [(100, 20, 3), (7, 5, 5), (30, 4, 0), (1, 1, 1)])
def test_sparse_regression_shapes_dtype_and_support(n, d, k):
    data = make_sparse_regression(n, d, n_informative=k, seed=1)
    assert [t.shape for t in data] == [(n, d), (n,), (d,)]
    assert all(t.dtype == torch.float64 for t in data)
    w = data.w_true
    assert torch.equal(w != 0, torch.arange(d) < k)  # exactly the first k are non-zero
    assert ((w[:k].abs() >= 1) & (w[:k].abs() <= 3)).all()


def test_sparse_regression_coefficients_take_both_signs():
    w = make_sparse_regression(10, 200, n_informative=200, seed=0).w_true
    assert 60 < (w > 0).sum() < 140
    assert w.abs().min() >= 1 and w.abs().max() <= 3
    assert w.abs().min() < 1.1 and w.abs().max() > 2.9  # spread over [1, 3]


def test_sparse_regression_without_noise_is_exactly_linear():
    x, y, w_true = make_sparse_regression(50, 8, n_informative=4, noise=0.0, seed=2)
    assert torch.equal(y, x @ w_true)


def test_sparse_regression_noise_and_features_have_the_requested_spread():
    x, y, w_true = make_sparse_regression(20_000, 3, n_informative=2, noise=0.5, seed=3)
    residual = y - x @ w_true
    assert residual.std().item() == pytest.approx(0.5, rel=0.03)
    assert abs(residual.mean().item()) < 0.01
    torch.testing.assert_close(x.std(dim=0), torch.ones(3, dtype=torch.float64), rtol=0.03, atol=0)


# --- load_digits_split ----------------------------------------------------------------


def _affine_residual(a, b):
    """Largest residual of fitting each column of ``b`` as ``scale * a + shift``."""
    ca, cb = a.double() - a.double().mean(0), b.double() - b.double().mean(0)
    scale = (ca * cb).sum(0) / (ca * ca).sum(0).clamp_min(1e-12)
    return (cb - scale * ca).abs().max().item()


def test_digits_shapes_and_dtypes(digits):
    sizes = [300, 300, 100, 100, 100, 100]
    assert [len(t) for t in digits] == sizes
    assert [t.dtype for t in digits] == [torch.float32, torch.int64] * 3
    assert digits.x_train.shape[1] == digits.x_val.shape[1] == digits.x_test.shape[1] == 64
    for labels in (digits.y_train, digits.y_val, digits.y_test):
        assert labels.min() >= 0 and labels.max() <= 9


def test_digits_without_n_train_partition_the_whole_data_set():
    split = load_digits_split(n_val=300, n_test=200, seed=4)
    assert [len(split.x_train), len(split.x_val), len(split.x_test)] == [1297, 300, 200]
    assert DIGITS_SIZE == 1797
    raw_x, raw_y = load_digits(return_X_y=True)
    x = torch.cat([split.x_train, split.x_val, split.x_test])
    y = torch.cat([split.y_train, split.y_val, split.y_test])
    # Same class counts and as many distinct images as the raw data: no row repeated or lost.
    np.testing.assert_array_equal(torch.bincount(y).numpy(), np.bincount(raw_y))
    assert len(torch.unique(x, dim=0)) == len(np.unique(raw_x, axis=0))
    # Column by column the values are the raw pixels under one increasing affine map.
    sorted_std, _ = x.sort(dim=0)
    raw_sorted = torch.as_tensor(np.sort(raw_x, axis=0))
    assert _affine_residual(raw_sorted, sorted_std) < 1e-4


def test_digits_splits_do_not_overlap(digits):
    rows = {tuple(r) for r in digits.x_train.tolist()}
    val = {tuple(r) for r in digits.x_val.tolist()}
    test = {tuple(r) for r in digits.x_test.tolist()}
    # sklearn's digits hold no duplicate images, so a shared row means a shared image.
    assert not rows & val and not rows & test and not val & test


def test_growing_n_train_keeps_val_and_test_and_extends_train():
    small = load_digits_split(n_train=80, seed=3)
    big = load_digits_split(n_train=400, seed=3)
    assert torch.equal(small.y_val, big.y_val)
    assert torch.equal(small.y_test, big.y_test)
    assert torch.equal(small.y_train, big.y_train[:80])
    # The images are standardized with different statistics, so compare them up to
    # one per-pixel affine map shared by all rows.
    x_small = torch.cat([small.x_train, small.x_val, small.x_test])
    x_big = torch.cat([big.x_train[:80], big.x_val, big.x_test])
    assert _affine_residual(x_big, x_small) < 1e-4
    # The check has teeth: the same images in another order do not fit.
    assert _affine_residual(x_big.flip(0), x_small) > 0.1


def test_digits_are_standardized_with_training_statistics(digits):
    train_std = digits.x_train.std(dim=0, correction=0)
    torch.testing.assert_close(digits.x_train.mean(dim=0), torch.zeros(64), rtol=0, atol=1e-5)
    # Pixels with spread get unit variance; nearly constant ones are only centred.
    assert (train_std <= 1 + 1e-5).all()
    spread = train_std > 0.99
    assert spread.sum() > 40
    torch.testing.assert_close(train_std[spread], torch.ones(int(spread.sum())))
    # Validation is standardized with the training statistics, not its own.
    assert digits.x_val.mean(dim=0).abs().max() > 0.05
    assert torch.isfinite(torch.cat([digits.x_val, digits.x_test])).all()
    assert (digits.x_train[:, 0] == 0).all()  # pixel 0 is blank in every digit


def test_digits_without_standardization_are_pixels_over_16_in_the_same_split(digits):
    raw = load_digits_split(n_train=300, n_val=100, n_test=100, seed=0, standardize=False)
    for standardized, plain in zip(digits[1::2], raw[1::2], strict=True):
        assert torch.equal(standardized, plain)  # the same images, in the same order
    x = torch.cat(raw[0::2])
    assert x.dtype == torch.float32
    assert x.min() == 0 and x.max() == 1  # blank pixels stay 0, the darkest reach 1
    assert torch.equal(x * 16, (x * 16).round())  # k / 16 is exact in binary
    # Standardization is an affine map of each pixel: the same images, column by column.
    assert _affine_residual(raw.x_train, digits.x_train) < 1e-4


def test_pixels_without_spread_in_a_tiny_training_set_are_only_shifted():
    split = load_digits_split(n_train=5, seed=0)
    x = torch.cat([split.x_train, split.x_val, split.x_test])
    # The std floor of one intensity level keeps every value within the raw range 0..16.
    assert x.abs().max() <= 16
    constant = split.x_train.std(dim=0) == 0
    held_out = torch.cat([split.x_val, split.x_test])[:, constant]
    assert (held_out != 0).any()
    # A pixel constant in training is shifted by its training value, not scaled.
    torch.testing.assert_close(held_out, held_out.round(), rtol=0, atol=1e-5)


# --- corrupt_labels ---------------------------------------------------------------------


@pytest.fixture
def labels():
    return torch.arange(2000) % 10


def test_corrupt_nothing_returns_an_equal_copy(labels):
    out = corrupt_labels(labels, 0.0)
    assert torch.equal(out, labels)
    out[0] = 9
    assert labels[0] == 0


def test_corrupt_everything_makes_labels_independent_of_the_originals(labels):
    original = labels.clone()
    out = corrupt_labels(labels, 1.0, seed=1)
    assert torch.equal(labels, original)  # input not mutated
    assert out.dtype == labels.dtype
    assert (out != labels).float().mean().item() == pytest.approx(0.9, abs=0.03)
    counts = torch.bincount(out, minlength=10)
    assert len(counts) == 10 and counts.min() > 150 and counts.max() < 250


def test_corrupt_fraction_replaces_that_many_labels(labels):
    out = corrupt_labels(labels, 0.3, seed=2)
    changed = (out != labels).sum().item()
    assert changed <= 600
    assert changed == pytest.approx(0.3 * 0.9 * 2000, abs=60)


def test_corrupt_labels_respects_num_classes(labels):
    binary = corrupt_labels(labels % 2, 1.0, num_classes=2, seed=0)
    assert set(binary.tolist()) == {0, 1}


# --- make_loader ------------------------------------------------------------------------


def _epoch(loader):
    xs, ys = zip(*loader, strict=True)
    return torch.cat(xs), torch.cat(ys)


@pytest.fixture
def indexed():
    """Inputs whose only feature is the sample's index, targets the index itself."""
    return torch.arange(50.0)[:, None], torch.arange(50)


def test_loader_covers_every_sample_once_per_epoch(indexed):
    loader = make_loader(*indexed, batch_size=8, seed=0)
    for _ in range(2):
        x, y = _epoch(loader)
        assert torch.equal(y.sort().values, torch.arange(50))
        assert torch.equal(x[:, 0].long(), y)  # inputs stay paired with their targets


@pytest.mark.parametrize(("batch_size", "sizes"), [(8, [8] * 6 + [2]), (50, [50]), (64, [50])])
def test_loader_batch_sizes(indexed, batch_size, sizes):
    loader = make_loader(*indexed, batch_size=batch_size)
    assert [len(y) for _, y in loader] == sizes
    assert len(loader) == len(sizes)


def test_loader_without_shuffle_keeps_the_order(indexed):
    x, y = _epoch(make_loader(*indexed, batch_size=7, shuffle=False))
    assert torch.equal(y, torch.arange(50))
    assert torch.equal(x, indexed[0])


def test_loader_shuffle_is_seeded_and_reshuffles_every_epoch(indexed):
    a = make_loader(*indexed, batch_size=8, seed=3)
    b = make_loader(*indexed, batch_size=8, seed=3)
    c = make_loader(*indexed, batch_size=8, seed=4)
    first_a, first_b, first_c = _epoch(a)[1], _epoch(b)[1], _epoch(c)[1]
    assert torch.equal(first_a, first_b)
    assert not torch.equal(first_a, first_c)
    assert not torch.equal(first_a, torch.arange(50))
    second_a = _epoch(a)[1]
    assert not torch.equal(first_a, second_a)
    assert torch.equal(second_a, _epoch(b)[1])
