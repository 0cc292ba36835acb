"""Weight penalties: L1, L2, elastic net and L2-SP, the proximal step of L1, decay groups.

Used by :ref:`ch-penalties` (L2-SP by the ResNet-50 chapter). A penalty is added to the data loss,
``J(w) = L(w) + λ·Ω(w)``; :class:`WeightPenalty` packages ``λ·Ω`` as the
``penalty`` callable of :func:`coursepkg.training.fit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from coursepkg._checks import check_fraction, check_nonnegative, tensor_list

__all__ = [
    "L2SP",
    "WeightPenalty",
    "decay_param_groups",
    "elastic_net_penalty",
    "l1_penalty",
    "l2_penalty",
    "soft_threshold_",
    "split_decay_parameters",
]


def l1_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Return ``Ω₁(w) = Σ|wᵢ|`` over every entry of every tensor in ``params``.

    Its gradient is ``sign(w)``: the same size for every non-zero weight.
    """
    return sum(t.abs().sum() for t in tensor_list(params))


def l2_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Return ``Ω₂(w) = Σwᵢ²``, the *squared* L2 norm (no square root).

    Its gradient is ``2w``: proportional to each weight.
    """
    return sum(t.square().sum() for t in tensor_list(params))


def elastic_net_penalty(params: Iterable[torch.Tensor], *, l1_ratio: float) -> torch.Tensor:
    """Return ``ρ·Σ|wᵢ| + (1 − ρ)/2·Σwᵢ²`` with ``ρ = l1_ratio`` in ``[0, 1]``.

    scikit-learn's ``ElasticNet`` convention :cite:p:`zou2005regularization`:
    ``l1_ratio=1`` is the L1 penalty, ``l1_ratio=0`` half the L2 penalty.
    """
    rho = check_fraction(l1_ratio, "l1_ratio")
    tensors = tensor_list(params)
    return rho * l1_penalty(tensors) + (1 - rho) / 2 * l2_penalty(tensors)


class WeightPenalty:
    """``λ·Ω(w)`` over a model's weights, as the ``penalty`` argument of ``fit``.

    Biases and normalization parameters are left out (see
    :func:`split_decay_parameters`).

    Parameters
    ----------
    kind : {"l1", "l2", "elastic_net"}
        Which penalty ``Ω``.
    strength : float
        ``λ >= 0``.
    l1_ratio : float, default 0.5
        Mixing of the elastic net, ignored by the other kinds.
    """

    def __init__(self, kind: str, strength: float, *, l1_ratio: float = 0.5):
        if kind not in ("l1", "l2", "elastic_net"):
            raise ValueError(f"kind must be 'l1', 'l2' or 'elastic_net', got {kind!r}")
        self.kind = kind
        self.strength = check_nonnegative(strength, "strength")
        self.l1_ratio = check_fraction(l1_ratio, "l1_ratio")

    def __call__(self, model: nn.Module) -> torch.Tensor:
        """Return ``λ·Ω`` of the model's decayed parameters (a 0-d tensor)."""
        weights, _ = split_decay_parameters(model)
        if not weights:  # e.g. a model of normalization layers only
            return torch.zeros(())
        if self.kind == "l1":
            omega = l1_penalty(weights)
        elif self.kind == "l2":
            omega = l2_penalty(weights)
        else:
            omega = elastic_net_penalty(weights, l1_ratio=self.l1_ratio)
        return self.strength * omega

    def __repr__(self) -> str:
        mix = f", l1_ratio={self.l1_ratio}" if self.kind == "elastic_net" else ""
        return f"WeightPenalty({self.kind!r}, {self.strength}{mix})"


class L2SP:
    """``λ·Σ‖w − w⁰‖²``: pull the weights towards a reference, not towards 0 (L2-SP).

    Li, Grandvalet and Davoine (2018) fine-tune a pretrained network with the
    penalty ``α/2·‖w_S − w⁰_S‖²`` on the weights ``w_S`` it shares with the
    pretrained ``w⁰``. Here, as in :func:`l2_penalty`, there is no ½:
    ``strength = α/2``. Only trainable parameters whose name is in ``reference``
    count; a new head, absent from it, is not penalized.

    Parameters
    ----------
    reference : mapping of str to torch.Tensor
        ``w⁰`` by parameter name, e.g. the pretrained ``state_dict`` (buffers in it
        are ignored); detached copies are kept.
    strength : float
        ``λ >= 0``.
    """

    def __init__(self, reference: Mapping[str, torch.Tensor], strength: float):
        self.reference = {name: w0.detach().clone() for name, w0 in reference.items()}
        self.strength = check_nonnegative(strength, "strength")

    def __call__(self, model: nn.Module) -> torch.Tensor:
        """Return ``λ·Σ‖w − w⁰‖²`` over the model's parameters named in the reference."""
        pairs = [
            (name, w, self.reference[name])
            for name, w in model.named_parameters()
            if w.requires_grad and name in self.reference
        ]
        if not pairs:
            raise ValueError("reference names none of the model's trainable parameters")
        for name, w, w0 in pairs:
            if w.shape != w0.shape:
                raise ValueError(
                    f"reference[{name!r}] has shape {tuple(w0.shape)}, "
                    f"the model's parameter {tuple(w.shape)}"
                )
        return self.strength * sum((w - w0.to(w)).square().sum() for _, w, w0 in pairs)

    def __repr__(self) -> str:
        n = len(self.reference)
        return f"L2SP(<{n} reference tensor{'s' * (n != 1)}>, {self.strength})"


def soft_threshold_(tensor: torch.Tensor, threshold: float) -> torch.Tensor:
    """Apply the proximal step of ``t·‖w‖₁`` in place: ``w ← sign(w)·max(|w| − t, 0)``.

    Every entry with ``|w| <= t`` becomes exactly zero; the others move ``t``
    towards zero. This is where the lasso's exact zeros come from
    :cite:p:`parikh2014proximal`.

    Parameters
    ----------
    tensor : torch.Tensor
        Floating-point tensor, changed in place.
    threshold : float
        ``t >= 0``, usually the learning rate times ``λ``.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.
    """
    t = check_nonnegative(threshold, "threshold")
    with torch.no_grad():
        magnitude = tensor.abs().sub_(t).clamp_min_(0.0)  # max(|w| − t, 0)
        return tensor.copy_(tensor.sign() * magnitude)


def split_decay_parameters(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """Split a model's trainable parameters into (to decay, not to decay).

    Weight matrices and convolution kernels (2 or more dimensions) are decayed.
    Biases and the scales and shifts of normalization layers (1-D) are not: they
    are few, and they do not make the function more complex. Shrinking a batch
    norm's scale γ would change the function itself; decay on the weights feeding
    a batch-norm layer only changes their effective learning rate.

    Returns
    -------
    tuple of list
        ``(decay, no_decay)``: two lists of parameters.
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return decay, no_decay


def decay_param_groups(model: nn.Module, *, weight_decay: float) -> list[dict]:
    """Build optimizer parameter groups: ``weight_decay`` on weights, none on the rest.

    Usage: ``torch.optim.AdamW(decay_param_groups(model, weight_decay=0.05), lr=1e-3)``.
    """
    decay, no_decay = split_decay_parameters(model)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
