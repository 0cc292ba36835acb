from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from coursepkg.penalties import (
    L2SP,
    WeightPenalty,
    decay_param_groups,
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    soft_threshold_,
    split_decay_parameters,
)
from coursepkg.training import fit


def _randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _set(layer, weight, bias):
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        layer.bias.copy_(torch.tensor(bias))
    return layer


def _linear_3_4():
    """nn.Linear(2, 1) with weight [[3, -4]] and bias [1]: Σ|w| = 8, Σw² = 26."""
    return _set(nn.Linear(2, 1).double(), [[3.0, -4.0]], [1.0])


A = torch.tensor([[1.0, -2.0], [0.0, 3.0]], dtype=torch.float64)
B = torch.tensor([-0.5, 4.0], dtype=torch.float64)

# How to build the params (a generator can be consumed once), then Σ|w| and Σw² by hand.
SOURCES = {
    "list": (lambda: [A, B], 10.5, 30.25),
    "tuple": (lambda: (B,), 4.5, 16.25),
    "generator": (lambda: _linear_3_4().parameters(), 8.0, 26.0),
    "tensor": (lambda: A, 6.0, 14.0),
}

# --- l1_penalty / l2_penalty / elastic_net_penalty --------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_l1_and_l2_penalties_by_hand(source):
    make, l1, l2 = SOURCES[source]
    for penalty, expected in ((l1_penalty, l1), (l2_penalty, l2)):
        value = penalty(make())
        assert isinstance(value, torch.Tensor) and value.ndim == 0
        assert value.item() == expected


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("rho", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_elastic_net_penalty_by_hand(source, rho):
    make, l1, l2 = SOURCES[source]
    value = elastic_net_penalty(make(), l1_ratio=rho)
    assert value.item() == pytest.approx(rho * l1 + (1 - rho) / 2 * l2, rel=1e-15)


@pytest.mark.parametrize("lam", [0.1, 2.5])
@pytest.mark.parametrize(
    ("penalty", "gradient"),
    [
        (l2_penalty, lambda w: 2 * w),
        (l1_penalty, torch.sign),
        (partial(elastic_net_penalty, l1_ratio=0.3), lambda w: 0.3 * w.sign() + 0.7 * w),
        (partial(elastic_net_penalty, l1_ratio=1.0), torch.sign),
        (partial(elastic_net_penalty, l1_ratio=0.0), lambda w: w),
    ],
    ids=["l2", "l1", "elastic_net_0.3", "elastic_net_1", "elastic_net_0"],
)
def test_penalty_gradients_match_the_known_answers(penalty, gradient, lam):
    ws = [_randn(4, 3, seed=4).requires_grad_(), _randn(5, seed=5).requires_grad_()]
    assert all((w != 0).all() for w in ws)  # sign(w) is the gradient of |w| away from 0
    grads = torch.autograd.grad(lam * penalty(ws), ws)
    for w, grad in zip(ws, grads, strict=True):
        torch.testing.assert_close(grad, lam * gradient(w.detach()), rtol=1e-12, atol=0)


# --- soft_threshold_ --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "threshold", "seed"), [((50,), 0.5, 0), ((4, 5, 6), 1.0, 1), ((10, 10), 0.01, 2)]
)
def test_soft_threshold_matches_the_closed_form_in_place(shape, threshold, seed):
    v = _randn(*shape, seed=seed)
    expected = np.sign(v.numpy()) * np.maximum(np.abs(v.numpy()) - threshold, 0.0)
    pointer = v.data_ptr()
    out = soft_threshold_(v, threshold)
    assert out is v and v.data_ptr() == pointer
    np.testing.assert_allclose(v.numpy(), expected, rtol=0, atol=1e-15)
    assert 0 < (v == 0).sum() < v.numel()


def test_soft_threshold_gives_exact_zeros_up_to_the_threshold_included():
    w = torch.tensor([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 2.0], dtype=torch.float64)
    soft_threshold_(w, 0.5)
    expected = torch.tensor([-1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 1.5], dtype=torch.float64)
    assert torch.equal(w, expected)


def test_soft_threshold_records_no_autograd_history():
    p = nn.Parameter(_randn(6, seed=7))
    expected = p.detach().sign() * (p.detach().abs() - 0.3).clamp_min(0)
    soft_threshold_(p, 0.3)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert torch.equal(p.detach(), expected)
    p.square().sum().backward()  # the parameter still trains normally
    torch.testing.assert_close(p.grad, 2 * expected, rtol=0, atol=0)


@pytest.mark.parametrize(("threshold", "seed"), [(0.1, 0), (0.7, 1), (2.0, 2)])
def test_soft_threshold_is_the_proximal_operator_of_the_l1_norm(threshold, seed):
    v = _randn(8, seed=seed)

    def objective(w):
        return 0.5 * (w - v).square().sum() + threshold * w.abs().sum()

    best = soft_threshold_(v.clone(), threshold)
    g = torch.Generator().manual_seed(100 + seed)
    for scale in (1e-4, 1e-2, 1.0):
        for _ in range(100):
            delta = scale * torch.randn(8, generator=g, dtype=torch.float64)
            # The objective is 1-strongly convex: any move away from the minimizer
            # costs at least half its squared length.
            gain = objective(best + delta) - objective(best)
            assert gain >= 0.5 * delta.square().sum() - 1e-12


# --- split_decay_parameters / decay_param_groups ----------------------------------------


class Mixed(nn.Module):
    """Every kind of layer the split must handle, plus a frozen one."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.bn2d = nn.BatchNorm2d(3)
        self.fc = nn.Linear(12, 5)
        self.bn1d = nn.BatchNorm1d(5)
        self.norm = nn.LayerNorm(5)
        self.head = nn.Linear(5, 2, bias=False)
        self.frozen = nn.Linear(2, 2).requires_grad_(False)


DECAYED = {"conv.weight", "fc.weight", "head.weight"}
NOT_DECAYED = {
    "conv.bias",
    "bn2d.weight",
    "bn2d.bias",
    "fc.bias",
    "bn1d.weight",
    "bn1d.bias",
    "norm.weight",
    "norm.bias",
}


@pytest.fixture
def mixed():
    torch.manual_seed(0)
    model = Mixed()
    with torch.no_grad():  # non-trivial norm parameters, so that decay would show
        for norm in (model.bn2d, model.bn1d, model.norm):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-1.0, 1.0)
    return model


def _names(model, params):
    names = {id(p): name for name, p in model.named_parameters()}
    return [names[id(p)] for p in params]


def test_split_decays_weights_only_and_skips_frozen_parameters(mixed):
    decay, no_decay = split_decay_parameters(mixed)
    assert all(isinstance(p, nn.Parameter) for p in decay + no_decay)
    assert set(_names(mixed, decay)) == DECAYED
    assert set(_names(mixed, no_decay)) == NOT_DECAYED
    names = _names(mixed, decay + no_decay)
    trainable = [name for name, p in mixed.named_parameters() if p.requires_grad]
    assert sorted(names) == sorted(trainable)  # each trainable parameter exactly once
    assert not any(name.startswith("frozen.") for name in names)


@pytest.mark.parametrize("weight_decay", [0.0, 0.05, 1])
def test_decay_param_groups_match_the_split(mixed, weight_decay):
    groups = decay_param_groups(mixed, weight_decay=weight_decay)
    assert [g["weight_decay"] for g in groups] == [weight_decay, 0.0]
    assert set(_names(mixed, groups[0]["params"])) == DECAYED
    assert set(_names(mixed, groups[1]["params"])) == NOT_DECAYED


def test_adamw_step_with_zero_gradients_shrinks_only_the_decayed_weights(mixed):
    lr, weight_decay = 0.1, 0.5
    optimizer = torch.optim.AdamW(decay_param_groups(mixed, weight_decay=weight_decay), lr=lr)
    before = {name: p.detach().clone() for name, p in mixed.named_parameters()}
    for p in mixed.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for name, p in mixed.named_parameters():
        if name in DECAYED:
            expected = before[name] * (1 - lr * weight_decay)
            torch.testing.assert_close(p.detach(), expected, rtol=1e-6, atol=0)
            assert not torch.equal(p.detach(), before[name])
        else:
            assert torch.equal(p.detach(), before[name]), name


# --- WeightPenalty ----------------------------------------------------------------------


@pytest.fixture
def two_layers():
    """Weights Σ|w| = 7.5, Σw² = 15.25; large biases, which must not count."""
    return nn.Sequential(
        _set(nn.Linear(2, 2), [[1.0, -2.0], [3.0, 0.0]], [5.0, 5.0]),
        nn.Tanh(),
        _set(nn.Linear(2, 1), [[-1.0, 0.5]], [7.0]),
    ).double()


@pytest.mark.parametrize(
    ("kind", "kwargs", "expected"),
    [
        ("l1", {}, 0.2 * 7.5),
        ("l2", {}, 0.2 * 15.25),
        ("elastic_net", {"l1_ratio": 0.3}, 0.2 * (0.3 * 7.5 + 0.7 / 2 * 15.25)),
        ("elastic_net", {}, 0.2 * (0.5 * 7.5 + 0.5 / 2 * 15.25)),
        ("l2", {"l1_ratio": 0.9}, 0.2 * 15.25),  # l1_ratio is ignored by the other kinds
    ],
)
def test_weight_penalty_is_strength_times_the_penalty_of_the_weights(
    two_layers, kind, kwargs, expected
):
    value = WeightPenalty(kind, 0.2, **kwargs)(two_layers)
    assert value.ndim == 0
    assert value.item() == pytest.approx(expected, rel=1e-14)


def test_weight_penalty_gradient_reaches_the_weights_only(two_layers):
    WeightPenalty("l2", 0.2)(two_layers).backward()
    for layer in (two_layers[0], two_layers[2]):
        torch.testing.assert_close(layer.weight.grad, 0.4 * layer.weight.detach())
        assert layer.bias.grad is None


@pytest.mark.parametrize(
    ("penalty", "text"),
    [
        (WeightPenalty("l2", 0.01), "WeightPenalty('l2', 0.01)"),
        (WeightPenalty("l1", 2), "WeightPenalty('l1', 2.0)"),
        (
            WeightPenalty("elastic_net", 0.1, l1_ratio=0.3),
            "WeightPenalty('elastic_net', 0.1, l1_ratio=0.3)",
        ),
    ],
)
def test_weight_penalty_repr(penalty, text):
    assert repr(penalty) == text


@pytest.mark.parametrize(
    "penalty",
    [WeightPenalty("l2", 0.5), WeightPenalty("l1", 0.2), WeightPenalty("elastic_net", 0.3)],
)
def test_fit_with_a_weight_penalty_shrinks_the_weights(blob_loaders, penalty):
    norms = []
    for p in (None, penalty):
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        fit(model, blob_loaders[0], epochs=10, optimizer=optimizer, penalty=p, progress=False)
        norms.append(model.weight.detach().norm().item())
    assert norms[1] < 0.6 * norms[0]


def test_weight_penalty_of_a_model_without_weight_matrices_is_zero():
    assert WeightPenalty("l2", 0.1)(nn.BatchNorm1d(3)).item() == 0.0


# --- L2SP -------------------------------------------------------------------------------


def _backbone_and_head(seed=0):
    """A 'pretrained' backbone (Linear 3→2, BatchNorm) and a new 2→4 head, in float64."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 4)).double()


def _pretrained(model):
    """The backbone's state_dict (running statistics included), without the head."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("2.")}


def _moved_backbone(model, seed):
    """The backbone's parameters, each moved by a standard normal draw."""
    return {
        k: v.detach() + _randn(*v.shape, seed=seed)
        for k, v in model.named_parameters()
        if not k.startswith("2.")
    }


def test_l2sp_by_hand():
    model = _backbone_and_head()
    reference = {k: v + 0.5 for k, v in _pretrained(model).items()}  # w - w0 = -0.5 each
    # penalized: 0.weight (6), 0.bias (2), 1.weight (2), 1.bias (2) -> 12 entries of 0.25
    assert L2SP(reference, 0.3)(model).item() == pytest.approx(0.3 * 12 * 0.25, rel=1e-14)


def test_l2sp_matches_the_sum_of_squared_distances():
    model = _backbone_and_head()
    reference = _moved_backbone(model, seed=1)
    names = ["0.weight", "0.bias", "1.weight", "1.bias"]
    params = dict(model.named_parameters())
    expected = sum(np.sum((params[k].detach().numpy() - reference[k].numpy()) ** 2) for k in names)
    assert L2SP(reference, 2.5)(model).item() == pytest.approx(2.5 * expected, rel=1e-12)


def test_l2sp_is_zero_at_the_reference_and_keeps_a_copy():
    model = _backbone_and_head()
    penalty = L2SP(_pretrained(model), 1.0)  # the state_dict shares storage with the model
    assert penalty(model).item() == 0.0
    with torch.no_grad():
        model[0].weight.add_(1.0)  # moving the model does not move the reference
    assert penalty(model).item() == pytest.approx(6.0, rel=1e-14)


def test_l2sp_gradient_is_twice_strength_times_the_distance():
    model = _backbone_and_head()
    reference = _moved_backbone(model, seed=2)
    L2SP(reference, 0.7)(model).backward()
    for name, w in model.named_parameters():
        if name.startswith("2."):  # the new head: absent from the reference
            assert w.grad is None, name
        else:
            torch.testing.assert_close(w.grad, 2 * 0.7 * (w.detach() - reference[name]))


def test_l2sp_skips_frozen_parameters():
    model = _backbone_and_head()
    reference = {k: v + 1.0 for k, v in _pretrained(model).items()}
    model[0].requires_grad_(False)  # 0.weight, 0.bias frozen: 1.weight, 1.bias remain
    assert L2SP(reference, 1.0)(model).item() == pytest.approx(4.0, rel=1e-14)


def test_l2sp_refuses_a_mismatch_and_an_empty_overlap():
    model = _backbone_and_head()
    reference = {**_pretrained(model), "0.weight": torch.zeros(2, 5, dtype=torch.float64)}
    with pytest.raises(ValueError, match=r"reference\['0\.weight'\] has shape \(2, 5\)"):
        L2SP(reference, 0.1)(model)
    with pytest.raises(ValueError, match="reference names none of the model's trainable"):
        L2SP({"module.0.weight": torch.zeros(2, 3)}, 0.1)(model)


def test_l2sp_repr():
    assert repr(L2SP({"w": torch.zeros(2)}, 0.01)) == "L2SP(<1 reference tensor>, 0.01)"
    assert repr(L2SP({"w": torch.zeros(2), "b": torch.zeros(1)}, 2)) == (
        "L2SP(<2 reference tensors>, 2.0)"
    )
