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

from coursepkg._checks import check_drop_probability

__all__ = ["Dropout", "dropout"]


def dropout(
    x: torch.Tensor, p: float, *, training: bool = True, generator: torch.Generator | None = None
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

    Raises
    ------
    ValueError
        If ``p`` is not in ``[0, 1)``: ``p = 1`` would divide by zero.
    TypeError
        If ``p`` is not a real number.
    """
    check_drop_probability(p)
    if not training or p == 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p  # P(keep) = 1 − p
    return x * keep / (1 - p)


class Dropout(nn.Module):
    """Inverted dropout as a layer: active in ``model.train()``, the identity in ``model.eval()``.

    Parameters
    ----------
    p : float, default 0.5
        Drop probability in ``[0, 1)``, checked here as in :func:`dropout`.
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
