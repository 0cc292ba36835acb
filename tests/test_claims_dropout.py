"""The headline results of the chapter on dropout, checked over several seeds.

Each test repeats an experiment of ``notebooks/03_dropout.md`` at a smaller or
equal scale, so that a change to coursepkg that breaks what the chapter says
fails here.
"""

import pytest
import torch
from torch import nn

import coursepkg as cp

SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.75])
def test_inverted_dropout_preserves_the_mean(seed, p):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(200_000, generator=g, dtype=torch.float64) * 4 - 1
    out = cp.dropout(x, p, generator=g)
    # Var of each output is x²·p/(1 − p); the mean of N of them has that over N.
    standard_error = ((x**2).mean() * p / (1 - p) / len(x)).sqrt()
    assert abs(out.mean() - x.mean()) < 5 * standard_error


def test_evaluation_mode_is_the_identity_and_deterministic():
    model = cp.mlp([8, 32, 32, 3], dropout=0.5)
    x = torch.randn(16, 8)
    model.train()
    assert not torch.equal(model(x), model(x))  # new masks at every call
    model.eval()
    first = model(x)
    assert torch.equal(first, model(x))
    plain = nn.Sequential(*[m for m in model if not isinstance(m, cp.Dropout)])
    assert torch.equal(first, plain(x))


@pytest.mark.parametrize("seed", SEEDS)
def test_monte_carlo_average_converges_to_the_eval_pass_for_a_linear_layer(seed):
    g = torch.Generator().manual_seed(seed)
    linear = nn.Linear(32, 5)
    h = torch.randn(100, 32, generator=g)
    with torch.no_grad():
        exact = linear(h)
        samples = torch.stack([linear(cp.dropout(h, 0.5, generator=g)) for _ in range(4000)])
    error_100 = (samples[:100].mean(0) - exact).abs().mean()
    error_4000 = (samples.mean(0) - exact).abs().mean()
    assert error_4000 < 0.3 * error_100  # 1/√K: 40 times the masks, about 6 times smaller
    assert error_4000 < 0.02


def _noisy_digits_run(seed, p):
    """The chapter's sweep: 300 digits, 30 % random labels, 64-256-256-10, 60 epochs."""
    cp.seed_everything(seed)
    split = cp.load_digits_split(n_train=300, seed=seed)
    labels = cp.corrupt_labels(split.y_train, 0.3, seed=seed)
    model = cp.mlp([64, 256, 256, 10], dropout=p)
    cp.fit(
        model,
        cp.make_loader(split.x_train, labels, batch_size=32, seed=seed),
        epochs=60,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        progress=False,
    )
    train = cp.evaluate(model, cp.make_loader(split.x_train, labels, shuffle=False))
    val = cp.evaluate(model, cp.make_loader(split.x_val, split.y_val, shuffle=False))
    return train["accuracy"], val["accuracy"]


@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_shrinks_the_gap_and_too_much_of_it_stops_fitting(seed):
    acc = {p: _noisy_digits_run(seed, p) for p in (0.0, 0.5, 0.8)}
    gap = {p: train - val for p, (train, val) in acc.items()}
    assert gap[0.5] < gap[0.0] - 0.05
    assert acc[0.5][1] > acc[0.0][1]  # and validation accuracy improves
    assert acc[0.8][0] < acc[0.5][0] - 0.1  # p = 0.8 no longer fits the training labels
