import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.dropout import Dropout, check_drop_probability, dropout
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


# --- the function: values and statistics -------------------------------------------------


@pytest.mark.parametrize("p", P_VALUES)
def test_every_output_is_zero_or_the_input_over_one_minus_p(p):
    x = _signed()
    out = dropout(x, p, generator=_generator(1))
    expected = torch.where(out == 0, torch.zeros_like(x), x / (1 - p))
    assert torch.equal(out, expected)


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


@pytest.mark.parametrize("p", [0, 0.0, np.float64(0.0)])
def test_p_zero_returns_the_input_unchanged(p):
    x = _signed((100,))
    original = x.clone()
    assert dropout(x, p) is x
    assert torch.equal(x, original)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9, 0.999])
def test_evaluation_mode_is_the_identity(p):
    x = _signed((1000,))
    original = x.clone()
    out = dropout(x, p, training=False, generator=_generator(0))
    assert out is x
    assert torch.equal(x, original)


def test_the_input_is_not_changed_in_place():
    x = _signed((1000,))
    original = x.clone()
    out = dropout(x, 0.5, generator=_generator(0))
    assert torch.equal(x, original)
    assert out.data_ptr() != x.data_ptr()


# --- randomness -----------------------------------------------------------------------------


def test_a_seeded_generator_gives_reproducible_masks():
    x = _positive((1000,))
    first = dropout(x, 0.5, generator=_generator(7))
    again = dropout(x, 0.5, generator=_generator(7))
    other = dropout(x, 0.5, generator=_generator(8))
    assert torch.equal(first, again)
    assert not torch.equal(first == 0, other == 0)


def test_a_generator_advances_between_calls():
    g, x = _generator(7), _positive((1000,))
    assert not torch.equal(dropout(x, 0.5, generator=g) == 0, dropout(x, 0.5, generator=g) == 0)


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
    again = dropout(x, 0.5)
    other = dropout(x, 0.5)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_dropping_is_element_wise_not_per_sample():
    out = dropout(_positive((400, 5, 10, 10)), 0.3, generator=_generator(0))
    dropped = (out == 0).flatten(1)
    assert dropped.any(dim=1).all()  # every sample lost some units...
    assert (~dropped).any(dim=1).all()  # ...and kept others


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


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_gradient_agrees_with_finite_differences(p):
    x = _signed((20,)).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: dropout(t, p, generator=_generator(0)), (x,))


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


# --- shapes, dtypes, autograd --------------------------------------------------------------


@pytest.mark.parametrize("shape", [(N,), (N // 50, 50), (N // 500, 5, 10, 10)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_any_shape_and_floating_dtype(shape, dtype):
    p = 0.3
    x = _signed(shape, dtype=dtype)
    out = dropout(x, p, generator=_generator(0))
    assert out.shape == x.shape
    assert out.dtype == dtype
    assert torch.equal(out, torch.where(out == 0, torch.zeros_like(x), x / (1 - p)))
    assert abs(_zero_fraction(out) - p) <= _binomial_tolerance(p)


def test_a_non_contiguous_input():
    x = _signed((50, 40)).t()
    out = dropout(x, 0.5, generator=_generator(0))
    assert out.shape == (40, 50)
    assert torch.equal(out, torch.where(out == 0, torch.zeros_like(x), 2 * x))


def test_an_input_that_requires_grad_gives_an_output_in_the_graph():
    x = _signed((1000,)).requires_grad_()
    out = dropout(x, 0.5, generator=_generator(0))
    assert out.requires_grad
    assert out.grad_fn is not None
    assert x.grad is None  # nothing ran backward yet
    assert dropout(x, 0.5, training=False) is x


# --- the module -----------------------------------------------------------------------------


def test_module_drops_in_training_mode():
    torch.manual_seed(0)
    layer, x = Dropout(0.5), _positive((10_000,))
    assert layer.training
    first, second = layer(x), layer(x)
    assert not torch.equal(first, second)
    for out in (first, second):
        assert torch.equal(out, torch.where(out == 0, torch.zeros_like(x), 2 * x))
        assert abs(_zero_fraction(out) - 0.5) <= _binomial_tolerance(0.5, 10_000)


def test_module_is_the_identity_in_evaluation_mode():
    layer, x = Dropout(0.5).eval(), _positive((1000,))
    assert layer(x) is x
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert (layer(x) == 0).any()  # back to dropping


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5, 0.9])
def test_module_shows_p_and_has_no_parameters(p):
    layer = Dropout(p)
    assert layer.p == p
    assert layer.extra_repr() == f"p={p}"
    assert repr(layer) == f"Dropout(p={p})"
    assert list(layer.parameters()) == []


def test_module_default_p_is_one_half():
    assert Dropout().p == 0.5


def test_mlp_puts_a_dropout_layer_after_every_hidden_activation():
    model = mlp([8, 16, 16, 2], dropout=0.5)
    linear, relu = nn.Linear, nn.ReLU
    assert [type(m) for m in model] == [linear, relu, Dropout, linear, relu, Dropout, linear]
    assert model[2].p == model[5].p == 0.5
    assert model[2] is not model[5]


@pytest.mark.parametrize("kwargs", [{}, {"dropout": 0}, {"dropout": 0.0}])
def test_mlp_without_dropout_has_no_dropout_layer(kwargs):
    model = mlp([8, 16, 16, 2], **kwargs)
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_mlp_without_hidden_layer_has_no_dropout_layer(rate):
    model = mlp([4, 2], dropout=rate)
    assert [type(m) for m in model] == [nn.Linear]


def test_mlp_with_dropout_in_evaluation_mode_is_the_plain_network():
    torch.manual_seed(0)
    model, x = mlp([8, 16, 16, 2], dropout=0.5), torch.randn(64, 8)
    plain = nn.Sequential(*(m for m in model if not isinstance(m, Dropout)))
    assert not torch.equal(model(x), model(x))  # training mode: two different masks
    model.eval()
    assert torch.equal(model(x), plain(x))
    assert torch.equal(model(x), model(x))


# --- bad input ------------------------------------------------------------------------------

BAD_P = [
    (1, ValueError, r"^p must be in \[0, 1\), got 1: .*would divide by zero"),
    (1.0, ValueError, r"^p must be in \[0, 1\), got 1: .*would divide by zero"),
    (np.float64(1.0), ValueError, r"^p must be in \[0, 1\), got 1: .*would divide by zero"),
    (-0.1, ValueError, r"^p must be in \[0, 1.*got -0.1"),
    (1.5, ValueError, r"^p must be in \[0, 1.*got 1.5"),
    (math.nan, ValueError, r"^p must be in \[0, 1.*got nan"),
    (math.inf, ValueError, r"^p must be in \[0, 1.*got inf"),
    ("0.5", TypeError, "^p must be a number, got str"),
    (True, TypeError, "^p must be a number, got bool"),
    (None, TypeError, "^p must be a number, got NoneType"),
]


@pytest.mark.parametrize(("p", "error", "match"), BAD_P)
@pytest.mark.parametrize("training", [True, False])
def test_dropout_rejects_a_bad_p(p, error, match, training):
    with pytest.raises(error, match=match):
        dropout(torch.ones(4), p, training=training)


@pytest.mark.parametrize(("p", "error", "match"), BAD_P)
def test_module_rejects_a_bad_p(p, error, match):
    with pytest.raises(error, match=match):
        Dropout(p)


@pytest.mark.parametrize(
    "x",
    [
        torch.arange(6),
        torch.ones(3, dtype=torch.int32),
        torch.tensor([True, False]),
        [1.0, 2.0],
        np.ones(3),
        1.0,
    ],
    ids=["int64", "int32", "bool", "list", "ndarray", "float"],
)
@pytest.mark.parametrize("training", [True, False])
def test_dropout_rejects_an_x_that_is_not_a_float_tensor(x, training):
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        dropout(x, 0.5, training=training)


@pytest.mark.parametrize(
    ("rate", "error", "match"),
    [
        (1.0, ValueError, r"^dropout must be in \[0, 1\), got 1: .*would divide by zero"),
        (-0.1, ValueError, r"^dropout must be in \[0, 1.*got -0.1"),
        (1.5, ValueError, r"^dropout must be in \[0, 1.*got 1.5"),
        (math.nan, ValueError, r"^dropout must be in \[0, 1"),
        ("0.5", TypeError, "^dropout must be a number"),
        (True, TypeError, "^dropout must be a number"),
    ],
)
@pytest.mark.parametrize("sizes", [[8, 16, 16, 2], [4, 2]])
def test_mlp_rejects_a_bad_dropout(rate, error, match, sizes):
    with pytest.raises(error, match=match):
        mlp(sizes, dropout=rate)


# --- check_drop_probability -----------------------------------------------------------------


@pytest.mark.parametrize(
    "p", [0, 0.0, 0.25, 0.5, 0.999999, np.float32(0.5), np.float64(0.1), np.int64(0)]
)
def test_check_drop_probability_accepts_zero_up_to_one_excluded(p):
    checked = check_drop_probability(p, "rate")
    assert type(checked) is float
    assert checked == float(p)


@pytest.mark.parametrize(
    ("p", "error", "match"),
    [
        (1, ValueError, r"^rate must be in \[0, 1\), got 1: .*divide by zero"),
        (-1e-9, ValueError, r"^rate must be in \[0, 1"),
        (2, ValueError, r"^rate must be in \[0, 1"),
        (math.nan, ValueError, r"^rate must be in \[0, 1"),
        ("half", TypeError, "^rate must be a number, got str"),
        (False, TypeError, "^rate must be a number, got bool"),
        (torch.tensor(0.5), TypeError, "^rate must be a number, got Tensor"),
    ],
)
def test_check_drop_probability_names_the_argument(p, error, match):
    with pytest.raises(error, match=match):
        check_drop_probability(p, "rate")


def test_check_drop_probability_default_name_is_p():
    with pytest.raises(ValueError, match=r"^p must be in \[0, 1\)"):
        check_drop_probability(1.0)
