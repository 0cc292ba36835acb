"""Unit tests of :mod:`coursepkg.soft_targets` against torch's own cross-entropy."""

import pytest
import torch
import torch.nn.functional as F

from coursepkg.soft_targets import mixup, smooth_labels, soft_cross_entropy

N, C = 12, 5
TOL = {"rtol": 1e-12, "atol": 1e-12}  # float64 on both sides: rounding differences only


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _logits(seed=0, shape=(N, C)):
    return 3 * torch.randn(shape, generator=_gen(seed), dtype=torch.float64)


def _labels(seed=0, shape=(N,)):
    return torch.randint(C, shape, generator=_gen(seed + 100))


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_smoothed_soft_cross_entropy_matches_torch_label_smoothing(eps):
    logits, y = _logits(), _labels()
    mine, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    loss = soft_cross_entropy(mine, smooth_labels(y, C, eps).double())
    expected = F.cross_entropy(theirs, y, label_smoothing=eps)
    loss.backward()
    expected.backward()
    # smooth_labels returns float32 targets: eps / C is off by up to 6e-8 relative, so the
    # loss (|log softmax| <~ 20 here) by <~ 1e-6 and the gradients (q - p) / N by <~ 1e-8.
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("eps", [0.0, 0.2, 1.0])
def test_smoothed_labels_are_probabilities_of_the_right_shape(eps):
    y = _labels(shape=(2, 3))
    q = smooth_labels(y, C, eps)
    assert q.shape == (2, 3, C)
    torch.testing.assert_close(q.sum(-1), torch.ones(2, 3))  # float32: within 1e-5
    torch.testing.assert_close(
        q.gather(-1, y[..., None])[..., 0], torch.full((2, 3), 1 - eps + eps / C)
    )
    assert torch.equal(q.argmax(-1), y) or eps == 1.0


def test_mixup_with_lam_one_returns_the_inputs():
    x, t = _logits(1), F.one_hot(_labels(), C).double()
    mixed_x, mixed_t = mixup(x, t, torch.ones(N, dtype=torch.float64))
    assert torch.equal(mixed_x, x) and torch.equal(mixed_t, t)


def test_mixup_with_lam_zero_returns_the_batch_rolled_by_one():
    x, t = _logits(1), F.one_hot(_labels(), C).double()
    mixed_x, mixed_t = mixup(x, t, torch.zeros(N, dtype=torch.float64))
    assert torch.equal(mixed_x[1:], x[:-1]) and torch.equal(mixed_x[0], x[-1])
    assert torch.equal(mixed_t, t.roll(1, dims=0))


def test_mixed_targets_are_probabilities():
    t = smooth_labels(_labels(), C, 0.1)
    lam = torch.rand(N, generator=_gen(2))
    _, mixed_t = mixup(_logits(1).float(), t, lam)
    torch.testing.assert_close(mixed_t.sum(-1), torch.ones(N))  # float32: within 1e-5
    assert mixed_t.min() >= 0


def test_loss_of_a_mixed_target_is_the_mix_of_the_two_losses():
    logits, y = _logits(), _labels()
    lam = torch.rand(N, generator=_gen(3), dtype=torch.float64)
    _, mixed_t = mixup(_logits(1), F.one_hot(y, C).double(), lam)
    ce = F.cross_entropy(logits, y, reduction="none")
    ce_partner = F.cross_entropy(logits, y.roll(1), reduction="none")
    expected = lam * ce + (1 - lam) * ce_partner
    per_example = torch.stack([soft_cross_entropy(logits[i], mixed_t[i]) for i in range(N)])
    torch.testing.assert_close(per_example, expected, **TOL)
    torch.testing.assert_close(soft_cross_entropy(logits, mixed_t), expected.mean(), **TOL)


def test_mixup_mixes_within_each_member_of_a_leading_dimension():
    k, d = 3, 4
    x = torch.randn(k, N, d, generator=_gen(4), dtype=torch.float64)
    t = F.one_hot(_labels(shape=(k, N)), C).double()
    lam = torch.rand(k, N, generator=_gen(5), dtype=torch.float64)
    mixed_x, mixed_t = mixup(x, t, lam)
    assert mixed_x.shape == (k, N, d) and mixed_t.shape == (k, N, C)
    w = lam[..., None]  # partner of example j of member i: example j - 1 of member i
    torch.testing.assert_close(mixed_x, w * x + (1 - w) * x.roll(1, dims=1), **TOL)
    torch.testing.assert_close(mixed_t, w * t + (1 - w) * t.roll(1, dims=1), **TOL)
    assert torch.equal(mixup(x[1], t[1], lam[1])[0], mixed_x[1])
