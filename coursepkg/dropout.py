"""Inverted dropout from scratch :cite:p:`srivastava2014dropout`, used by :ref:`ch-dropout`.

In training, each element is kept with probability ``1 − p`` and multiplied by
``1/(1 − p)``, so its expected value is unchanged; in evaluation the layer is
the identity. (The original paper scaled the *weights* by ``1 − p`` at test time
instead; scaling during training, "inverted" dropout, gives the same expected
activations and leaves inference untouched.)
"""

from __future__ import annotations

import torch
from torch import nn

from coursepkg._checks import check_drop_probability, check_type

__all__ = ["Dropout", "dropout"]


def dropout(
    x: torch.Tensor,
    p: float,
    *,
    training: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by ``1/(1 − p)``.

    Parameters
    ----------
    x : torch.Tensor
        Activations of any shape (floating point).
    p : float
        Drop probability in ``[0, 1)``.
    training : bool, default True
        When ``False``, return ``x`` unchanged.
    generator : torch.Generator, optional
        Source of the random mask, for reproducible masks.

    Returns
    -------
    torch.Tensor
        ``x · m / (1 − p)`` with ``m ~ Bernoulli(1 − p)`` element-wise; gradients
        flow only through the kept elements, scaled by ``1/(1 − p)``.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError("x must be a floating-point tensor")
    p = check_drop_probability(p)
    _check_options(training, generator)
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p  # P(keep) = 1 − p
    return x * keep / (1 - p)


def _check_options(training: object, generator: object) -> None:
    check_type(training, bool, "training", "bool")
    if generator is not None:
        check_type(generator, torch.Generator, "generator", "torch.Generator")


class Dropout(nn.Module):
    """Inverted dropout as a layer: active in ``model.train()``, the identity in ``model.eval()``.

    Parameters
    ----------
    p : float, default 0.5
        Drop probability in ``[0, 1)``.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_drop_probability(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply :func:`dropout` in training mode, nothing in evaluation mode."""
        return dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        """Show ``p`` when the model is printed."""
        return f"p={self.p}"
