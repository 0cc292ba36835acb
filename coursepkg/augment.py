"""Data augmentation on whole batches: random flips, crops and colour jitter.

Each transform takes a batch ``(N, C, H, W)`` and a :class:`torch.Generator` and
draws its randomness per image from that generator, so an augmented run is
reproducible. :class:`AugmentedLoader` applies a list of them to every training
batch a loader yields.

Whether a transform *preserves the label* depends on the task: a mirrored street
scene is as foggy as the original, but lowering an image's contrast makes it look
foggier, which is the very cue a visibility classifier must read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch.nn import functional as F

from coursepkg._checks import (
    check_fraction,
    check_loader,
    check_positive_int,
    check_type,
    seeded_generator,
)

__all__ = ["AugmentedLoader", "color_jitter", "random_crop", "random_flip"]

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

# ITU-R BT.601 luma weights, the grayscale that contrast is measured against.
_LUMA = (0.299, 0.587, 0.114)


def _check_images(x: torch.Tensor, generator: torch.Generator) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a batch of images (N, C, H, W), got {shape}")
    if x.numel() == 0:
        raise ValueError(f"x must hold at least one image of one pixel, got shape {tuple(x.shape)}")
    check_type(generator, torch.Generator, "generator", "torch.Generator")


def random_flip(x: torch.Tensor, generator: torch.Generator, *, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(N, C, H, W)``.
    generator : torch.Generator
        Source of the per-image coin flips.
    p : float, default 0.5
        Probability of a flip, in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape.
    """
    _check_images(x, generator)
    check_fraction(p, "p")
    flip = torch.rand(len(x), generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_crop(x: torch.Tensor, generator: torch.Generator, *, padding: int) -> torch.Tensor:
    """Pad each image by reflection, then cut a window of the original size at random.

    The result is the image shifted by up to ``padding`` pixels in each
    direction, with mirrored content filling the border.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(N, C, H, W)`` with ``H, W > padding``.
    generator : torch.Generator
        Source of the per-image offsets.
    padding : int
        Largest shift in pixels, ``>= 0``; 0 returns a copy.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape.
    """
    _check_images(x, generator)
    padding = check_positive_int(padding, "padding", minimum=0)
    n, c, h, w = x.shape
    if padding >= min(h, w):
        raise ValueError(f"padding must be smaller than the image side {min(h, w)}, got {padding}")
    padded = F.pad(x, (padding,) * 4, mode="reflect")
    top, left = torch.randint(0, 2 * padding + 1, (2, n, 1), generator=generator)
    rows = (top + torch.arange(h))[:, None, :, None]  # (N, 1, H, 1)
    cols = (left + torch.arange(w))[:, None, None, :]  # (N, 1, 1, W)
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[:, None, None], rows, cols]


def color_jitter(
    x: torch.Tensor, generator: torch.Generator, *, brightness: float, contrast: float
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
    generator : torch.Generator
        Source of the per-image factors.
    brightness, contrast : float
        Largest relative change, each in ``[0, 1]``; 0 leaves that property alone.

    Returns
    -------
    torch.Tensor
        A new batch of the same shape, in ``[0, 1]``.
    """
    _check_images(x, generator)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 (RGB) channels, got {x.shape[1]}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor with values in [0, 1], got {x.dtype}")
    factors = []
    for name, value in (("brightness", brightness), ("contrast", contrast)):
        check_fraction(value, name)
        factors.append(1 + value * (2 * torch.rand(len(x), 1, 1, 1, generator=generator) - 1))
    x = (x * factors[0]).clamp(0, 1)
    gray = torch.tensordot(x, torch.tensor(_LUMA, dtype=x.dtype), dims=([1], [0]))
    mean = gray.mean(dim=(1, 2))[:, None, None, None]
    return (mean + factors[1] * (x - mean)).clamp(0, 1)


class AugmentedLoader:
    """Apply ``transforms`` (then ``normalize``) to every batch of ``loader``.

    Parameters
    ----------
    loader : iterable of tuple
        The ``(inputs, targets)`` batches to augment, e.g. from :func:`coursepkg.data.make_loader`.
    transforms : sequence of callables
        Each ``transform(x, generator) -> x``, applied in order; use
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
        transforms: Sequence[Transform],
        *,
        normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
        seed: int = 0,
    ):
        if (
            isinstance(transforms, (str, bytes))
            or not isinstance(transforms, Sequence)
            or not all(callable(t) for t in transforms)
        ):
            raise TypeError("transforms must be a sequence of callables f(x, generator)")
        check_loader(loader, "loader")
        if normalize is not None and not callable(normalize):
            kind = type(normalize).__name__
            raise TypeError(f"normalize must be a callable x -> x or None, got {kind}")
        self.loader, self.transforms, self.normalize = loader, tuple(transforms), normalize
        self.generator = seeded_generator(seed)

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            for transform in self.transforms:
                x = transform(x, self.generator)
            yield (x if self.normalize is None else self.normalize(x)), y
