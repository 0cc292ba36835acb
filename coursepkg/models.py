"""Small models the chapters share."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn

from coursepkg._checks import check_drop_probability
from coursepkg.batchnorm import BatchNorm1d
from coursepkg.dropout import Dropout

__all__ = ["mlp"]


def mlp(
    sizes: Sequence[int],
    *,
    activation: type[nn.Module] = nn.ReLU,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """Build a multilayer perceptron ``Linear → activation → … → Linear``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, at least two, e.g. ``[64, 256, 256, 10]``
        for digits with two hidden layers of 256 units.
    activation : type of torch.nn.Module, default torch.nn.ReLU
        Activation class placed after every linear layer but the last.
    dropout : float, default 0.0
        When ``> 0``, a :class:`~coursepkg.dropout.Dropout` layer with this drop
        probability follows every hidden activation (:ref:`ch-dropout`).
    batch_norm : bool, default False
        Put a :class:`~coursepkg.batchnorm.BatchNorm1d` between every hidden linear
        layer and its activation (:ref:`ch-batchnorm`).

    Returns
    -------
    torch.nn.Sequential
        The network; it outputs logits (no softmax).

    Raises
    ------
    ValueError
        If ``sizes`` holds fewer than 2 widths, or ``dropout`` is not in ``[0, 1)``.
    TypeError
        If ``activation`` is not a module class, e.g. an instance ``nn.ReLU()``, or
        ``dropout`` not a number.
    """
    if len(sizes) < 2:  # one width would build an empty network, the identity
        raise ValueError(f"sizes must hold at least 2 widths, got {sizes!r}")
    if not (isinstance(activation, type) and issubclass(activation, nn.Module)):  # not nn.ReLU()
        raise TypeError(f"activation must be a torch.nn.Module class, got {activation!r}")
    p = check_drop_probability(dropout, "dropout")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(BatchNorm1d(fan_out))
            layers.append(activation())
            if p > 0:
                layers.append(Dropout(p))
    return nn.Sequential(*layers)
