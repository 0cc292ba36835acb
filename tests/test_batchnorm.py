import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.batchnorm import BatchNorm1d, BatchNorm2d, group_norm, normalize

TORCH = {BatchNorm1d: nn.BatchNorm1d, BatchNorm2d: nn.BatchNorm2d}
TOL = {"rtol": 1e-10, "atol": 1e-12}  # float64: both sides differ by rounding only

# (layer, input shape): every rank, N = 2, a single position per channel, 50 channels.
SHAPES = [
    (BatchNorm1d, (2, 3)),
    (BatchNorm1d, (16, 50)),
    (BatchNorm1d, (2, 4, 1)),
    (BatchNorm1d, (5, 50, 7)),
    (BatchNorm2d, (2, 3, 1, 1)),
    (BatchNorm2d, (2, 3, 4, 5)),
    (BatchNorm2d, (6, 50, 3, 3)),
]
IDS = [f"{cls.__name__}-{'x'.join(map(str, shape))}" for cls, shape in SHAPES]


def _generator(seed):
    return torch.Generator().manual_seed(seed)


def _batch(shape, seed=0, scale=3.0):
    """float64 values whose per-channel mean and scale differ from channel to channel."""
    g = _generator(seed)
    view = (1, -1) + (1,) * (len(shape) - 2)
    c = shape[1]
    shift = torch.linspace(-2.0, 5.0, c, dtype=torch.float64).view(view)
    spread = scale * torch.linspace(0.5, 2.0, c, dtype=torch.float64).view(view)
    return shift + spread * torch.randn(shape, generator=g, dtype=torch.float64)


def _pair(cls, c, seed=0, **kwargs):
    """Our layer with random γ, β and torch's twin holding the same state, both float64."""
    ours = cls(c, **kwargs).double()
    if ours.affine:
        g = _generator(seed + 100)
        with torch.no_grad():
            ours.weight.copy_(0.5 + 1.5 * torch.rand(c, generator=g, dtype=torch.float64))
            ours.bias.copy_(torch.randn(c, generator=g, dtype=torch.float64))
    theirs = TORCH[cls](c, **kwargs).double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _shape_like(cls, n, c, seed=0):
    """A shape of the right rank for ``cls``: (n, c) alternating with (n, c, 3) for 1d."""
    if cls is BatchNorm2d:
        return (n, c, 2, 3)
    return (n, c) if seed % 2 == 0 else (n, c, 3)


def _assert_same_state(ours, theirs):
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), **TOL)
    assert torch.equal(ours.num_batches_tracked, theirs.num_batches_tracked)


# --- training mode: outputs and gradients ---------------------------------------------------


@pytest.mark.parametrize(("cls", "shape"), SHAPES, ids=IDS)
@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_training_output_and_gradients_equal_torch(cls, shape, eps):
    ours, theirs = _pair(cls, shape[1], eps=eps)
    x = _batch(shape)
    upstream = torch.randn(shape, generator=_generator(1), dtype=torch.float64)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    assert out_ours.shape == shape
    assert out_ours.dtype == torch.float64
    torch.testing.assert_close(out_ours, out_theirs, **TOL)
    (out_ours * upstream).sum().backward()
    (out_theirs * upstream).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad, **TOL)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, **TOL)
    torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, **TOL)
    assert ours.weight.grad.abs().min() > 1e-3  # non-trivial gradients were compared
    assert ours.bias.grad.abs().min() > 1e-3
    if math.prod(shape) // shape[1] > 2:  # with 2 values per channel, x̂ = ±1 nearly always
        assert x_ours.grad.abs().max() > 1e-3


# --- known answer -------------------------------------------------------------------------


def _alternating(cls, shape, a, shift):
    """x = shift + a·s with s = ±1 alternating over each channel's values: mean shift, biased
    variance a², so that the normalized output is s·a/√(a² + ε) exactly."""
    n = math.prod(shape) // shape[1]
    s = (-1.0) ** torch.arange(n, dtype=torch.float64)
    s = s.reshape(shape[0], *shape[2:]).unsqueeze(1)
    view = (1, -1) + (1,) * (len(shape) - 2)
    return shift.view(view) + a.view(view) * s, s


@pytest.mark.parametrize(
    ("cls", "shape"),
    [(BatchNorm1d, (4, 3)), (BatchNorm1d, (2, 3, 3)), (BatchNorm2d, (2, 3, 2, 3))],
)
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_normalized_output_has_mean_zero_and_variance_var_over_var_plus_eps(cls, shape, eps):
    a = torch.tensor([0.5, 1.0, 4.0], dtype=torch.float64)
    x, s = _alternating(cls, shape, a, torch.tensor([-3.0, 0.0, 10.0], dtype=torch.float64))
    out = cls(3, eps=eps).double()(x)  # γ = 1, β = 0: the normalized x̂
    view = (1, -1) + (1,) * (len(shape) - 2)
    torch.testing.assert_close(out, s * (a / torch.sqrt(a**2 + eps)).view(view), **TOL)
    dims = [0, *range(2, len(shape))]
    torch.testing.assert_close(out.mean(dim=dims), torch.zeros(3, dtype=torch.float64), **TOL)
    variance = out.var(dim=dims, correction=0)
    torch.testing.assert_close(variance, a**2 / (a**2 + eps), **TOL)
    if eps == 1e-5:
        assert torch.allclose(variance, torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-4)


def test_running_statistics_by_hand():
    layer = BatchNorm1d(1, momentum=0.1).double()
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    layer(x)  # mean 2, unbiased variance 2
    torch.testing.assert_close(layer.running_mean, torch.tensor([0.2], dtype=torch.float64))
    torch.testing.assert_close(layer.running_var, torch.tensor([0.9 + 0.2], dtype=torch.float64))
    assert layer.num_batches_tracked.item() == 1
    assert not layer.running_mean.requires_grad  # no gradient flows into the statistics
    assert not layer.running_var.requires_grad


# --- running statistics ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
@pytest.mark.parametrize("momentum", [0.1, 0.3, 0.0, 1.0])
@pytest.mark.parametrize("eps", [1e-3])
def test_running_statistics_equal_torch_after_several_steps(cls, momentum, eps):
    c = 5
    ours, theirs = _pair(cls, c, momentum=momentum, eps=eps)
    for step, n in enumerate([2, 8, 3, 16, 2, 5, 11]):  # 7 batches of varying size and scale
        x = _batch(_shape_like(cls, n, c, step), seed=step, scale=0.5 + step)
        torch.testing.assert_close(ours(x), theirs(x), **TOL)
    _assert_same_state(ours, theirs)
    assert ours.num_batches_tracked.item() == 7
    assert ours.num_batches_tracked.dtype == torch.long
    start = torch.zeros(c, dtype=torch.float64)
    assert torch.equal(ours.running_mean, start) is (momentum == 0.0)  # it moved unless m = 0


# --- evaluation mode ------------------------------------------------------------------------


def _trained_pair(cls, c, **kwargs):
    ours, theirs = _pair(cls, c, **kwargs)
    for step, n in enumerate([4, 7, 2, 9, 5]):
        x = _batch(_shape_like(cls, n, c, step), seed=10 + step)
        ours(x), theirs(x)
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize(("cls", "shape"), SHAPES, ids=IDS)
def test_evaluation_output_equals_torch_and_leaves_the_state_alone(cls, shape):
    ours, theirs = _trained_pair(cls, shape[1], momentum=0.3, eps=1e-3)
    state = {k: v.clone() for k, v in ours.state_dict().items()}
    x = _batch(shape, seed=99)
    out = ours(x)
    torch.testing.assert_close(out, theirs(x), **TOL)
    for name, value in ours.state_dict().items():
        assert torch.equal(value, state[name]), name
    # With running statistics that are not (0, 1), the output is not the plain affine map.
    view = (1, -1) + (1,) * (len(shape) - 2)
    affine_only = x * ours.weight.view(view) + ours.bias.view(view)
    assert not torch.allclose(out, affine_only)


@pytest.mark.parametrize(
    ("cls", "shape"),
    [(BatchNorm1d, (8, 4)), (BatchNorm1d, (8, 4, 5)), (BatchNorm2d, (8, 4, 3, 3))],
)
def test_evaluation_output_does_not_depend_on_the_batch(cls, shape):
    layer, _ = _trained_pair(cls, 4)
    batch, other = _batch(shape, seed=1), _batch(shape, seed=2)
    other[0] = batch[0]  # the same first sample among different companions
    alone = layer(batch[:1])
    torch.testing.assert_close(layer(batch)[:1], alone, rtol=0, atol=1e-14)
    torch.testing.assert_close(layer(other)[:1], alone, rtol=0, atol=1e-14)
    layer.train()  # batch statistics: the first sample's output depends on its companions
    difference = (layer(batch)[0] - layer(other)[0]).abs().max()
    assert difference > 1e-2


# --- state_dict -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BatchNorm1d, BatchNorm2d])
@pytest.mark.parametrize("affine", [True, False])
def test_state_dict_has_torch_keys(cls, affine):
    ours, theirs = cls(6, affine=affine), TORCH[cls](6, affine=affine)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for name, value in ours.state_dict().items():
        assert value.shape == theirs.state_dict()[name].shape, name
        assert value.dtype == theirs.state_dict()[name].dtype, name


@pytest.mark.parametrize(("cls", "shape"), [SHAPES[1], SHAPES[3], SHAPES[5]], ids=IDS[1:6:2])
def test_the_state_loads_both_ways(cls, shape):
    ours, theirs = _trained_pair(cls, shape[1], momentum=0.3, eps=1e-3)
    into_torch = TORCH[cls](shape[1], momentum=0.3, eps=1e-3).double()
    into_torch.load_state_dict(ours.state_dict(), strict=True)
    into_ours = cls(shape[1], momentum=0.3, eps=1e-3).double()
    into_ours.load_state_dict(theirs.state_dict(), strict=True)
    _assert_same_state(into_ours, theirs)
    assert into_torch.num_batches_tracked.item() == 5
    x = _batch(shape, seed=7)
    for model in (into_torch.eval(), into_ours.eval()):
        torch.testing.assert_close(model(x), theirs(x), **TOL)


# --- affine=False ---------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "shape"), SHAPES, ids=IDS)
def test_without_affine_there_are_no_parameters_and_the_output_is_standardized(cls, shape):
    ours, theirs = _pair(cls, shape[1], affine=False)
    assert ours.weight is None
    assert ours.bias is None
    assert list(ours.parameters()) == []
    x = _batch(shape, seed=3)
    out = ours(x)
    torch.testing.assert_close(out, theirs(x), **TOL)
    dims = [0, *range(2, len(shape))]
    zeros = torch.zeros(shape[1], dtype=torch.float64)
    torch.testing.assert_close(out.mean(dim=dims), zeros, rtol=0, atol=1e-12)
    variance, x_variance = out.var(dim=dims, correction=0), x.var(dim=dims, correction=0)
    torch.testing.assert_close(variance, x_variance / (x_variance + 1e-5), **TOL)
    torch.testing.assert_close(variance, torch.ones_like(variance), rtol=0, atol=1e-3)


def test_without_affine_the_evaluation_output_equals_torch():
    ours, theirs = _trained_pair(BatchNorm2d, 3, affine=False)
    x = _batch((3, 3, 2, 2), seed=4)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


# --- normalize ------------------------------------------------------------------------------


def _batch_statistics(x):
    dims = [0, *range(2, x.ndim)]
    return x.mean(dim=dims), x.var(dim=dims, correction=0)


@pytest.mark.parametrize("shape", [(64, 3), (16, 3, 4), (8, 3, 2, 4)])
def test_normalize_equals_torch_batch_norm(shape):
    x = _batch(shape, seed=5)
    mean, var = _batch_statistics(x)
    expected = F.batch_norm(x, None, None, training=True, eps=1e-5)
    torch.testing.assert_close(normalize(x, mean, var, eps=1e-5), expected, **TOL)


def _relative_difference(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("shape", [(64, 3), (16, 3, 4), (8, 3, 2, 4)])
def test_eps_outside_the_root_differs_on_a_tiny_variance(shape):
    x = 1e-3 * _batch(shape, seed=6, scale=1.0)  # variances around 1e-6, below ε = 1e-5
    mean, var = _batch_statistics(x)
    assert var.max() < 1e-5
    expected = F.batch_norm(x, None, None, training=True, eps=1e-5)
    outside = normalize(x, mean, var, eps=1e-5, eps_inside_root=False)
    assert _relative_difference(outside, expected) > 0.5
    view = (1, -1) + (1,) * (x.ndim - 2)
    by_hand = (x - mean.view(view)) / (var.sqrt() + 1e-5).view(view)  # (x − μ)/(√σ² + ε)
    torch.testing.assert_close(outside, by_hand, **TOL)


@pytest.mark.parametrize("shape", [(64, 3), (16, 3, 4), (8, 3, 2, 4)])
def test_eps_outside_the_root_barely_matters_on_a_large_variance(shape):
    x = _batch(shape, seed=6)  # variances around 1 to 36, far above ε = 1e-5
    mean, var = _batch_statistics(x)
    inside = normalize(x, mean, var, eps=1e-5)
    outside = normalize(x, mean, var, eps=1e-5, eps_inside_root=False)
    assert 0 < _relative_difference(outside, inside) < 1e-4


# --- inside a model --------------------------------------------------------------------------


def _network(bn_class, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), bn_class(8), nn.ReLU(), nn.Linear(8, 2)).double()


def test_inside_sequential_with_train_and_eval():
    ours, theirs = _network(BatchNorm1d), _network(nn.BatchNorm1d)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = _batch((10, 4), seed=11)
    ours.train(), theirs.train()
    assert ours[1].training
    for model in (ours, theirs):
        model(x).square().sum().backward()
    for (name, p_ours), p_theirs in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p_ours.grad, p_theirs.grad, **TOL, msg=name)
    _assert_same_state(ours[1], theirs[1])
    ours.eval(), theirs.eval()
    assert not ours[1].training
    torch.testing.assert_close(ours(x), theirs(x), **TOL)
    torch.testing.assert_close(ours(x[:1]), ours(x)[:1], rtol=0, atol=1e-14)
    assert ours[1].num_batches_tracked.item() == 1  # evaluation does not count batches


# --- extra_repr -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "args", "kwargs", "text"),
    [
        (BatchNorm1d, (50,), {}, "50, eps=1e-05, momentum=0.1, affine=True"),
        (
            BatchNorm2d,
            (3,),
            {"eps": 1e-3, "momentum": 0.3},
            "3, eps=0.001, momentum=0.3, affine=True",
        ),
        (BatchNorm1d, (7,), {"affine": False}, "7, eps=1e-05, momentum=0.1, affine=False"),
    ],
)
def test_extra_repr_shows_the_settings(cls, args, kwargs, text):
    layer = cls(*args, **kwargs)
    assert layer.extra_repr() == text
    assert repr(layer) == f"{cls.__name__}({text})"
    assert TORCH[cls](*args, **kwargs).extra_repr().startswith(text)  # torch's wording


# --- batches of one ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "shape"), [(BatchNorm1d, (1, 3)), (BatchNorm1d, (1, 3, 1)), (BatchNorm2d, (1, 3, 1, 1))]
)
def test_a_refused_training_batch_leaves_the_state_alone(cls, shape):
    layer = cls(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(torch.randn(shape, generator=_generator(0)))
    assert layer.num_batches_tracked.item() == 0
    assert torch.equal(layer.running_mean, torch.zeros(3))
    assert torch.equal(layer.running_var, torch.ones(3))


@pytest.mark.parametrize(
    ("cls", "shape"),
    [(BatchNorm1d, (1, 3)), (BatchNorm1d, (1, 3, 1)), (BatchNorm2d, (1, 3, 1, 1))],
)
def test_evaluation_accepts_a_single_sample(cls, shape):
    ours, theirs = _trained_pair(cls, 3)
    x = _batch(shape, seed=12)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


@pytest.mark.parametrize(("cls", "shape"), [(BatchNorm1d, (1, 3, 2)), (BatchNorm2d, (1, 3, 1, 2))])
def test_training_accepts_one_sample_with_several_positions(cls, shape):
    ours, theirs = _pair(cls, 3)
    x = _batch(shape, seed=13)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)
    _assert_same_state(ours, theirs)


@pytest.mark.parametrize("shape", [(4, 12), (2, 12, 5), (3, 6, 4, 5)])
@pytest.mark.parametrize("num_groups", [1, 3, 6])
def test_group_norm_equals_torch_group_norm(shape, num_groups):
    x = _batch(shape, seed=num_groups)
    expected = F.group_norm(x, num_groups, eps=1e-3)
    torch.testing.assert_close(group_norm(x, num_groups, eps=1e-3), expected, **TOL)


@pytest.mark.parametrize("shape", [(4, 12), (3, 6, 4, 5)])
def test_group_norm_with_one_group_equals_torch_layer_norm(shape):
    x = _batch(shape, seed=1)
    expected = F.layer_norm(x, x.shape[1:], eps=1e-5)
    torch.testing.assert_close(group_norm(x, 1), expected, **TOL)


def test_group_norm_of_a_sample_does_not_depend_on_the_batch():
    x = _batch((5, 8, 3), seed=2)
    torch.testing.assert_close(group_norm(x, 4)[:1], group_norm(x[:1], 4), **TOL)


@pytest.mark.parametrize("num_groups", [0, 5, 2.0])
def test_group_norm_refuses_groups_that_do_not_divide_the_channels(num_groups):
    with pytest.raises(ValueError, match="num_groups must divide the 12 channels"):
        group_norm(_batch((2, 12)), num_groups)


def test_the_closed_form_backward_pass_matches_torchs_batch_norm_gradient():
    from coursepkg.exercises.batchnorm import _bn_backward_formula, reference_bn_backward

    g = torch.Generator().manual_seed(0)
    x = 3 * torch.randn(16, 5, generator=g, dtype=torch.float64) + 1
    gamma = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    grad_out = torch.randn(16, 5, generator=g, dtype=torch.float64)
    leaf = x.clone().requires_grad_()
    nn.functional.batch_norm(leaf, None, None, gamma, None, training=True, eps=1e-5).backward(
        grad_out
    )
    torch.testing.assert_close(_bn_backward_formula(x, gamma, grad_out, 1e-5), leaf.grad)
    torch.testing.assert_close(reference_bn_backward(x, gamma, grad_out, 1e-5), leaf.grad)


def test_a_batch_of_one_image_is_normalized_by_its_own_statistics_like_instance_norm():
    x = _batch((1, 3, 4, 5))
    ours = BatchNorm2d(3).double()(x)  # training mode
    torch.testing.assert_close(ours, F.instance_norm(x, eps=1e-5), **TOL)
    torch.testing.assert_close(nn.BatchNorm2d(3).double()(x), ours, **TOL)
