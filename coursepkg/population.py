"""A population of small networks trained as one batched computation.

A small network on a CPU spends most of a training step on Python and on launching
small operations, not on arithmetic. Stacking the weights of :math:`K` independent
MLPs along a leading *member* dimension turns their :math:`K` matrix products into
one batched product (:func:`torch.baddbmm`): the arithmetic of :math:`K` separate
runs, with the overhead of one. Member :math:`k` is exactly the ``nn.Sequential``
that :meth:`PopulationMLP.member` returns (the tests check outputs and gradients),
so a population is a fast way to run one experiment on several seeds at once
(:ref:`ch-beyond`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from coursepkg._checks import check_drop_probability, check_nonnegative, seeded_generator

__all__ = ["PopulationMLP", "member_losses", "sharpness"]


class PopulationMLP(nn.Module):
    r""":math:`K` independent MLPs ``Linear → [BatchNorm] → ReLU → [Dropout] → … → Linear``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from input to output, at least two, e.g. ``[64, 128, 128, 10]``.
    seeds : sequence of int
        One seed per member: member ``k`` draws its initial weights from
        ``seeds[k]`` alone, as ``nn.Linear`` does (uniform in
        :math:`\pm 1/\sqrt{\text{fan-in}}`), so the same seed gives the same
        network in every population.
    dropout : float, default 0.0
        Drop probability after every hidden activation, in ``[0, 1)``.
    batchnorm : bool, default False
        Batch normalization between every hidden linear layer and its activation,
        with statistics over each member's own batch.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        seeds: Sequence[int],
        dropout: float = 0.0,
        batchnorm: bool = False,
    ):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes must hold at least 2 widths, got {sizes!r}")
        if len(seeds) < 1:
            raise ValueError("seeds must hold one seed per member, got none")
        self.dropout = check_drop_probability(dropout, "dropout")
        generators = [seeded_generator(s, "seeds") for s in seeds]
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            bound = fan_in**-0.5  # member k's layer from seeds[k] alone: (K, in, out), (K, 1, out)
            w = [(2 * torch.rand(fan_in, fan_out, generator=g) - 1) * bound for g in generators]
            b = [(2 * torch.rand(1, fan_out, generator=g) - 1) * bound for g in generators]
            self.weights.append(nn.Parameter(torch.stack(w)))
            self.biases.append(nn.Parameter(torch.stack(b)))
        k = len(seeds)
        hidden = sizes[1:-1]
        self.norms = nn.ModuleList(nn.BatchNorm1d(k * h) for h in hidden) if batchnorm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs ``(K, B, sizes[0])`` to logits ``(K, B, sizes[-1])``."""
        *hidden, (w_out, b_out) = zip(self.weights, self.biases, strict=True)
        for i, (w, b) in enumerate(hidden):
            x = torch.baddbmm(b, x, w)  # (K, B, out): x[k] @ w[k] + b[k] for every member
            if self.norms is not None:  # one channel per (member, unit): statistics over B
                k, n, h = x.shape
                x = self.norms[i](x.transpose(0, 1).reshape(n, k * h))
                x = x.reshape(n, k, h).transpose(0, 1)
            x = F.dropout(torch.relu(x), self.dropout, self.training)
        return torch.baddbmm(b_out, x, w_out)

    def member(self, k: int) -> nn.Sequential:
        """Return member ``k`` as a plain ``nn.Sequential`` holding copies of its weights."""

        def copy(module: nn.Module, **values: torch.Tensor) -> nn.Module:
            with torch.no_grad():
                for name, value in values.items():
                    getattr(module, name).copy_(value)
            return module

        *hidden, (w_out, b_out) = zip(self.weights, self.biases, strict=True)
        layers: list[nn.Module] = []
        for i, (w, b) in enumerate(hidden):
            layers.append(copy(nn.Linear(*w.shape[1:], dtype=w.dtype), weight=w[k].T, bias=b[k, 0]))
            if self.norms is not None:
                norm, h = self.norms[i], w.shape[2]
                part = slice(k * h, (k + 1) * h)
                single = nn.BatchNorm1d(h, momentum=norm.momentum, eps=norm.eps, dtype=w.dtype)
                names = ("weight", "bias", "running_mean", "running_var")
                layers.append(copy(single, **{name: getattr(norm, name)[part] for name in names}))
            layers += [nn.ReLU(), nn.Dropout(self.dropout)]
        out = nn.Linear(*w_out.shape[1:], dtype=w_out.dtype)
        layers.append(copy(out, weight=w_out[k].T, bias=b_out[k, 0]))
        return nn.Sequential(*layers).train(self.training)


def member_losses(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each member: inputs ``(K, N, D)``, labels ``(K, N)`` → ``(K,)``."""
    logits = model(x)  # (K, N, C)
    return F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(dim=1)


@torch.no_grad()
def sharpness(
    model: PopulationMLP,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    radius: float,
    draws: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Mean rise of each member's loss when its weights move in random directions.

    Each weight matrix :math:`W` of member :math:`k` moves by :math:`\delta` drawn
    from a Gaussian and scaled to :math:`\lVert\delta\rVert = \rho
    \lVert W\rVert` (``radius`` :math:`\rho`), layer by layer: a layer-wise
    version of the filter-normalized directions of :cite:t:`li2018visualizing`,
    so that the measure does not change when a whole ReLU layer is rescaled (it
    does change when single units are, :cite:p:`dinh2017sharp`). Evaluation mode
    throughout; the weights are restored.

    Parameters
    ----------
    model : PopulationMLP
        The population to probe.
    x, y : torch.Tensor
        Inputs ``(K, N, D)`` and labels ``(K, N)``, e.g. each member's training set.
    radius : float
        Relative size :math:`\rho > 0` of each layer's perturbation.
    draws : int
        Number of random directions averaged.
    generator : torch.Generator, optional
        Source of the directions.

    Returns
    -------
    torch.Tensor
        ``(K,)``: mean over draws of the loss with perturbed weights minus the loss without.
    """
    if check_nonnegative(radius, "radius") == 0:
        raise ValueError("radius must be > 0, got 0")
    was_training = model.training
    model.eval()
    base = member_losses(model, x, y)
    rise = torch.zeros_like(base)
    originals = [w.clone() for w in model.weights]
    for _ in range(draws):
        for w in model.weights:
            delta = torch.randn(w.shape, generator=generator, dtype=w.dtype)
            scale = radius * w.norm(dim=(1, 2), keepdim=True) / delta.norm(dim=(1, 2), keepdim=True)
            w.add_(delta * scale)
        rise += member_losses(model, x, y) - base
        for w, original in zip(model.weights, originals, strict=True):
            w.copy_(original)
    model.train(was_training)
    return rise / draws
