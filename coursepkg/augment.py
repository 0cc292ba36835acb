"""Data augmentation on whole batches: random flips, crops and colour jitter.

Each transform takes a batch ``(N, C, H, W)`` and draws its randomness per image
from ``generator`` (torch's global generator when ``None``), as torch's own random
functions do. :class:`AugmentedLoader` applies a list of them to every training
batch a loader yields, with one seeded generator, so an augmented run is
reproducible.

Whether a transform *preserves the label* depends on the task: a mirrored street
scene is as foggy as the original, but lowering an image's contrast makes it look
foggier, which is the very cue a visibility classifier must read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch.nn import functional as F

from coursepkg._checks import check_fraction, check_loader, check_nonnegative, seeded_generator

__all__ = ["AugmentedLoader", "color_jitter", "random_affine", "random_crop", "random_flip"]

# ITU-R BT.601 luma weights, the grayscale that contrast is measured against.
_LUMA = (0.299, 0.587, 0.114)


def random_flip(
    x: torch.Tensor, *, p: float = 0.5, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(N, C, H, W)``.
    p : float, default 0.5
        Probability of a flip, in ``[0, 1]``.
    generator : torch.Generator, optional
        Source of the per-image coin flips; torch's global generator if ``None``.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape.
    """
    if x.ndim != 4:  # one image (C, H, W) would broadcast against its C coin flips
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    check_fraction(p, "p")
    flip = torch.rand(len(x), generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_crop(
    x: torch.Tensor, *, padding: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pad each image by reflection, then cut a window of the original size at random.

    The result is the image shifted by up to ``padding`` pixels in each
    direction, with mirrored content filling the border.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(N, C, H, W)`` with ``H, W > padding``.
    padding : int
        Largest shift in pixels, ``>= 0``; 0 returns a copy.
    generator : torch.Generator, optional
        Source of the per-image offsets; torch's global generator if ``None``.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape.
    """
    n, c, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, mode="reflect")
    top, left = torch.randint(0, 2 * padding + 1, (2, n, 1), generator=generator)
    rows = (top + torch.arange(h))[:, None, :, None]  # (N, 1, H, 1)
    cols = (left + torch.arange(w))[:, None, None, :]  # (N, 1, 1, W)
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[:, None, None], rows, cols]


def random_affine(
    x: torch.Tensor,
    *,
    degrees: float,
    translate: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Rotate each image by a random angle and shift it by a random offset.

    The angle is uniform in ``[-degrees, degrees]``, each offset uniform in
    ``[-translate, translate]`` pixels; pixels from outside the image are 0 and the
    rest are interpolated bilinearly (:func:`torch.nn.functional.grid_sample`).
    A background of 0 suits images like the digits, dark strokes on nothing.

    Parameters
    ----------
    x : torch.Tensor
        Square images ``(N, C, H, H)``.
    degrees : float
        Largest rotation, ``>= 0``.
    translate : float
        Largest shift in pixels, ``>= 0``.
    generator : torch.Generator, optional
        Source of the per-image angles and offsets; torch's global generator if ``None``.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape.
    """
    if x.ndim != 4 or x.shape[2] != x.shape[3]:  # a rotation in [-1, 1]² coordinates would shear
        raise ValueError(f"x must be square images (N, C, H, H), got shape {tuple(x.shape)}")
    check_nonnegative(degrees, "degrees")
    check_nonnegative(translate, "translate")
    n, size = len(x), x.shape[-1]
    angle = math.radians(degrees) * (2 * torch.rand(n, generator=generator) - 1)
    offset = translate * (2 * torch.rand(n, 2, generator=generator) - 1)  # pixels
    shift = offset * 2 / size  # in the [-1, 1] units of affine_grid
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)  # (N, H, H, 2)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False)


def color_jitter(
    x: torch.Tensor,
    *,
    brightness: float,
    contrast: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Scale each image's brightness and contrast by random factors.

    With factors :math:`b, c` drawn uniformly from :math:`[1 - \text{brightness},
    1 + \text{brightness}]` and :math:`[1 - \text{contrast}, 1 + \text{contrast}]`,
    the image becomes :math:`x' = \operatorname{clip}(b x)` and then
    :math:`\operatorname{clip}(\bar g + c\,(x' - \bar g))`, where :math:`\bar g` is
    the mean of the image's grayscale (the definitions torchvision's
    ``ColorJitter`` uses).

    Parameters
    ----------
    x : torch.Tensor
        RGB images ``(N, 3, H, W)`` with values in ``[0, 1]``.
    brightness, contrast : float
        Largest relative change, each in ``[0, 1]``; 0 leaves that property alone.
    generator : torch.Generator, optional
        Source of the per-image factors; torch's global generator if ``None``.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape, in ``[0, 1]``.
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be RGB images (N, 3, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():  # 0–255 integers would all clamp to white
        raise TypeError(f"x must hold floats in [0, 1], got {x.dtype}")
    check_fraction(brightness, "brightness")
    check_fraction(contrast, "contrast")
    b = 1 + brightness * (2 * torch.rand(len(x), 1, 1, 1, generator=generator) - 1)
    c = 1 + contrast * (2 * torch.rand(len(x), 1, 1, 1, generator=generator) - 1)
    x = (x * b).clamp(0, 1)
    gray = torch.tensordot(x, torch.tensor(_LUMA, dtype=x.dtype), dims=([1], [0]))
    mean = gray.mean(dim=(1, 2))[:, None, None, None]
    return (mean + c * (x - mean)).clamp(0, 1)


class AugmentedLoader:
    """Apply ``transforms`` (then ``normalize``) to every batch of ``loader``.

    Parameters
    ----------
    loader : iterable of tuple
        The ``(inputs, targets)`` batches to augment, e.g. from :func:`coursepkg.data.make_loader`.
    transforms : sequence of callables
        Each ``transform(x, generator=generator) -> x``, applied in order; use
        :func:`functools.partial` to fix their options.
    normalize : callable, optional
        ``normalize(x) -> x`` applied last, e.g. standardization with the
        training set's channel means.
    seed : int, default 0
        Seed of the generator all transforms draw from.
    """

    def __init__(
        self,
        loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
        transforms: Sequence[Callable[..., torch.Tensor]],
        *,
        normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
        seed: int = 0,
    ):
        check_loader(loader, "loader")
        self.loader, self.transforms, self.normalize = loader, tuple(transforms), normalize
        self.generator = seeded_generator(seed)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            for transform in self.transforms:
                x = transform(x, generator=self.generator)
            yield (x if self.normalize is None else self.normalize(x)), y
