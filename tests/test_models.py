import torch
from torch import nn

from coursepkg.models import mlp


def test_mlp_layers_shapes_and_parameter_count():
    model = mlp([64, 256, 256, 10])
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(256, 64), (256, 256), (10, 256)]
    assert [tuple(m.bias.shape) for m in linears] == [(256,), (256,), (10,)]
    expected = 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected == 85_002


def test_mlp_outputs_logits_of_the_last_width():
    torch.manual_seed(0)
    out = mlp((8, 16, 3))(torch.randn(5, 8))
    assert out.shape == (5, 3)
    assert (out < 0).any()  # raw logits, no softmax or final activation
    assert not torch.allclose(out.sum(dim=1), torch.ones(5))


def test_mlp_with_two_sizes_is_one_linear_layer():
    model = mlp([4, 2])
    assert len(model) == 1 and isinstance(model[0], nn.Linear)


def test_mlp_uses_the_given_activation_class():
    model = mlp([3, 5, 5, 2], activation=nn.Tanh)
    assert [type(m) for m in model] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert model[1] is not model[3]  # one instance per layer
