"""Soft targets: label smoothing and mixup, and the cross-entropy they are trained with.

Both replace a one-hot target by a probability vector: label smoothing mixes it
with the uniform distribution :cite:p:`szegedy2016rethinking`, mixup with the
target of another example, while mixing the inputs the same way
:cite:p:`zhang2018mixup` (:ref:`ch-beyond`).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from coursepkg._checks import check_fraction

__all__ = ["mixup", "smooth_labels", "soft_cross_entropy"]


def smooth_labels(
    labels: torch.Tensor, num_classes: int, smoothing: float, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""Return :math:`q = (1 - \varepsilon)\,\text{onehot}(y) + \varepsilon / C`.

    Parameters
    ----------
    labels : torch.Tensor
        Integer labels of any shape, in ``0 .. num_classes - 1``.
    num_classes : int
        Number of classes :math:`C`.
    smoothing : float
        :math:`\varepsilon` in ``[0, 1]``.
    dtype : torch.dtype, default torch.float32
        Floating-point type of the targets.

    Returns
    -------
    torch.Tensor
        Targets of shape ``(*labels.shape, num_classes)`` whose rows sum to 1.
    """
    eps = check_fraction(smoothing, "smoothing")
    return (1 - eps) * F.one_hot(labels, num_classes).to(dtype) + eps / num_classes


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Mean of :math:`-\sum_c q_c \log \operatorname{softmax}(z)_c` over examples.

    Parameters
    ----------
    logits : torch.Tensor
        Logits :math:`z` of shape ``(..., C)``.
    targets : torch.Tensor
        Probabilities :math:`q` of the same shape.

    Returns
    -------
    torch.Tensor
        The scalar loss.
    """
    if logits.shape != targets.shape:  # (N, C) against (N,) labels would broadcast
        raise ValueError(
            f"targets must be probabilities shaped like logits {tuple(logits.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    return -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def mixup(
    x: torch.Tensor, targets: torch.Tensor, lam: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mix each example with the next one in the batch, eq. (1) of :cite:t:`zhang2018mixup`.

    :math:`\tilde x_i = \lambda_i x_i + (1 - \lambda_i)\, x_{i-1}` and the same for
    the targets. In a shuffled batch the previous example is a random partner.

    Parameters
    ----------
    x : torch.Tensor
        Inputs ``(..., B, D)``: a batch of ``B`` flat examples, with any leading dimensions.
    targets : torch.Tensor
        Probabilities ``(..., B, C)``, e.g. one-hot or smoothed labels.
    lam : torch.Tensor
        Mixing weights ``(..., B)`` in ``[0, 1]``, e.g. drawn from
        :math:`\mathrm{Beta}(\alpha, \alpha)`.

    Returns
    -------
    tuple of torch.Tensor
        The mixed inputs and targets.
    """
    if lam.shape != x.shape[:-1] or targets.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"x (..., B, D), targets (..., B, C) and lam (..., B) must agree, got shapes "
            f"{tuple(x.shape)}, {tuple(targets.shape)} and {tuple(lam.shape)}"
        )
    lam = lam.unsqueeze(-1)  # (..., B, 1)
    mixed_x = lam * x + (1 - lam) * x.roll(1, dims=-2)
    mixed_targets = lam * targets + (1 - lam) * targets.roll(1, dims=-2)
    return mixed_x, mixed_targets
