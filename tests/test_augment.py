"""Unit tests of :mod:`coursepkg.augment`."""

import functools

import pytest
import torch
import torch.nn.functional as F

from coursepkg.augment import (
    AugmentedLoader,
    color_jitter,
    random_affine,
    random_crop,
    random_flip,
)
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


# --- random_affine ------------------------------------------------------------------------

SIZE = 15  # odd: the rotation centre (SIZE - 1) / 2 = 7 is a pixel centre


def _dots(n=32, offset=(0.0, 4.0), dtype=torch.float32):
    """``n`` images (1 channel) of a Gaussian dot (sigma 1) at ``offset`` (rows, cols) from the
    centre, far enough from the border that no mass leaves the image."""
    grid = torch.arange(SIZE, dtype=dtype) - (SIZE - 1) / 2
    rows, cols = grid[:, None] - offset[0], grid[None, :] - offset[1]
    dot = torch.exp(-(rows**2 + cols**2) / 2)
    return dot.expand(n, 1, SIZE, SIZE).clone()


def _centre_of_mass(x):
    """(rows, cols) of each image's centre of mass, relative to the image centre: ``(N, 2)``."""
    grid = torch.arange(SIZE, dtype=x.dtype) - (SIZE - 1) / 2
    mass = x.sum(dim=(1, 2, 3))
    rows = (x.sum(dim=(1, 3)) * grid).sum(1) / mass
    cols = (x.sum(dim=(1, 2)) * grid).sum(1) / mass
    return torch.stack([rows, cols], 1)


def test_random_affine_at_zero_strength_returns_the_images():
    x = torch.rand(4, 3, SIZE, SIZE, generator=_gen(1))
    out = random_affine(x, degrees=0.0, translate=0.0, generator=_gen())
    # the identity grid hits pixel centres up to rounding of (2i + 1) / SIZE - 1: ~1e-7
    torch.testing.assert_close(out, x, rtol=0, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_random_affine_keeps_shape_dtype_and_range(dtype):
    x = torch.rand(8, 2, SIZE, SIZE, generator=_gen(1), dtype=dtype)
    out = random_affine(x, degrees=40.0, translate=3.0, generator=_gen())
    assert out.shape == x.shape and out.dtype == dtype
    # bilinear weights are >= 0 and sum to at most 1 (zeros outside): within [0, max x]
    assert out.min() >= 0 and out.max() <= x.max() + 1e-6
    assert not torch.allclose(out, x)


def test_random_affine_draws_from_the_generator_or_else_the_global_one():
    x = torch.rand(8, 1, SIZE, SIZE, generator=_gen(1))
    kwargs = {"degrees": 30.0, "translate": 2.0}
    first = random_affine(x, **kwargs, generator=_gen(3))
    assert torch.equal(random_affine(x, **kwargs, generator=_gen(3)), first)
    assert not torch.allclose(random_affine(x, **kwargs, generator=_gen(4)), first)
    torch.manual_seed(3)
    first = random_affine(x, **kwargs)
    torch.manual_seed(3)
    assert torch.equal(random_affine(x, **kwargs), first)


def test_random_affine_shifts_by_at_most_translate_pixels():
    x = _dots(offset=(0.0, 0.0))
    out = random_affine(x, degrees=0.0, translate=2.5, generator=_gen())
    # Bilinear interpolation of a shift keeps mass and moves the centre of mass by the
    # shift exactly, up to float32 rounding and the dot's tail cut at the border (~1e-9).
    torch.testing.assert_close(out.sum(dim=(1, 2, 3)), x.sum(dim=(1, 2, 3)))
    shift = _centre_of_mass(out) - _centre_of_mass(x)
    assert shift.abs().max() <= 2.5 + 1e-4
    assert shift.abs().max() > 1.5  # the draws spread over the range, in pixels
    assert (shift[:, 0] - shift[:, 1]).abs().max() > 0.5  # rows and columns drawn apart


def test_random_affine_rotates_by_at_most_degrees_about_the_centre():
    x = _dots(offset=(0.0, 4.0))  # a dot 4 pixels right of the centre
    out = random_affine(x, degrees=30.0, translate=0.0, generator=_gen())
    rows, cols = _centre_of_mass(out).unbind(1)
    # Interpolation smooths the dot but keeps it on its circle (radius 4) within 0.05 pixel.
    torch.testing.assert_close(torch.hypot(rows, cols), torch.full((32,), 4.0), rtol=0, atol=0.05)
    angle = torch.rad2deg(torch.atan2(rows, cols))
    assert angle.abs().max() <= 30.0 + 1.0  # 0.05 pixel at radius 4 is 0.7 degree
    assert angle.abs().max() > 20.0 and (angle > 0).any() and (angle < 0).any()
