"""Unit tests of :mod:`coursepkg.population`: member ``k`` is the ``nn.Sequential`` it claims."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.population import PopulationMLP, member_losses, sharpness

SIZES = [5, 7, 6, 4]  # two hidden layers, so batch normalization appears twice
SEEDS = [3, 1, 4]
K, B = len(SEEDS), 8
# float64 on both sides: the batched product (baddbmm) and nn.Linear's addmm sum the same
# few terms in possibly another order, a difference of a few ulps (~1e-16 relative).
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _batch(seed=0, n=B):
    """Inputs ``(K, n, 5)`` float64, with a spread and offset that batch norm must undo."""
    g = _gen(seed)
    x = 1.5 + 2.0 * torch.randn(K, n, SIZES[0], generator=g, dtype=torch.float64)
    y = torch.randint(SIZES[-1], (K, n), generator=g)
    return x, y


def _population(**kwargs):
    return PopulationMLP(SIZES, seeds=SEEDS, **kwargs).double()


def _members(population):
    """``member(k)`` in float64: exact while the weights still hold their float32 draws."""
    return [population.member(k).double() for k in range(K)]


def _linears(member):
    return [layer for layer in member if isinstance(layer, nn.Linear)]


def _norms(member):
    return [layer for layer in member if isinstance(layer, nn.BatchNorm1d)]


def _assert_parameters_match(population, members, *, grad=False, tol=TOL):
    """Compare member ``k``'s weights (or their gradients) with slice ``k`` of the population."""

    def pick(t):
        return t.grad if grad else t.detach()

    for k, member in enumerate(members):
        for w, b, linear in zip(
            population.weights, population.biases, _linears(member), strict=True
        ):
            torch.testing.assert_close(pick(w)[k], pick(linear.weight).T, **tol)
            torch.testing.assert_close(pick(b)[k, 0], pick(linear.bias), **tol)
        if population.norms is None:
            continue
        for norm, single in zip(population.norms, _norms(member), strict=True):
            part = slice(k * single.num_features, (k + 1) * single.num_features)
            torch.testing.assert_close(pick(norm.weight)[part], pick(single.weight), **tol)
            torch.testing.assert_close(pick(norm.bias)[part], pick(single.bias), **tol)
            if not grad:
                torch.testing.assert_close(norm.running_mean[part], single.running_mean, **tol)
                torch.testing.assert_close(norm.running_var[part], single.running_var, **tol)


@pytest.mark.parametrize("batchnorm", [False, True], ids=["plain", "batchnorm"])
def test_members_match_their_sequential_outputs_and_gradients_in_train_mode(batchnorm):
    population = _population(batchnorm=batchnorm)
    members = _members(population)
    x, y = _batch()
    out = population(x)
    assert out.shape == (K, B, SIZES[-1])
    member_losses(population, x, y).sum().backward()
    for k, member in enumerate(members):
        expected = member(x[k])  # train mode: batch statistics of member k's own batch
        torch.testing.assert_close(out[k], expected, **TOL)
        F.cross_entropy(expected, y[k]).backward()
    _assert_parameters_match(population, members, grad=True)


def test_member_losses_are_each_members_cross_entropy():
    population = _population(batchnorm=True)
    x, y = _batch()
    losses = member_losses(population, x, y)
    assert losses.shape == (K,)
    expected = torch.stack(
        [F.cross_entropy(m(x[k]), y[k]) for k, m in enumerate(_members(population))]
    )
    torch.testing.assert_close(losses, expected, **TOL)


def test_running_statistics_and_eval_outputs_match_torchs_batchnorm():
    population = _population(batchnorm=True)
    members = _members(population)  # taken before: they see the batches themselves
    for seed in range(3):
        x, _ = _batch(seed)
        population(x)
        for k, member in enumerate(members):
            member(x[k])
    _assert_parameters_match(population, members)  # running statistics included
    population.eval()
    x, _ = _batch(seed=10)
    out = population(x)
    for k, member in enumerate(members):
        torch.testing.assert_close(out[k], member.eval()(x[k]), **TOL)


def test_member_keeps_the_population_dtype_and_running_statistics():
    population = _population(batchnorm=True)
    population(_batch()[0])  # float64 running statistics that float32 cannot hold
    member = population.member(1)
    assert all(p.dtype == torch.float64 for p in member.parameters())
    norm, single = population.norms[0], _norms(member)[0]
    assert single.running_mean.dtype == torch.float64
    assert torch.equal(single.running_mean, norm.running_mean[SIZES[1] : 2 * SIZES[1]])


def test_member_follows_the_population_mode():
    population = _population(batchnorm=True, dropout=0.2)
    assert population.member(0).training
    assert not population.eval().member(0).training


def test_the_same_seed_gives_the_same_member_in_any_population():
    alone = PopulationMLP(SIZES, seeds=[3], batchnorm=True)
    among = PopulationMLP(SIZES, seeds=[1, 3, 5], batchnorm=True)
    for w1, w3, b1, b3 in zip(
        alone.weights, among.weights, alone.biases, among.biases, strict=True
    ):
        assert torch.equal(w1[0], w3[1]) and torch.equal(b1[0], b3[1])
        assert not torch.equal(w3[0], w3[1])  # another seed, another member


def test_initial_weights_are_uniform_within_one_over_sqrt_fan_in():
    population = PopulationMLP([64, 200, 10], seeds=[0, 1])
    for w, b, fan_in in zip(population.weights, population.biases, [64, 200], strict=True):
        bound = fan_in**-0.5
        for t in (w, b):
            assert t.abs().max() <= bound
        assert w.abs().max() > 0.95 * bound  # the draws fill the range, not a narrower one
        assert abs(w.mean().item()) < 0.05 * bound


# A bias just before batch norm has gradient 0 in exact arithmetic; AdamW turns its
# rounding noise |g| <~ 1e-15 into steps of up to lr * |g| / eps = 0.01 * 1e-15 / 1e-8 = 1e-9,
# which differ between the two computations: 4 steps, at most 4e-9 apart.
ADAMW_TOL = {False: TOL, True: {"rtol": 1e-10, "atol": 1e-8}}


@pytest.mark.parametrize("batchnorm", [False, True], ids=["plain", "batchnorm"])
def test_training_together_with_adamw_equals_training_each_member_alone(batchnorm):
    # The module's claim: K members trained on K * (mean loss) take the steps each
    # member would take alone (AdamW acts elementwise, the k-th loss only reaches member k).
    population = _population(batchnorm=batchnorm)
    members = _members(population)
    together = torch.optim.AdamW(population.parameters(), lr=0.01, weight_decay=0.1)
    alone = [torch.optim.AdamW(m.parameters(), lr=0.01, weight_decay=0.1) for m in members]
    for step in range(4):
        x, y = _batch(seed=step)
        together.zero_grad()
        (K * member_losses(population, x, y).mean()).backward()
        together.step()
        for k, (member, optimizer) in enumerate(zip(members, alone, strict=True)):
            optimizer.zero_grad()
            F.cross_entropy(member(x[k]), y[k]).backward()
            optimizer.step()
    assert not torch.equal(population.weights[0], _population().weights[0])  # it moved
    tol = ADAMW_TOL[batchnorm]
    _assert_parameters_match(population, members, tol=tol)
    x, _ = _batch(seed=10)
    out = population.eval()(x)
    for k, member in enumerate(members):
        torch.testing.assert_close(out[k], member.eval()(x[k]), **tol)


def test_dropout_members_match_in_eval_mode():
    population = _population(dropout=0.5).eval()
    members = _members(population)
    x, _ = _batch()
    out = population(x)
    for k, member in enumerate(members):
        assert not member.training
        torch.testing.assert_close(out[k], member(x[k]), **TOL)
    torch.manual_seed(0)
    assert not torch.allclose(population.train()(x), out)  # dropout acts in train mode


# --- sharpness --------------------------------------------------------------------------


def _blobs(seed=0, n=48):
    """Per member, ``n`` points in 4-D around 3 class centres that overlap a little."""
    g = _gen(seed)
    y = (torch.arange(n) % 3).repeat(K, 1)
    x = 2.5 * torch.eye(4, dtype=torch.float64)[y] + torch.randn(
        K, n, 4, generator=g, dtype=torch.float64
    )
    return x, y


def _trained(steps=150, **kwargs):
    population = PopulationMLP([4, 16, 3], seeds=SEEDS, **kwargs).double()
    x, y = _blobs()
    optimizer = torch.optim.Adam(population.parameters(), lr=0.03)
    for _ in range(steps):
        optimizer.zero_grad()
        member_losses(population, x, y).sum().backward()
        optimizer.step()
    return population, x, y


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_sharpness_restores_weights_statistics_and_mode(training):
    population, x, y = _trained(steps=5, batchnorm=True)
    population.train(training)
    before = {name: t.clone() for name, t in population.state_dict().items()}
    rise = sharpness(population, x, y, radius=0.3, draws=3, generator=_gen())
    assert rise.shape == (K,)
    assert population.training is training
    after = population.state_dict()
    assert all(torch.equal(after[name], t) for name, t in before.items())


def test_sharpness_vanishes_for_a_tiny_radius_and_grows_with_it():
    population, x, y = _trained()
    rises = torch.stack(
        [
            sharpness(population, x, y, radius=radius, draws=8, generator=_gen())
            for radius in (1e-7, 0.05, 0.2, 0.5)
        ]
    )
    # First order in the radius near a minimum: |rise| ~ radius * |W| * |grad| << 1e-5.
    assert rises[0].abs().max() < 1e-5
    assert (rises[1:].diff(dim=0) > 0).all() and (rises[1] > 0).all()


def test_sharpness_is_measured_in_eval_mode():
    population, x, y = _trained(dropout=0.5)
    population.train()
    # With dropout active the two losses would differ by the noise of two masks.
    rise = sharpness(population, x, y, radius=1e-7, draws=2, generator=_gen())
    assert rise.abs().max() < 1e-5


def test_sharpness_is_unchanged_by_rescaling_a_relu_layer():
    population, x, y = _trained()
    expected = sharpness(population, x, y, radius=0.2, draws=4, generator=_gen(7))
    with torch.no_grad():  # relu(c z) = c relu(z): the same function, other weight norms
        population.weights[0].mul_(4.0)
        population.biases[0].mul_(4.0)
        population.weights[1].div_(4.0)
    result = sharpness(population, x, y, radius=0.2, draws=4, generator=_gen(7))
    torch.testing.assert_close(result, expected, rtol=1e-9, atol=1e-12)
