"""Batch normalization from scratch :cite:p:`ioffe2015batch`, used by :ref:`ch-batchnorm`.

The layers have torch's attributes and ``state_dict`` keys (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``), so their state loads
into ``torch.nn.BatchNorm1d/2d`` and back.
"""

from __future__ import annotations

import torch
from torch import nn

from coursepkg._checks import check_fraction, check_nonnegative, check_positive_int, check_type

__all__ = ["BatchNorm1d", "BatchNorm2d", "normalize"]


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
    eps = _check_normalize_arguments(x, mean, var, eps, eps_inside_root)
    shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast (C,) over (N, C, ...)
    mean, var = mean.view(shape), var.view(shape)
    scale = torch.sqrt(var + eps) if eps_inside_root else torch.sqrt(var) + eps
    return (x - mean) / scale


def _check_normalize_arguments(
    x: object, mean: object, var: object, eps: object, eps_inside_root: object
) -> float:
    """Check the arguments of :func:`normalize`; return ``eps`` as a float."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        kind = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"x must be a floating-point tensor (N, C, ...), got {kind}")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, C, ...), got {tuple(x.shape)}")
    for name, statistic in (("mean", mean), ("var", var)):
        if not isinstance(statistic, torch.Tensor):
            kind = type(statistic).__name__
            raise TypeError(f"{name} must be a tensor of shape (C,), got {kind}")
        if statistic.shape != x.shape[1:2]:
            raise ValueError(
                f"{name} must have shape (C,) = ({x.shape[1]},), got {tuple(statistic.shape)}"
            )
    check_type(eps_inside_root, bool, "eps_inside_root", "bool")
    return check_nonnegative(eps, "eps")


class _BatchNorm(nn.Module):
    """Shared code of :class:`BatchNorm1d` and :class:`BatchNorm2d`."""

    _ranks: tuple[int, ...] = ()
    _shapes = ""

    def __init__(
        self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True
    ):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_nonnegative(eps, "eps")
        self.momentum = check_fraction(momentum, "momentum")
        check_type(affine, bool, "affine", "bool")
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
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a tensor of shape {self._shapes}, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
        if x.ndim not in self._ranks:
            raise ValueError(f"x must have shape {self._shapes}, got {x.ndim} dimensions")
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"x must have {self.num_features} channels (dimension 1), "
                f"got shape {tuple(x.shape)}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize with batch statistics in training, running statistics in evaluation."""
        self._check_input(x)
        if self.training:
            dims = [0, *range(2, x.ndim)]  # every dimension but the channel
            n = x.numel() // self.num_features  # values per channel
            if n < 2:
                raise ValueError(
                    "x must have more than 1 value per channel in training, to compute a "
                    f"variance, got shape {tuple(x.shape)}"
                )
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
