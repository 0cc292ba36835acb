"""Unit tests of :mod:`coursepkg.augment`."""

import functools

import pytest
import torch
import torch.nn.functional as F

from coursepkg.augment import AugmentedLoader, color_jitter, random_crop, random_flip
from coursepkg.data import make_loader


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def images():
    return torch.rand(64, 3, 12, 10, generator=_gen(1))


def test_random_flip_mirrors_about_half_and_keeps_the_rest(images):
    out = random_flip(images, generator=_gen())
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, images, strict=True)])
    assert bool((flipped ^ kept).all())
    assert 20 <= int(flipped.sum()) <= 44
    assert torch.equal(random_flip(images, p=0.0), images)
    assert torch.equal(random_flip(images, p=1.0), images.flip(-1))


def test_random_crop_is_a_window_of_the_reflect_padded_image(images):
    padding = 3
    out = random_crop(images, padding=padding, generator=_gen())
    padded = F.pad(images, (padding,) * 4, mode="reflect")
    offsets = set()
    for o, p in zip(out, padded, strict=True):
        windows = [
            (a, b)
            for a in range(2 * padding + 1)
            for b in range(2 * padding + 1)
            if torch.equal(p[:, a : a + 12, b : b + 10], o)
        ]
        assert windows, "each crop must be a window of its padded image"
        offsets.add(windows[0])
    assert len(offsets) > 10  # the offsets vary from image to image
    assert torch.equal(random_crop(images, padding=0), images)


def test_color_jitter_matches_the_formula(images):
    b, c = 0.4, 0.3
    out = color_jitter(images, brightness=b, contrast=c, generator=_gen(5))
    g = _gen(5)
    fb = 1 + b * (2 * torch.rand(64, 1, 1, 1, generator=g) - 1)
    fc = 1 + c * (2 * torch.rand(64, 1, 1, 1, generator=g) - 1)
    bright = (images * fb).clamp(0, 1)
    gray = 0.299 * bright[:, 0] + 0.587 * bright[:, 1] + 0.114 * bright[:, 2]
    mean = gray.mean(dim=(1, 2))[:, None, None, None]
    torch.testing.assert_close(out, (mean + fc * (bright - mean)).clamp(0, 1))
    assert out.min() >= 0 and out.max() <= 1


def test_color_jitter_changes_contrast_within_the_range():
    x = torch.rand(200, 3, 8, 8, generator=_gen(2)) * 0.5 + 0.25  # no clipping at 1 ± 0.5
    out = color_jitter(x, brightness=0.0, contrast=0.5, generator=_gen())
    ratio = out.std(dim=(1, 2, 3)) / x.std(dim=(1, 2, 3))
    assert ratio.min() >= 0.5 - 1e-5 and ratio.max() <= 1.5 + 1e-5
    assert ratio.max() - ratio.min() > 0.8  # the factors spread over the range
    assert torch.equal(color_jitter(x, brightness=0.0, contrast=0.0), x)


@pytest.mark.parametrize(
    "transform",
    [
        random_flip,
        functools.partial(random_crop, padding=2),
        functools.partial(color_jitter, brightness=0.4, contrast=0.4),
    ],
)
def test_transforms_draw_from_the_generator_or_else_the_global_one(images, transform):
    assert torch.equal(transform(images, generator=_gen(3)), transform(images, generator=_gen(3)))
    torch.manual_seed(3)
    first = transform(images)
    torch.manual_seed(3)
    assert torch.equal(transform(images), first)


def test_augmented_loader_applies_transforms_then_normalize():
    x = torch.rand(10, 3, 8, 8, generator=_gen())
    y = torch.arange(10)
    loader = make_loader(x, y, batch_size=4, shuffle=False)
    aug = AugmentedLoader(
        loader, [functools.partial(random_flip, p=1.0)], normalize=lambda t: 2 * t
    )
    assert len(aug) == 3
    xs, ys = zip(*aug, strict=True)
    torch.testing.assert_close(torch.cat(xs), 2 * x.flip(-1))
    assert torch.equal(torch.cat(ys), y)


def test_augmented_loader_draws_new_augmentations_each_epoch():
    x = torch.rand(16, 3, 8, 8, generator=_gen())
    aug = AugmentedLoader(
        make_loader(x, torch.zeros(16, dtype=torch.long), shuffle=False), [random_flip]
    )
    first, second = (torch.cat([b for b, _ in aug]) for _ in range(2))
    assert not torch.equal(first, second)
