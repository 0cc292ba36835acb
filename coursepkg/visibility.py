r"""Hazy images with a known visibility, generated offline from a physical model.

A clear scene :math:`J` (a crop of one of the two photos scikit-learn ships) is
seen through air with extinction coefficient :math:`\beta` (per km). A pixel at
distance :math:`d` (km) keeps the fraction :math:`t = e^{-\beta d}` of its light
and gains the scattered airlight :math:`A` for the rest (Koschmieder's model, as
used for haze by Narasimhan & Nayar, 2002):

.. math:: I = J\,t + A\,(1 - t), \qquad t = e^{-\beta d}.

The meteorological visibility is the distance at which a black object's contrast
against the horizon falls to 2 %: :math:`V = -\ln(0.02)/\beta \approx 3.912/\beta`
(Koschmieder's law). Each image's :math:`V` is drawn log-uniformly within one of
the classes of :data:`VISIBILITY_CLASSES`.

To keep the task from being solvable by brightness alone, the scene's brightness,
the airlight's level and tint, and the depth layout vary independently of the class.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import torch
from torch.nn import functional as F

from coursepkg._checks import check_positive_int, seeded_generator

__all__ = [
    "KOSCHMIEDER",
    "SCENES",
    "VISIBILITY_CLASSES",
    "VisibilityData",
    "haze",
    "make_visibility_data",
    "visibility_to_beta",
]

KOSCHMIEDER = -math.log(0.02)
"""The constant of Koschmieder's law, :math:`-\\ln 0.02 \\approx 3.912`."""

VISIBILITY_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("dense fog", 0.05, 0.2),
    ("fog", 0.2, 1.0),
    ("haze", 1.0, 4.0),
    ("clear", 4.0, 20.0),
)
"""``(name, lowest, highest visibility in km)`` per class, from densest to clearest."""

_NEAR_KM = 0.03  # the depth of the bottom row
SCENES = ("china", "flower")
"""The photos scikit-learn ships, the clear scenes cropped from; ``scenes=`` takes their indices."""


class VisibilityData(NamedTuple):
    """A generated data set.

    Images ``x`` ``(N, 3, S, S)`` in ``[0, 1]``, class labels ``y`` ``(N,)``,
    visibilities in km ``(N,)`` and the class names, densest first.
    """

    x: torch.Tensor
    y: torch.Tensor
    visibility: torch.Tensor
    classes: tuple[str, ...]


def visibility_to_beta(visibility: torch.Tensor | float) -> torch.Tensor | float:
    """Return the extinction coefficient (per km) of a visibility in km: ``3.912 / V``.

    ``visibility`` is a number or a tensor of them, each ``> 0``.
    """
    if not (torch.as_tensor(visibility) > 0).all():  # 0, negative or NaN
        raise ValueError("visibility must hold distances > 0 (km)")
    return KOSCHMIEDER / visibility


def haze(
    clear: torch.Tensor, depth: torch.Tensor, beta: torch.Tensor, airlight: torch.Tensor
) -> torch.Tensor:
    """Apply the scattering model ``I = J t + A (1 - t)`` with ``t = exp(-beta d)``.

    Parameters
    ----------
    clear : torch.Tensor
        Clear scenes :math:`J`, ``(N, 3, H, W)`` in ``[0, 1]``.
    depth : torch.Tensor
        Distances in km, ``(N, 1, H, W)``.
    beta : torch.Tensor
        Extinction coefficients per km, ``(N,)``.
    airlight : torch.Tensor
        Airlight colours :math:`A`, ``(N, 3)``.

    Returns
    -------
    torch.Tensor
        Hazy images, ``(N, 3, H, W)``.
    """
    t = torch.exp(-beta.view(-1, 1, 1, 1) * depth)  # (N, 1, H, W) transmission
    return clear * t + airlight.view(-1, 3, 1, 1) * (1 - t)


@functools.cache
def _photos() -> torch.Tensor:
    """Return the two photos scikit-learn ships at half size, ``(2, 3, 213, 320)`` in ``[0, 1]``."""
    from sklearn.datasets import load_sample_images

    images = np.stack(load_sample_images().images)  # (2, 427, 640, 3) uint8
    photos = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return F.interpolate(photos, scale_factor=0.5, mode="area")


def _clear_scenes(
    n: int, size: int, generator: torch.Generator, scenes: tuple[int, ...] = (0, 1)
) -> torch.Tensor:
    """Random crops (side 50 to 200 px) of the photos ``scenes``, flipped at random, resized."""
    photos = _photos()[list(scenes)]
    _, _, height, width = photos.shape
    scenes = torch.empty(n, 3, size, size)
    for i in range(n):
        side = int(torch.randint(50, 201, (1,), generator=generator))
        top = int(torch.randint(0, height - side + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - side + 1, (1,), generator=generator))
        photo = int(torch.randint(0, len(photos), (1,), generator=generator))
        crop = photos[photo : photo + 1, :, top : top + side, left : left + side]
        scenes[i] = F.interpolate(crop, size=(size, size), mode="area")[0]
    flip = torch.rand(n, generator=generator) < 0.5
    scenes[flip] = scenes[flip].flip(-1)
    return scenes


def _depth_maps(
    n: int, size: int, generator: torch.Generator, horizon_km: tuple[float, float] = (1.0, 3.0)
) -> torch.Tensor:
    """Depth rising from the bottom row to a horizon at ``horizon_km`` (a log-uniform range)."""
    rows = torch.linspace(1, 0, size).view(1, size, 1)  # 1 at the top, 0 at the bottom
    horizon = 0.4 + 0.6 * torch.rand(n, 1, 1, generator=generator)  # the top fraction is sky
    low, high = (math.log(km) for km in horizon_km)
    far = torch.exp(low + (high - low) * torch.rand(n, 1, 1, generator=generator))
    fraction = (rows / horizon).clamp(max=1)  # 0 at the bottom, 1 from the horizon up
    depth = _NEAR_KM * (far / _NEAR_KM) ** fraction  # (N, S, 1): geometric in the row
    return depth.expand(n, size, size).unsqueeze(1).contiguous()


def make_visibility_data(
    n: int,
    *,
    image_size: int = 32,
    seed: int = 0,
    classes: tuple[tuple[str, float, float], ...] = VISIBILITY_CLASSES,
    scenes: tuple[int, ...] = (0, 1),
    horizon_km: tuple[float, float] = (1.0, 3.0),
) -> VisibilityData:
    """Generate ``n`` hazy images, balanced over the visibility classes.

    Parameters
    ----------
    n : int
        Number of images, ``>= 1``; class ``i`` gets image ``j`` when ``j % len(classes) == i``.
    image_size : int, default 32
        Side of the square images.
    seed : int, default 0
        The same seed gives the same images.
    classes : tuple of tuple
        Visibility bins ``(name, lowest, highest)`` in km, ascending and adjacent.
    scenes : tuple of int, optional
        Which photos of :data:`SCENES` the clear scenes are cropped from (both by
        default); give disjoint ones to training and test images to test on a
        scene never seen.
    horizon_km : tuple of float, optional
        Range of the distance of the horizon, drawn log-uniformly per image
        (``(1.0, 3.0)`` by default); a fixed camera, whose geometry is known, has
        one distance: ``(2.0, 2.0)``.

    Returns
    -------
    VisibilityData
        The images in ``[0, 1]``, the labels, the visibilities and the class names.
    """
    n = check_positive_int(n, "n")
    if not classes or not all(0 < low < high < math.inf for _, low, high in classes):
        raise ValueError(
            "classes must be a non-empty tuple of (name, lowest, highest) in km, "
            f"with 0 < lowest < highest < inf, got {classes!r}"
        )
    if not scenes or not set(scenes) <= set(range(len(SCENES))):
        raise ValueError(f"scenes must be indices into SCENES {SCENES}, got {scenes!r}")
    if not _NEAR_KM < horizon_km[0] <= horizon_km[1] < math.inf:
        raise ValueError(
            f"horizon_km must be (lowest, highest) with {_NEAR_KM} < lowest <= highest, "
            f"got {horizon_km!r}"
        )
    generator = seeded_generator(seed)
    y = torch.arange(n) % len(classes)
    y = y[torch.randperm(n, generator=generator)]
    bounds = torch.tensor([[low, high] for _, low, high in classes]).log()[y]  # (N, 2)
    visibility = torch.exp(
        bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * torch.rand(n, generator=generator)
    )
    brightness = 0.5 + 0.7 * torch.rand(n, 1, 1, 1, generator=generator)
    clear = (_clear_scenes(n, image_size, generator, scenes) * brightness).clamp(0, 1)
    depth = _depth_maps(n, image_size, generator, horizon_km)
    level = 0.55 + 0.45 * torch.rand(n, 1, generator=generator)
    tint = 1 + 0.08 * (torch.rand(n, 3, generator=generator) - 0.5)
    airlight = (level * tint).clamp(0, 1)
    images = haze(clear, depth, visibility_to_beta(visibility), airlight)
    images = images + 0.01 * torch.randn(images.shape, generator=generator)  # sensor noise
    return VisibilityData(images.clamp(0, 1), y, visibility, tuple(name for name, _, _ in classes))
