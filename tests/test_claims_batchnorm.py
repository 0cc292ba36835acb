"""The headline results of the chapter on batch normalization, over several seeds.

Each test repeats an experiment of ``notebooks/04_batch_norm.md`` at the same or a
smaller scale, so that a change to coursepkg that breaks what the chapter says
fails here.
"""

import math

import pytest
import torch
from torch import nn

import coursepkg as cp
from coursepkg.batchnorm import normalize

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_from_scratch_layer_matches_torch_over_several_steps(seed):
    g = torch.Generator().manual_seed(seed)
    ours, theirs = cp.BatchNorm2d(4).double(), nn.BatchNorm2d(4).double()
    with torch.no_grad():
        ours.weight.copy_(torch.rand(4, generator=g) + 0.5)
        ours.bias.copy_(torch.randn(4, generator=g))
    theirs.load_state_dict(ours.state_dict())
    for _ in range(4):
        x = 2 * torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64) - 1
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        ya.square().sum().backward()
        yb.square().sum().backward()
        torch.testing.assert_close(ya, yb, rtol=0, atol=1e-12)
        torch.testing.assert_close(xa.grad, xb.grad, rtol=0, atol=1e-12)
    torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=0, atol=1e-12)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_epsilon_outside_the_root_differs_from_torch(seed):
    g = torch.Generator().manual_seed(seed)
    x = 1e-3 * torch.randn(64, 3, generator=g, dtype=torch.float64)  # variance about 1e-6
    mean, var = x.mean(0), x.var(0, correction=0)
    reference = nn.functional.batch_norm(x, None, None, training=True, eps=1e-5)
    inside = normalize(x, mean, var, eps=1e-5)
    outside = normalize(x, mean, var, eps=1e-5, eps_inside_root=False)
    torch.testing.assert_close(inside, reference, rtol=0, atol=1e-12)
    assert (outside.std(0) / reference.std(0)).min() > 2  # not a rounding difference


def _deep_run(batch_norm, lr, seed):
    cp.seed_everything(seed)
    split = cp.load_digits_split(n_train=500, seed=seed)
    model = cp.mlp([64] + [128] * 8 + [10], batch_norm=batch_norm)
    for module in model:
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    history = cp.fit(
        model,
        cp.make_loader(split.x_train, split.y_train, batch_size=64, seed=seed),
        epochs=10,
        optimizer=torch.optim.SGD(model.parameters(), lr=lr),
        val_loader=cp.make_loader(split.x_val, split.y_val, batch_size=512, shuffle=False),
        progress=False,
    )
    return history


@pytest.mark.parametrize("seed", SEEDS)
def test_batch_norm_trains_at_a_learning_rate_where_the_plain_network_fails(seed):
    plain, normalized = _deep_run(False, 1.0, seed), _deep_run(True, 1.0, seed)
    loss = plain.train_loss[-1]
    assert not math.isfinite(loss) or loss > 2.0 or plain.val_acc[-1] < 0.2  # diverged
    assert normalized.val_acc[-1] > 0.9


def test_eval_mode_ignores_the_batch_and_training_mode_does_not():
    cp.seed_everything(0)
    model = cp.mlp([64, 32, 10], batch_norm=True)
    split = cp.load_digits_split(n_train=100, seed=0)
    image, others_a, others_b = split.x_val[:1], split.x_val[1:16], split.x_val[100:115]
    with torch.no_grad():
        model.train()
        a = model(torch.cat([image, others_a]))[0]
        b = model(torch.cat([image, others_b]))[0]
        model.eval()
        alone = model(image)[0]
        batched = model(torch.cat([image, others_a]))[0]
    assert (a - b).abs().max() > 1e-2
    torch.testing.assert_close(alone, batched, rtol=0, atol=1e-6)
