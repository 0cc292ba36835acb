"""ResNet-50 (He et al., 2016) from torch primitives, with torchvision's names.

The layer names, and so the ``state_dict`` keys, are those of
``torchvision.models.resnet50``: ImageNet weights saved by torchvision load into
:func:`resnet50` (:func:`load_torchvision_weights`).

Departure from the paper, as in torchvision ("ResNet V1.5"): in a bottleneck
that downsamples, the stride sits on the 3×3 convolution (``conv2``), not on the
first 1×1 convolution as in He et al. (2016), which skipped three quarters of
the inputs of that 1×1 convolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from coursepkg._checks import check_drop_probability

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Bottleneck",
    "ResNet",
    "extract_features",
    "freeze_batchnorm",
    "load_torchvision_weights",
    "resnet50",
]

#: Per-channel (RGB) mean of ImageNet images scaled to [0, 1], as torchvision's weights expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
#: Per-channel (RGB) standard deviation, the companion of :data:`IMAGENET_MEAN`.
IMAGENET_STD = (0.229, 0.224, 0.225)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand (×4), each followed by batch norm; plus the shortcut.

    ``y = relu(F(x) + shortcut(x))`` with ``F`` the three convolutions (He et al.,
    2016, Fig. 5 right). The shortcut is the identity, or ``downsample`` (a 1×1
    convolution and batch norm) when the shape changes.

    Parameters
    ----------
    inplanes : int
        Input channels.
    planes : int
        Channels of the 3×3 convolution; the block outputs ``4 * planes``.
    stride : int, default 1
        Stride of the 3×3 convolution (2 halves the resolution).
    downsample : torch.nn.Module, optional
        The projection shortcut.
    residual : bool, default True
        ``False`` drops the shortcut, ``y = relu(F(x))``: a block of the *plain*
        network He et al. compare against.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        residual: bool = True,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)  # V1.5
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(F(x) + shortcut(x))``, or ``relu(F(x))`` without the shortcut.

        ``x`` has shape ``(B, inplanes, H, W)``.
        """
        out = self.relu(self.bn1(self.conv1(x)))  # (B, planes, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (B, planes, H/stride, W/stride)
        out = self.bn3(self.conv3(out))  # (B, 4 planes, H/stride, W/stride)
        if not self.residual:
            return self.relu(out)
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """Stem, four stages of bottlenecks, global average pooling, (dropout,) linear classifier.

    Parameters
    ----------
    layers : sequence of int
        Blocks per stage; ``[3, 4, 6, 3]`` is ResNet-50.
    num_classes : int, default 1000
        Outputs of ``fc``.
    dropout : float, default 0.0
        Drop probability before ``fc``; 0 puts an identity there.
    zero_init_residual : bool, default False
        Start every block's last batch-norm scale γ at 0, so each block begins as
        the identity (Goyal et al., 2017).
    residual : bool, default True
        ``False`` builds the plain network: the same convolutions, no shortcuts.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] | list[int],
        *,
        num_classes: int = 1000,
        dropout: float = 0.0,
        zero_init_residual: bool = False,
        residual: bool = True,
    ):
        super().__init__()
        if zero_init_residual and not residual:
            raise ValueError("zero_init_residual needs residual=True: a plain block would output 0")
        dropout = check_drop_probability(dropout, "dropout")
        self.residual = residual
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)
        for module in self.modules():  # as torchvision: He init for convolutions
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    nn.init.zeros_(module.bn3.weight)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if self.residual and (stride != 1 or self.inplanes != planes * Bottleneck.expansion):
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        residual = self.residual
        stage = [Bottleneck(self.inplanes, planes, stride, downsample, residual=residual)]
        self.inplanes = planes * Bottleneck.expansion
        stage += [Bottleneck(self.inplanes, planes, residual=residual) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Return the pooled penultimate features ``(B, 2048)`` of images ``(B, 3, H, W)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (B, 2048, H/32, W/32)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class scores, shape ``(B, num_classes)``."""
        return self.fc(self.dropout(self.features(x)))


def resnet50(
    *,
    num_classes: int = 1000,
    dropout: float = 0.0,
    zero_init_residual: bool = False,
    residual: bool = True,
) -> ResNet:
    """Build ResNet-50: bottleneck stages of 3, 4, 6 and 3 blocks.

    The options are those of :class:`ResNet`. At 1000 classes it has 25,557,032
    parameters, as torchvision's.
    """
    return ResNet(
        [3, 4, 6, 3],
        num_classes=num_classes,
        dropout=dropout,
        zero_init_residual=zero_init_residual,
        residual=residual,
    )


@torch.no_grad()
def extract_features(model: ResNet, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Return the penultimate features ``(N, 2048)`` of images ``x``, in eval mode.

    Parameters
    ----------
    model : ResNet
        The network; its train/eval mode is restored afterwards.
    x : torch.Tensor
        Images ``(N, 3, H, W)``, prepared as for the model's input.
    batch_size : int, default 256
        Images per forward pass.

    Returns
    -------
    torch.Tensor
        One feature vector per image.
    """
    was_training = model.training
    model.eval()
    out = torch.cat([model.features(batch) for batch in x.split(batch_size)])
    model.train(was_training)
    return out


def _use_running_statistics(module: nn.Module, _inputs: tuple) -> None:
    module.training = False  # undoes model.train() just before each forward pass


def freeze_batchnorm(model: nn.Module) -> nn.Module:
    """Make every ``BatchNorm2d`` of ``model`` use, and keep, its running statistics.

    A forward pre-hook sets each batch norm's ``training`` flag to ``False`` before
    every call, so the ``model.train()`` of each epoch of ``fit`` cannot undo it; γ
    and β still train. (``requires_grad=False`` stops γ and β only: in training mode
    the layer still normalizes with the batch's statistics and updates its own.)
    Returns ``model``; the hooks are not part of its ``state_dict``.
    """
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.register_forward_pre_hook(_use_running_statistics)
    return model


def _state_dict_in(checkpoint: object, path: str | Path) -> dict[str, torch.Tensor]:
    """Return the state_dict in a loaded file, without DataParallel's ``module.`` prefix."""
    for key in ("model", "state_dict"):  # a training checkpoint: {"model": ..., "epoch": ...}
        if isinstance(checkpoint, Mapping) and isinstance(checkpoint.get(key), Mapping):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in checkpoint.values()
    ):
        keys = list(checkpoint)[:5] if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise ValueError(
            f"{path} holds no state_dict (names to tensors), nor one under 'model' or "
            f"'state_dict'; found {keys}"
        )
    return {key.removeprefix("module."): value for key, value in checkpoint.items()}


def load_torchvision_weights(model: ResNet, path: str | Path) -> ResNet:
    """Load ResNet-50 weights saved from torchvision (local file only), re-heading if needed.

    torchvision's ImageNet weights expect 224×224 images (resize to 256, centre
    crop 224) standardized with :data:`IMAGENET_MEAN` and :data:`IMAGENET_STD`.

    Parameters
    ----------
    model : ResNet
        A model from :func:`resnet50`.
    path : str or pathlib.Path
        A file written by ``torch.save(torchvision_model.state_dict(), path)``, or a
        checkpoint holding it under ``"model"`` or ``"state_dict"``; a leading
        ``module.`` (from ``DataParallel``) is stripped from the names. Nothing is
        downloaded.

    Returns
    -------
    ResNet
        ``model``, with the weights loaded. Every key must match (``strict=True``),
        with one exception, *re-heading*: when the file's classifier ``fc`` has
        another number of classes than the model's (e.g. ImageNet's 1000 into a
        4-class model), it is skipped and the model keeps its own ``fc``, as
        initialized; every other key is still loaded strictly.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path`` (a URL is not fetched either).
    ValueError
        If the file holds no state_dict.
    RuntimeError
        From :meth:`torch.nn.Module.load_state_dict`: missing, unexpected or mismatched keys.
    """
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = _state_dict_in(checkpoint, path)
    w, b, fc = state.get("fc.weight"), state.get("fc.bias"), model.fc.weight
    other_classes = w is not None and b is not None and w.shape != fc.shape
    if other_classes and w.shape[1:] == fc.shape[1:] and b.shape == w.shape[:1]:
        state["fc.weight"], state["fc.bias"] = fc, model.fc.bias  # re-head: keep the model's
    model.load_state_dict(state, strict=True)
    return model
