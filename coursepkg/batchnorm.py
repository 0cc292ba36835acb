"""Batch normalization from scratch :cite:p:`ioffe2015batch`, used by :ref:`ch-batchnorm`.

The layers have torch's attributes and ``state_dict`` keys (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``), so their state loads
into ``torch.nn.BatchNorm1d/2d`` and back.
"""

from __future__ import annotations

import torch
from torch import nn

from coursepkg._checks import check_fraction, check_nonnegative

__all__ = ["BatchNorm1d", "BatchNorm2d", "group_norm", "normalize"]


def normalize(
    x: torch.Tensor,
    mean: torch.Tensor,
    var: torch.Tensor,
    *,
    eps: float,
    eps_inside_root: bool = True,
) -> torch.Tensor:
    """Return ``(x − mean) / √(var + ε)`` per channel (dimension 1).

    ``eps_inside_root=False`` computes ``(x − mean) / (√var + ε)`` instead, the
    formula of one of the course's source documents, to measure the difference.
    """
    shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast (C,) over (N, C, ...)
    mean, var = mean.view(shape), var.view(shape)
    scale = torch.sqrt(var + eps) if eps_inside_root else torch.sqrt(var) + eps
    return (x - mean) / scale


def group_norm(x: torch.Tensor, num_groups: int, *, eps: float = 1e-5) -> torch.Tensor:
    """Normalize each sample over groups of channels :cite:p:`wu2018group` (no γ, β).

    ``x`` is ``(N, C, ...)``; the ``C`` channels form ``num_groups`` groups of
    ``C / num_groups``, and each sample is normalized with the mean and biased variance
    of its own group (over those channels and every position). No statistic mixes
    samples, so the result does not depend on the batch. ``num_groups=1`` is layer
    normalization :cite:p:`ba2016layer`; ``num_groups=C`` is instance normalization.

    Raises
    ------
    ValueError
        If ``num_groups`` does not divide the number of channels.
    """
    n, c = x.shape[:2]
    if not isinstance(num_groups, int) or num_groups < 1 or c % num_groups:
        raise ValueError(f"num_groups must divide the {c} channels, got {num_groups!r}")
    groups = x.reshape(n, num_groups, -1)  # (N, G, C/G · positions)
    mean = groups.mean(dim=2, keepdim=True)  # (N, G, 1): one statistic per sample and group
    var = groups.var(dim=2, correction=0, keepdim=True)
    return ((groups - mean) / torch.sqrt(var + eps)).reshape(x.shape)


class _BatchNorm(nn.Module):
    """Shared code of :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _ranks: tuple[int, ...] = ()
    _shapes = ""

    def __init__(
        self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True
    ):
        super().__init__()
        self.num_features = num_features
        self.eps = check_nonnegative(eps, "eps")
        self.momentum = check_fraction(momentum, "momentum")
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))  # γ
            self.bias = nn.Parameter(torch.zeros(num_features))  # β
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _check_input(self, x: torch.Tensor) -> None:
        # Both would otherwise fail silently: a wrong shape broadcasts against the (C,)
        # statistics, and a single value per channel has variance 0 (and n − 1 = 0).
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(
                f"x must have shape {self._shapes} with C = {self.num_features}, "
                f"got {tuple(x.shape)}"
            )
        if self.training and x.numel() // self.num_features < 2:
            raise ValueError(
                "x must have more than 1 value per channel in training, to compute a "
                f"variance, got shape {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize with batch statistics in training, running statistics in evaluation.

        Raises
        ------
        ValueError
            If ``x`` is not ``(N, C, ...)`` of the layer's rank with ``C = num_features``,
            or, in training, has a single value per channel (a variance of 0).
        """
        self._check_input(x)
        if self.training:
            dims = [0, *range(2, x.ndim)]  # every dimension but the channel
            n = x.numel() // self.num_features  # values per channel
            mean = x.mean(dim=dims)  # (C,)
            var = x.var(dim=dims, correction=0)  # (C,) biased: what normalizes the batch
            with torch.no_grad():  # the running variance is unbiased: n/(n − 1)
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = normalize(x, mean, var, eps=self.eps)
        if not self.affine:
            return x_hat
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return x_hat * self.weight.view(shape) + self.bias.view(shape)  # γ·x̂ + β

    def extra_repr(self) -> str:
        """Show the settings when the model is printed."""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over ``(N, C)`` or ``(N, C, L)`` inputs, per channel ``C``."""

    _ranks = (2, 3)
    _shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over ``(N, C, H, W)`` inputs, per channel ``C``."""

    _ranks = (4,)
    _shapes = "(N, C, H, W)"
