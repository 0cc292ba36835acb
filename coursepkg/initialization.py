"""Weight initialization from the formulas, and per-layer signal statistics.

Xavier/Glorot :cite:p:`glorot2010understanding`, Kaiming/He
:cite:p:`he2015delving`, orthogonal :cite:p:`saxe2014exact` and LSUV
:cite:p:`mishkin2016all` schemes, written out so that :ref:`ch-init` can show
where each scale comes from. Each function fills its tensor in place, like
``torch.nn.init``, and returns it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = [
    "LayerStats",
    "calculate_gain",
    "fan_in_and_fan_out",
    "kaiming_normal_",
    "kaiming_uniform_",
    "layer_statistics",
    "lsuv_",
    "orthogonal_",
    "xavier_normal_",
    "xavier_uniform_",
]

_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def calculate_gain(nonlinearity: str) -> float:
    """Return the factor that keeps the signal's variance for ``nonlinearity``.

    ``relu``: √2, because a ReLU keeps half of a symmetric input's second moment;
    ``tanh``: 5/3, PyTorch's choice; ``linear`` and ``sigmoid``: 1.
    """
    if nonlinearity not in _GAINS:
        raise ValueError(f"nonlinearity must be one of {sorted(_GAINS)}, got {nonlinearity!r}")
    return _GAINS[nonlinearity]


def fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``.

    For a linear weight ``(out, in)`` they are ``in`` and ``out``; for a
    convolution each is multiplied by the kernel's size (the receptive field):
    every output sums ``in × k_h × k_w`` products.

    Raises
    ------
    ValueError
        If ``tensor`` has fewer than 2 dimensions, e.g. a bias.
    """
    _check_weight(tensor)
    n_out, n_in, *kernel = tensor.shape
    receptive_field = math.prod(kernel)  # 1 for a linear weight
    return n_in * receptive_field, n_out * receptive_field


def _check_weight(tensor: torch.Tensor) -> None:
    # A bias is the likely mistake; unpacking its shape would fail without a word of fans.
    if tensor.ndim < 2:
        raise ValueError(
            "tensor must have at least 2 dimensions (out, in, *kernel) to have fans, "
            f"got shape {tuple(tensor.shape)}: a bias has none"
        )


def _fan(tensor: torch.Tensor, mode: str) -> int:
    """Return the fan that ``mode`` names."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: torch.Tensor, *, gain: float = 1.0) -> torch.Tensor:
    """Fill with ``U(−a, a)``, ``a = gain·√(6 / (fan_in + fan_out))``.

    Its standard deviation ``a/√3`` equals :func:`xavier_normal_`'s.
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def xavier_normal_(tensor: torch.Tensor, *, gain: float = 1.0) -> torch.Tensor:
    """Fill with ``N(0, σ²)``, ``σ = gain·√(2 / (fan_in + fan_out))``.

    Glorot's compromise between keeping the forward and the backward variance.
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.normal_(0.0, std)


def kaiming_normal_(
    tensor: torch.Tensor, *, nonlinearity: str = "relu", mode: str = "fan_in"
) -> torch.Tensor:
    """Fill with ``N(0, σ²)``, ``σ = gain/√fan``; for ReLU ``σ = √(2/fan_in)`` (He et al.).

    ``mode="fan_in"`` keeps the forward pass's variance, ``"fan_out"`` the backward pass's.
    """
    std = calculate_gain(nonlinearity) / math.sqrt(_fan(tensor, mode))  # √2/√fan for ReLU
    with torch.no_grad():
        return tensor.normal_(0.0, std)


def kaiming_uniform_(
    tensor: torch.Tensor, *, nonlinearity: str = "relu", mode: str = "fan_in"
) -> torch.Tensor:
    """Fill with ``U(−√3·σ, √3·σ)``: the same std as :func:`kaiming_normal_`."""
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity) / math.sqrt(_fan(tensor, mode))
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def orthogonal_(tensor: torch.Tensor, *, gain: float = 1.0) -> torch.Tensor:
    """Fill with ``gain·Q``, ``Q`` a random orthogonal matrix (Saxe et al.).

    A weight ``(out, in, *kernel)`` is flattened to ``(out, in·k)``; its rows (or
    its columns, whichever are fewer) come out orthonormal, so every singular value
    is ``gain``. ``Q`` is the QR factor of a Gaussian matrix with the signs of
    ``diag(R)`` folded in, which makes it uniform (Haar) over orthogonal matrices.
    Same draws as ``torch.nn.init.orthogonal_``.
    """
    _check_weight(tensor)
    rows, cols = tensor.shape[0], tensor.numel() // tensor.shape[0]
    a = tensor.new_empty(rows, cols).normal_(0.0, 1.0)  # (rows, cols)
    if rows < cols:
        a = a.t()  # QR needs a tall matrix
    q, r = torch.linalg.qr(a)
    q = q * torch.diag(r).sign()  # without this Q is not uniform
    if rows < cols:
        q = q.t()
    with torch.no_grad():
        return tensor.copy_(gain * q.reshape(tensor.shape))


def lsuv_(
    model: nn.Module,
    x: torch.Tensor,
    *,
    layer_type: type[nn.Module] | tuple = (nn.Linear, nn.Conv2d),
) -> list[float]:
    """Layer-sequential unit-variance initialization (Mishkin & Matas), in place.

    Every layer of ``layer_type`` gets an orthogonal weight and a zero bias; then,
    in the order of the forward pass on the batch ``x``, each weight is divided by
    the standard deviation of its layer's output, so that each output has variance 1
    on ``x`` given the layers before it. The output is linear in the weight when the
    bias is zero, so one division reaches variance 1; the paper iterates because its
    layers may keep a bias. Returns each layer's output variance before its rescaling.
    """
    layers = [m for m in model.modules() if isinstance(m, layer_type)]
    if not layers:
        raise ValueError(f"model has no layer of type {layer_type} to initialize")
    for layer in layers:
        orthogonal_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    variances: list[float] = []

    def rescale(module: nn.Module, _inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        std = out.std()  # over the batch and the units
        variances.append(std.item() ** 2)
        module.weight.div_(std)
        return out / std  # what the rescaled layer computes: the next layers see it

    hooks = [layer.register_forward_hook(rescale) for layer in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return variances


@dataclass
class LayerStats:
    """Per-layer statistics of one forward and backward pass, ready to plot."""

    names: list[str] = field(default_factory=list)
    activation_mean: list[float] = field(default_factory=list)
    activation_std: list[float] = field(default_factory=list)
    """Standard deviation of each layer's output, pooled over samples and units."""
    activation_spread: list[float] = field(default_factory=list)
    """Each unit's standard deviation across the samples, averaged over the units.

    It is 0 when the layer computes the same output whatever the input: the part of
    the signal that still tells the inputs apart."""
    gradient_norm: list[float] = field(default_factory=list)
    """Norm of the loss's gradient with respect to each layer's weight."""
    output_gradient_rms: list[float] = field(default_factory=list)
    """Root mean square of the loss's gradient with respect to each layer's output."""
    activations: list[torch.Tensor] = field(default_factory=list)
    """Each watched layer's output, detached, for histograms."""


def layer_statistics(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, layer_type: type[nn.Module] = nn.Linear
) -> LayerStats:
    """Run ``model`` on ``(x, y)`` once, forward and backward, and record per-layer statistics.

    Forward hooks on every module of ``layer_type`` record the activation each
    produces (before the non-linearity that follows it); after the backward pass
    of the cross-entropy loss, the gradient of the loss with respect to each such
    layer's output and weight is read. The model's gradients are zeroed afterwards.
    """
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, layer_type)]
    if not layers:
        raise ValueError(
            f"model has no {layer_type.__name__} layer to watch: layer_type must be a class "
            "of layers the model holds"
        )
    outputs: dict[int, torch.Tensor] = {}  # layer index → its (last) output

    def keep(index: int):
        def hook(_module: nn.Module, _inputs: tuple, out: torch.Tensor) -> None:
            if out.requires_grad:
                out.retain_grad()  # ∂loss/∂out, the backward signal at this layer
            outputs[index] = out

        return hook

    hooks = [module.register_forward_hook(keep(i)) for i, (_, module) in enumerate(layers)]
    try:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
    finally:
        for hook in hooks:
            hook.remove()
    stats = LayerStats()
    for i, (name, module) in enumerate(layers):
        if i not in outputs or module.weight.grad is None:
            raise ValueError(f"layer {name!r} took no part in the forward pass")
        out = outputs[i].detach()  # (N, units) or (N, C, H, W)
        stats.names.append(name)
        stats.activations.append(out)
        stats.activation_mean.append(out.mean().item())
        stats.activation_std.append(out.std().item())
        stats.activation_spread.append(out.std(dim=0).mean().item())
        stats.gradient_norm.append(module.weight.grad.norm().item())
        grad = outputs[i].grad.double()  # float64: a vanished gradient squared underflows float32
        stats.output_gradient_rms.append(grad.pow(2).mean().sqrt().item())
    model.zero_grad(set_to_none=True)
    return stats
