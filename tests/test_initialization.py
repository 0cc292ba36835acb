import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.data import load_digits_split, make_loader
from coursepkg.initialization import (
    LayerStats,
    calculate_gain,
    fan_in_and_fan_out,
    kaiming_normal_,
    kaiming_uniform_,
    layer_statistics,
    lsuv_,
    orthogonal_,
    xavier_normal_,
    xavier_uniform_,
)
from coursepkg.models import mlp
from coursepkg.reproducibility import seed_everything
from coursepkg.training import fit

# A linear and a convolution weight (131,072 and 73,728 entries): large enough for 2 %
# tolerances on the std (at least 7 standard errors), small enough to keep the tests fast.
LARGE_SHAPES = [(256, 512), (128, 64, 3, 3)]
SIGMAS = 5  # the mean's tolerance is this many standard errors
STD_RTOL = 0.02
NONLINEARITIES = ["relu", "tanh", "linear"]
MODES = ["fan_in", "fan_out"]
GAINS = [1.0, 2.0]
EXPECTED_GAINS = {"relu": math.sqrt(2.0), "tanh": 5.0 / 3.0, "linear": 1.0, "sigmoid": 1.0}


def _fans(shape):
    return fan_in_and_fan_out(torch.empty(shape))


def _xavier_std(shape, gain):
    fan_in, fan_out = _fans(shape)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def _kaiming_std(shape, nonlinearity, mode):
    fan_in, fan_out = _fans(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return EXPECTED_GAINS[nonlinearity] / math.sqrt(fan)


def _torch_kaiming(init, tensor, nonlinearity, mode):
    if nonlinearity == "relu":
        return init(tensor, a=0, mode=mode, nonlinearity="relu")
    return init(tensor, mode=mode, nonlinearity=nonlinearity)


def _std(tensor):
    return tensor.double().std().item()


def _mean(tensor):
    return tensor.double().mean().item()


# Every scheme as (id, ours, torch's counterpart, expected std, uniform?), over the grid.
SCHEMES = [
    pytest.param(
        lambda t, g=gain: xavier_uniform_(t, gain=g),
        lambda t, g=gain: nn.init.xavier_uniform_(t, gain=g),
        lambda shape, g=gain: _xavier_std(shape, g),
        True,
        id=f"xavier_uniform-gain{gain:g}",
    )
    for gain in GAINS
] + [
    pytest.param(
        lambda t, g=gain: xavier_normal_(t, gain=g),
        lambda t, g=gain: nn.init.xavier_normal_(t, gain=g),
        lambda shape, g=gain: _xavier_std(shape, g),
        False,
        id=f"xavier_normal-gain{gain:g}",
    )
    for gain in GAINS
]
for _ours, _theirs, _uniform in [
    (kaiming_uniform_, nn.init.kaiming_uniform_, True),
    (kaiming_normal_, nn.init.kaiming_normal_, False),
]:
    SCHEMES += [
        pytest.param(
            lambda t, f=_ours, n=nonlinearity, m=mode: f(t, nonlinearity=n, mode=m),
            lambda t, f=_theirs, n=nonlinearity, m=mode: _torch_kaiming(f, t, n, m),
            lambda shape, n=nonlinearity, m=mode: _kaiming_std(shape, n, m),
            _uniform,
            id=f"{_ours.__name__}-{nonlinearity}-{mode}",
        )
        for nonlinearity in NONLINEARITIES
        for mode in MODES
    ]

# The four functions with their default arguments, for the tests that do not need the grid.
FUNCTIONS = [xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_]


# --- fan_in_and_fan_out ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "kernel_size"),
    [
        (nn.Linear, None),
        (nn.Conv1d, 1),
        (nn.Conv1d, 5),
        (nn.Conv2d, 3),
        (nn.Conv2d, (3, 5)),
        (nn.Conv3d, (1, 2, 3)),
    ],
)
@pytest.mark.parametrize(("n_in", "n_out"), [(1, 4), (3, 16), (32, 8)])
def test_fans_equal_torch(layer, kernel_size, n_in, n_out):
    args = (n_in, n_out) if kernel_size is None else (n_in, n_out, kernel_size)
    weight = layer(*args).weight
    fans = fan_in_and_fan_out(weight)
    receptive_field = math.prod(weight.shape[2:])  # 1 for a linear weight
    assert fans == (n_in * receptive_field, n_out * receptive_field)
    assert fans == nn.init._calculate_fan_in_and_fan_out(weight)
    assert all(type(fan) is int for fan in fans)


# --- calculate_gain -------------------------------------------------------------------------


@pytest.mark.parametrize(("nonlinearity", "expected"), EXPECTED_GAINS.items())
def test_calculate_gain_equals_torch(nonlinearity, expected):
    assert calculate_gain(nonlinearity) == pytest.approx(expected, rel=1e-15)
    assert calculate_gain(nonlinearity) == pytest.approx(
        nn.init.calculate_gain(nonlinearity), rel=1e-15
    )


# --- the schemes: statistics ----------------------------------------------------------------


@pytest.mark.parametrize("shape", LARGE_SHAPES, ids=["linear", "conv"])
@pytest.mark.parametrize(("ours", "theirs", "expected_std", "uniform"), SCHEMES)
def test_scheme_statistics_follow_the_formula_and_torch(ours, theirs, expected_std, uniform, shape):
    torch.manual_seed(0)
    w = ours(torch.empty(shape))
    std, n = expected_std(shape), w.numel()
    assert _std(w) == pytest.approx(std, rel=STD_RTOL)
    assert abs(_mean(w)) <= SIGMAS * std / math.sqrt(n)
    if uniform:
        bound = math.sqrt(3.0) * std
        largest = w.abs().max().item()
        assert largest <= bound * (1 + 1e-6)  # float32 rounding of the bound
        assert largest > 0.99 * bound
    else:
        # A normal sample this large reaches beyond √3·σ (where a uniform would stop).
        assert w.abs().max().item() > 3 * std
    torch.manual_seed(1)
    reference = theirs(torch.empty(shape))
    assert _std(w) == pytest.approx(_std(reference), rel=STD_RTOL)


# --- the schemes: in place, autograd, seeding -----------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scheme_fills_in_place_and_returns_the_tensor(function, dtype):
    torch.manual_seed(0)
    tensor = torch.zeros(64, 32, dtype=dtype)
    pointer = tensor.data_ptr()
    out = function(tensor)
    assert out is tensor
    assert out.data_ptr() == pointer
    assert out.dtype == dtype
    assert (tensor != 0).all()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_scheme_records_no_history_on_a_parameter(function):
    torch.manual_seed(0)
    parameter = nn.Parameter(torch.zeros(64, 32))
    out = function(parameter)
    assert out is parameter
    assert isinstance(out, nn.Parameter)
    assert out.requires_grad
    assert out.is_leaf
    assert out.grad_fn is None
    assert out.grad is None
    assert (out != 0).all()
    out.sum().backward()  # still an ordinary leaf: the gradient of a sum is ones
    assert torch.equal(parameter.grad, torch.ones(64, 32))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_seeded_global_generator_gives_reproducible_values(function):
    torch.manual_seed(3)
    first = function(torch.empty(64, 32))
    torch.manual_seed(3)
    again = function(torch.empty(64, 32))
    other = function(torch.empty(64, 32))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


# --- orthogonal_ and lsuv_ ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 32, 3), (32, 96), (96, 32), (10, 10)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_equals_torch_from_the_same_random_state(shape, gain):
    torch.manual_seed(7)
    ours = orthogonal_(torch.empty(shape), gain=gain)
    torch.manual_seed(7)
    theirs = nn.init.orthogonal_(torch.empty(shape), gain=gain)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(64, 32, 3), (32, 96), (96, 32)])
def test_orthogonal_has_every_singular_value_equal_to_the_gain(shape):
    w = orthogonal_(torch.empty(shape, dtype=torch.float64), gain=1.5).reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w  # (small, small)
    torch.testing.assert_close(gram, 1.5**2 * torch.eye(small, dtype=torch.float64))
    torch.testing.assert_close(
        torch.linalg.svdvals(w), torch.full((small,), 1.5, dtype=torch.float64)
    )


def test_orthogonal_rejects_a_bias():
    with pytest.raises(ValueError, match="a bias has none"):
        orthogonal_(torch.empty(5))


def test_lsuv_gives_every_layer_unit_output_variance_on_the_batch():
    torch.manual_seed(0)
    model = mlp([16, 64, 32, 32, 4], activation=nn.Tanh).double()
    x = torch.randn(128, 16, dtype=torch.float64) * 3.0
    variances = lsuv_(model, x)
    assert len(variances) == 4
    h = x
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear):
            assert h.std().item() == pytest.approx(1.0, abs=1e-10)
            assert torch.count_nonzero(module.bias) == 0
            w = module.weight.detach()  # rows or columns orthogonal, all of one norm
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            torch.testing.assert_close(gram, gram[0, 0] * torch.eye(len(gram), dtype=w.dtype))


def test_lsuv_returns_the_variances_of_the_orthogonal_start():
    torch.manual_seed(1)
    model = mlp([8, 16, 16, 3])
    x = torch.randn(64, 8)
    torch.manual_seed(2)
    variances = lsuv_(model, x)
    torch.manual_seed(2)
    w1 = orthogonal_(torch.empty(16, 8))  # the first layer's draw, before rescaling
    assert variances[0] == pytest.approx((x @ w1.T).std().item() ** 2, rel=1e-5)


def test_lsuv_on_convolutions():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    x = torch.randn(16, 3, 10, 10)
    lsuv_(model, x)
    assert model[0](x).std().item() == pytest.approx(1.0, abs=1e-4)
    assert model(x).std().item() == pytest.approx(1.0, abs=1e-4)
    assert all(not m._forward_hooks for m in model.modules())


def test_lsuv_rejects_a_model_without_layers():
    with pytest.raises(ValueError, match="no layer"):
        lsuv_(nn.Sequential(nn.ReLU()), torch.randn(4, 3))


# --- layer_statistics -----------------------------------------------------------------------


def _mlp_batch(seed=0):
    torch.manual_seed(seed)
    model = mlp([16, 32, 32, 4])
    x = torch.randn(64, 16)
    y = torch.randint(0, 4, (64,))
    return model, x, y


def _by_hand(model, x, y, layer_type):
    """Run ``model`` module by module: each watched layer's output and weight gradient."""
    outputs, h = [], x
    for module in model:
        h = module(h)
        if isinstance(module, layer_type):
            outputs.append(h)
    weights = [m.weight for m in model if isinstance(m, layer_type)]
    grads = torch.autograd.grad(F.cross_entropy(h, y), weights)
    return [out.detach() for out in outputs], grads


def test_layer_statistics_on_an_mlp_equals_a_manual_pass():
    model, x, y = _mlp_batch()
    stats = layer_statistics(model, x, y)
    outputs, grads = _by_hand(model, x, y, nn.Linear)
    assert isinstance(stats, LayerStats)
    assert stats.names == ["0", "2", "4"]
    for values in (
        stats.activation_mean,
        stats.activation_std,
        stats.gradient_norm,
        stats.activations,
    ):
        assert len(values) == 3
    assert [tuple(a.shape) for a in stats.activations] == [(64, 32), (64, 32), (64, 4)]
    for i, (out, grad) in enumerate(zip(outputs, grads, strict=True)):
        torch.testing.assert_close(stats.activations[i], out)
        assert not stats.activations[i].requires_grad
        assert stats.activation_mean[i] == pytest.approx(out.mean().item(), rel=1e-5, abs=1e-7)
        assert stats.activation_std[i] == pytest.approx(out.std().item(), rel=1e-5)
        assert stats.gradient_norm[i] == pytest.approx(grad.norm().item(), rel=1e-5)
        assert stats.gradient_norm[i] > 0
    # The hooks see the layer's output before the ReLU that follows: some are negative.
    assert (stats.activations[0] < 0).any()


def test_layer_statistics_spread_and_output_gradient_equal_a_manual_pass():
    model, x, y = _mlp_batch()
    stats = layer_statistics(model, x, y)
    outputs, h = [], x
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear):
            outputs.append(h)
    output_grads = torch.autograd.grad(F.cross_entropy(h, y), outputs)
    for i, (out, grad) in enumerate(zip(outputs, output_grads, strict=True)):
        spread = out.detach().std(dim=0).mean().item()  # per unit across the batch
        assert stats.activation_spread[i] == pytest.approx(spread, rel=1e-5)
        assert stats.output_gradient_rms[i] == pytest.approx(
            grad.pow(2).mean().sqrt().item(), rel=1e-5
        )


def test_layer_statistics_spread_is_zero_when_the_output_ignores_the_input():
    torch.manual_seed(0)
    model = mlp([16, 32, 4])
    nn.init.zeros_(model[0].weight)  # the first layer returns its bias for every input
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    stats = layer_statistics(model, x, y)
    assert stats.activation_spread == [0.0, 0.0]
    assert stats.activation_std[0] > 0.1  # the pooled std sees the biases


def test_layer_statistics_keeps_an_underflowing_gradient_in_float64():
    torch.manual_seed(0)
    model = mlp([16, 32, 4])
    with torch.no_grad():
        model[2].weight.mul_(1e-25)  # gradients ~1e-26 at the first layer: squared, below float32
    x, y = torch.randn(64, 16), torch.randint(0, 4, (64,))
    stats = layer_statistics(model, x, y)
    assert 0 < stats.output_gradient_rms[0] < 1e-20


def test_layer_statistics_leaves_no_gradient_and_no_hook():
    model, x, y = _mlp_batch()
    model(x).sum().backward()  # stale gradients, which must not leak into the statistics
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    stats = layer_statistics(model, x, y)
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    model(x)
    assert len(stats.activations) == 3
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name])  # no optimizer step
    _, grads = _by_hand(model, x, y, nn.Linear)
    assert stats.gradient_norm == pytest.approx([g.norm().item() for g in grads], rel=1e-5)


def test_layer_statistics_names_nested_layers_by_their_path():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("body", mlp([16, 32, 8]))
    model.add_module("act", nn.ReLU())
    model.add_module("head", nn.Linear(8, 4))
    x, y = torch.randn(32, 16), torch.randint(0, 4, (32,))
    stats = layer_statistics(model, x, y)
    assert stats.names == ["body.0", "body.2", "head"]
    assert [tuple(a.shape) for a in stats.activations] == [(32, 32), (32, 8), (32, 4)]


def test_layer_statistics_on_a_cnn_with_conv2d():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 8, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 3),
    )
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    stats = layer_statistics(model, x, y, layer_type=nn.Conv2d)
    outputs, grads = _by_hand(model, x, y, nn.Conv2d)
    assert stats.names == ["0", "2"]
    assert [tuple(a.shape) for a in stats.activations] == [(8, 4, 8, 8), (8, 8, 6, 6)]
    assert stats.activation_std == pytest.approx([o.std().item() for o in outputs], rel=1e-5)
    assert stats.gradient_norm == pytest.approx([g.norm().item() for g in grads], rel=1e-5)
    assert all(p.grad is None for p in model.parameters())


class _HeadFirst(nn.Module):
    """Registers its layers in the opposite order of the forward pass."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(32, 4)
        self.body = nn.Linear(16, 32)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def test_layer_statistics_pairs_each_activation_with_its_own_layer():
    torch.manual_seed(0)
    model, x, y = _HeadFirst(), torch.randn(64, 16), torch.randint(0, 4, (64,))
    stats = layer_statistics(model, x, y)
    by_name = dict(zip(stats.names, stats.activations, strict=True))
    assert tuple(by_name["body"].shape) == (64, 32)
    assert tuple(by_name["head"].shape) == (64, 4)


# --- a deep network at initialization (the facts the chapter measures) --------------------


def _deep_mlp(depth, width, scheme, seed):
    seed_everything(seed)
    model = mlp([64] + [width] * depth + [10])
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
            if scheme == "small":
                nn.init.normal_(module.weight, 0.0, 0.01)
            elif scheme == "xavier":
                xavier_normal_(module.weight)
            else:
                kaiming_normal_(module.weight)
    return model


def _hidden_stds(scheme, seed):
    split = load_digits_split(n_train=256, seed=seed)
    stats = layer_statistics(_deep_mlp(50, 512, scheme, seed), split.x_train, split.y_train)
    return np.array(stats.activation_std[:-1])  # the 50 hidden layers


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_he_keeps_fifty_relu_layers_within_a_factor_two(seed):
    stds = _hidden_stds("he", seed)
    assert np.all((stds / stds[0] >= 0.5) & (stds / stds[0] <= 2.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_fixed_small_scale_makes_the_signal_vanish(seed):
    stds = _hidden_stds("small", seed)
    assert stds[-1] < 1e-3 * stds[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xavier_on_relu_shrinks_the_signal_by_root_two_per_layer(seed):
    stds = _hidden_stds("xavier", seed)
    per_layer = math.exp(np.polyfit(np.arange(len(stds)), np.log(stds), 1)[0])
    assert per_layer == pytest.approx(1 / math.sqrt(2), abs=0.02)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constant_initialization_keeps_hidden_units_identical(seed):
    seed_everything(seed)
    split = load_digits_split(n_train=200, seed=seed)
    model = mlp([64, 16, 16, 10]).double()
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.05)
            nn.init.zeros_(module.bias)
    fit(
        model,
        make_loader(split.x_train.double(), split.y_train, batch_size=32, seed=seed),
        epochs=5,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        progress=False,
    )
    w1 = model[0].weight.detach()  # (16, 64): one row per hidden unit
    assert (w1 - 0.05).abs().max() > 1e-3  # training moved the weights
    # ... but every unit alike. Units are identical in exact arithmetic; if a kernel summed
    # two rows in different orders they would differ by float64 rounding only: 35 steps
    # on sums of ~64 terms of size < 1 give at most 35 · 64 · 2.2e-16 ≈ 5e-13.
    assert (w1 - w1[0]).abs().max() <= 1e-12
