import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.dropout import Dropout, dropout
from coursepkg.models import mlp

N = 200_000  # entries of the large tensors the statistical tests use
SIGMAS = 5  # statistical tolerances are this many standard errors
P_VALUES = [0.0, 0.1, 0.5, 0.9]


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _positive(shape=(N,), dtype=torch.float64, seed=0):
    """Values in [0.5, 1.5): none is zero, so a zero output means a dropped unit."""
    return torch.rand(shape, generator=_generator(seed), dtype=dtype) + 0.5


def _signed(shape=(N,), dtype=torch.float64, seed=0):
    """Values in ±[0.5, 1.5), with random signs."""
    g = _generator(seed)
    sign = 2 * torch.randint(0, 2, shape, generator=g, dtype=dtype) - 1
    return sign * (torch.rand(shape, generator=g, dtype=dtype) + 0.5)


def _zero_fraction(out):
    return (out == 0).double().mean().item()


def _binomial_tolerance(p, n=N):
    return SIGMAS * math.sqrt(p * (1 - p) / n)


def _zero_or_scaled(out, x, p):
    """Whether every output is 0 or the input scaled by 1/(1 − p)."""
    return torch.equal(out, torch.where(out == 0, torch.zeros_like(x), x / (1 - p)))


# --- the function: values and statistics -------------------------------------------------


@pytest.mark.parametrize("p", P_VALUES)
def test_every_output_is_zero_or_the_input_over_one_minus_p(p):
    x = _signed()
    original = x.clone()
    out = dropout(x, p, generator=_generator(1))
    assert _zero_or_scaled(out, x, p)
    assert torch.equal(x, original)  # not changed in place


@pytest.mark.parametrize("p", P_VALUES)
def test_fraction_of_zeros_is_p(p):
    out = dropout(_positive(), p, generator=_generator(2))
    assert abs(_zero_fraction(out) - p) <= _binomial_tolerance(p)


@pytest.mark.parametrize("p", P_VALUES)
def test_mean_is_preserved(p):
    x = _positive(seed=3)
    out = dropout(x, p, generator=_generator(4))
    # Each output has mean x_i and variance x_i²·p/(1 − p), independently.
    standard_error = math.sqrt((x**2).sum().item() * p / (1 - p)) / N
    assert abs(out.mean().item() - x.mean().item()) <= SIGMAS * standard_error


@pytest.mark.parametrize(("p", "training"), [(0, True), (0.0, True), (0.5, False)])
def test_p_zero_and_evaluation_mode_return_the_input_itself(p, training):
    x = _signed((100,))
    assert dropout(x, p, training=training) is x


def test_dropping_is_element_wise_not_per_sample():
    out = dropout(_positive((400, 5, 10, 10)), 0.3, generator=_generator(0))
    dropped = (out == 0).flatten(1)
    assert dropped.any(dim=1).all()  # every sample lost some units...
    assert (~dropped).any(dim=1).all()  # ...and kept others


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_and_dtype_are_kept(dtype):
    x = _signed((N // 500, 5, 10, 10), dtype=dtype)
    out = dropout(x, 0.3, generator=_generator(0))
    assert out.shape == x.shape and out.dtype == dtype
    assert _zero_or_scaled(out, x, 0.3)


# --- randomness -----------------------------------------------------------------------------


def test_a_generator_gives_reproducible_masks_and_advances():
    x = _positive((1000,))
    g = _generator(7)
    first, second = dropout(x, 0.5, generator=g), dropout(x, 0.5, generator=g)
    assert torch.equal(first, dropout(x, 0.5, generator=_generator(7)))
    assert not torch.equal(first == 0, second == 0)


def test_a_given_generator_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    dropout(_positive((1000,)), 0.5, generator=_generator(1))
    assert torch.equal(torch.get_rng_state(), state)


def test_without_a_generator_the_global_seed_decides():
    x = _positive((1000,))
    torch.manual_seed(3)
    first = dropout(x, 0.5)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.5), first)
    assert not torch.equal(dropout(x, 0.5), first)


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("p", P_VALUES)
def test_gradient_is_the_scale_where_kept_and_zero_where_dropped(p):
    x = _signed((10_000,)).requires_grad_()
    out = dropout(x, p, generator=_generator(5))
    out.sum().backward()
    kept = out.detach() != 0
    expected = torch.where(kept, torch.full_like(x, 1 / (1 - p)), torch.zeros_like(x))
    assert torch.equal(x.grad, expected)
    assert kept.all() if p == 0 else 0 < kept.sum() < x.numel()


# --- agreement with torch.nn.Dropout -------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_same_distribution_as_torch_dropout(p):
    x = _signed()
    ours = dropout(x, p, generator=_generator(6))
    torch.manual_seed(6)
    functional = F.dropout(x, p, training=True)
    module = nn.Dropout(p).train()(x)
    for out in (ours, functional, module):
        kept = out != 0
        assert 0 < kept.sum() < N
        assert torch.allclose(out[kept], x[kept] / (1 - p), rtol=1e-12, atol=0)
    # Two independent binomial fractions: the standard error of the difference is √2 times.
    tolerance = math.sqrt(2) * _binomial_tolerance(p)
    assert abs(_zero_fraction(ours) - _zero_fraction(functional)) <= tolerance
    assert abs(_zero_fraction(ours) - _zero_fraction(module)) <= tolerance


# --- the module -----------------------------------------------------------------------------


def test_module_drops_in_training_mode_and_is_the_identity_in_evaluation_mode():
    torch.manual_seed(0)
    layer, x = Dropout(0.5), _positive((10_000,))
    assert layer.training
    first, second = layer(x), layer(x)
    assert not torch.equal(first, second)
    for out in (first, second):
        assert _zero_or_scaled(out, x, 0.5)
        assert abs(_zero_fraction(out) - 0.5) <= _binomial_tolerance(0.5, 10_000)
    assert layer.eval()(x) is x


@pytest.mark.parametrize(("args", "p"), [((), 0.5), ((0.0,), 0.0), ((0.25,), 0.25)])
def test_module_shows_p_and_has_no_parameters(args, p):
    layer = Dropout(*args)
    assert layer.p == p
    assert repr(layer) == f"Dropout(p={p})"
    assert list(layer.parameters()) == []


def test_mlp_with_dropout_is_the_plain_network_in_evaluation_mode():
    torch.manual_seed(0)
    model, x = mlp([8, 16, 16, 2], dropout=0.5), torch.randn(64, 8)
    linear, relu = nn.Linear, nn.ReLU
    assert [type(m) for m in model] == [linear, relu, Dropout, linear, relu, Dropout, linear]
    assert model[2].p == model[5].p == 0.5
    plain = nn.Sequential(*(m for m in model if not isinstance(m, Dropout)))
    assert not torch.equal(model(x), model(x))  # training mode: two different masks
    model.eval()
    assert torch.equal(model(x), plain(x))
