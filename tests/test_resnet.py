"""Unit tests of :mod:`coursepkg.resnet`, the torchvision-compatible ResNet-50.

The expected ``state_dict`` (names, shapes, order) is derived here from
torchvision's construction rules, independently of :mod:`coursepkg.resnet`, by
``_torchvision_resnet50_shapes``. It was checked against

* torchvision's ``torchvision/models/resnet.py`` (pytorch/vision, e.g. commit
  f50e776b051ddf007b90d7bc8f70b0708c12d008): ``Bottleneck`` registers conv1,
  bn1, conv2 (3×3, carries the stride: "V1.5"), bn2, conv3, bn3, relu,
  downsample; ``_make_layer`` builds ``downsample = Sequential(conv1x1, norm)``
  only when ``stride != 1`` or the channels change, i.e. in the first block of
  each stage; stages of [3, 4, 6, 3] blocks, widths 64, 128, 256, 512;
* torchvision's ``ResNet50_Weights`` metadata, ``"num_params": 25557032``;
* a published listing of all 320 ``state_dict`` entries of a torchvision
  ResNet-50 fine-tuned to 2 classes (a checkpoint report in a public
  repository): same names in the same order, same shapes, 23,565,303 elements
  in all, which the derivation below reproduces at ``num_classes=2``.

The derivation gives 320 entries: 161 parameters (53 convolution weights, 53
batch norms × (weight, bias), fc weight and bias) and 159 buffers (53 batch
norms × (running_mean, running_var, num_batches_tracked)).

Forward passes use small images (32×32, 64×64) and batches of 2 so that the
whole file runs in seconds on a CPU.
"""

import math
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg.resnet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Bottleneck,
    extract_features,
    freeze_batchnorm,
    load_torchvision_weights,
    resnet50,
)

TORCHVISION_NUM_PARAMS = 25_557_032  # ResNet50_Weights.IMAGENET1K_V1.meta["num_params"]
STAGES = ((64, 3), (128, 4), (256, 6), (512, 3))  # (planes, blocks) of layer1..layer4
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def _torchvision_resnet50_shapes(num_classes=1000):
    """Ordered ``{key: shape}`` of ``torchvision.models.resnet50().state_dict()``."""
    shapes = OrderedDict()

    def batch_norm(prefix, channels):
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (channels,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    shapes["conv1.weight"] = (64, 3, 7, 7)
    batch_norm("bn1", 64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(STAGES, start=1):
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            shapes[f"{prefix}.conv1.weight"] = (planes, inplanes, 1, 1)
            batch_norm(f"{prefix}.bn1", planes)
            shapes[f"{prefix}.conv2.weight"] = (planes, planes, 3, 3)
            batch_norm(f"{prefix}.bn2", planes)
            shapes[f"{prefix}.conv3.weight"] = (4 * planes, planes, 1, 1)
            batch_norm(f"{prefix}.bn3", 4 * planes)
            if block == 0:
                shapes[f"{prefix}.downsample.0.weight"] = (4 * planes, inplanes, 1, 1)
                batch_norm(f"{prefix}.downsample.1", 4 * planes)
            inplanes = 4 * planes
    shapes["fc.weight"] = (num_classes, 2048)
    shapes["fc.bias"] = (num_classes,)
    return shapes


def _is_buffer(key):
    return key.endswith(BUFFER_SUFFIXES)


def _torchvision_style_state_dict(num_classes=1000, seed=0):
    """Random tensors under torchvision's names, as ``torch.save`` of its state_dict."""
    g = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in _torchvision_resnet50_shapes(num_classes).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(int(torch.randint(0, 1000, (), generator=g)))
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = 0.05 * torch.randn(shape, generator=g)
    return state


def _blocks(model):
    return [module for module in model.modules() if isinstance(module, Bottleneck)]


def _images(batch=2, size=32, seed=0):
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _eval_batch_norm_only(model):
    """Training mode everywhere except batch norm, so only dropout is stochastic."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
    return model


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: on a shared, busy CPU, small convolutions run faster so."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    """A default ResNet-50 (1000 classes); tests must not modify it."""
    torch.manual_seed(0)
    return resnet50()


@pytest.fixture(scope="module")
def small():
    """A 10-class ResNet-50 in eval mode; tests must not modify it."""
    torch.manual_seed(1)
    return resnet50(num_classes=10).eval()


# --- state_dict: torchvision's -----------------------------------------------------------


def test_derived_torchvision_list_has_the_published_totals():
    shapes = _torchvision_resnet50_shapes()
    params = [k for k in shapes if not _is_buffer(k)]
    assert len(shapes) == 320
    assert len(params) == 161
    assert sum(math.prod(shapes[k]) for k in params) == TORCHVISION_NUM_PARAMS
    # the published 2-class listing: 320 tensors, 23,565,303 elements with buffers
    assert sum(math.prod(s) for s in _torchvision_resnet50_shapes(2).values()) == 23_565_303


@pytest.mark.parametrize("num_classes", [1000, 10])
def test_state_dict_is_torchvision_s(model, small, num_classes):
    """Names in the same order (code may pair checkpoints by position), shapes, dtypes,
    and the same split into parameters and buffers."""
    net = model if num_classes == 1000 else small
    expected = _torchvision_resnet50_shapes(num_classes)
    state = net.state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == list(expected.items())
    for key, value in state.items():
        integer = key.endswith("num_batches_tracked")
        assert value.dtype == (torch.int64 if integer else torch.float32), key
    names = [name for name, _ in net.named_parameters()]
    assert names == [key for key in expected if not _is_buffer(key)]
    params = sum(p.numel() for p in net.parameters())
    assert params == TORCHVISION_NUM_PARAMS - (1000 - num_classes) * 2049


# --- what the state_dict does not show: strides, paddings, pooling --------------------


def test_stride_is_on_the_3x3_conv_of_each_stage_s_first_block_v1_5(model):
    for stage, layer in enumerate((model.layer1, model.layer2, model.layer3, model.layer4), 1):
        for index, block in enumerate(layer):
            stride = 2 if stage > 1 and index == 0 else 1
            assert block.conv1.stride == block.conv3.stride == (1, 1)
            assert block.conv2.stride == (stride, stride), f"layer{stage}.{index}"
            if block.downsample is not None:
                assert block.downsample[0].stride == (stride, stride)


def test_stage_resolutions_and_channels(small):
    sizes = {}
    hooks = [
        getattr(small, name).register_forward_hook(
            lambda _m, _i, out, name=name: sizes.__setitem__(name, tuple(out.shape))
        )
        for name in ("conv1", "maxpool", "layer1", "layer2", "layer3", "layer4")
    ]
    try:
        with torch.no_grad():
            small(_images(size=64))
    finally:
        for hook in hooks:
            hook.remove()
    assert sizes == {
        "conv1": (2, 64, 32, 32),
        "maxpool": (2, 64, 16, 16),
        "layer1": (2, 256, 16, 16),
        "layer2": (2, 512, 8, 8),
        "layer3": (2, 1024, 4, 4),
        "layer4": (2, 2048, 2, 2),
    }


# --- forward ---------------------------------------------------------------------------


def _reference_bottleneck(block, x):
    """torchvision's Bottleneck.forward, written out."""
    out = F.relu(block.bn1(block.conv1(x)))
    out = F.relu(block.bn2(block.conv2(out)))
    out = block.bn3(block.conv3(out))
    identity = x if block.downsample is None else block.downsample(x)
    return F.relu(out + identity)


def test_forward_matches_torchvision_s_computation(small):
    x = _images(size=32, seed=3)
    with torch.no_grad():
        expected = small.maxpool(F.relu(small.bn1(small.conv1(x))))
        for block in _blocks(small):
            expected = _reference_bottleneck(block, expected)
        expected = small.fc(torch.flatten(small.avgpool(expected), 1))
        out = small(x)
    assert out.shape == (2, 10)
    torch.testing.assert_close(out, expected)


def test_features_are_the_pooled_penultimate_activations(small):
    x = _images(batch=3, size=32)
    with torch.no_grad():
        feats = small.features(x)
        out = small(x)
    assert feats.shape == (3, 2048)
    assert (feats >= 0).all(), "features are averages of ReLU outputs"
    torch.testing.assert_close(small.fc(feats), out)


def test_bottleneck_with_and_without_projection():
    torch.manual_seed(4)
    x = torch.randn(2, 256, 8, 8)
    projection = nn.Sequential(nn.Conv2d(256, 512, 1, stride=2, bias=False), nn.BatchNorm2d(512))
    for block, shape in (
        (Bottleneck(256, 64), (2, 256, 8, 8)),
        (Bottleneck(256, 128, stride=2, downsample=projection), (2, 512, 4, 4)),
    ):
        with torch.no_grad():
            out = block.eval()(x)
            torch.testing.assert_close(out, _reference_bottleneck(block, x))
        assert out.shape == shape


def test_plain_block_is_the_residual_block_without_its_shortcut():
    torch.manual_seed(0)
    block = Bottleneck(256, 64).eval()
    x = _images(2, 8).repeat(1, 256 // 3 + 1, 1, 1)[:, :256]
    with torch.no_grad():
        residual_out = block(x)
        block.residual = False
        plain_out = block(x)
        branch = block.bn3(block.conv3(block.relu(block.bn2(block.conv2(
            block.relu(block.bn1(block.conv1(x))))))))  # fmt: skip
    torch.testing.assert_close(plain_out, F.relu(branch))
    torch.testing.assert_close(residual_out, F.relu(branch + x))


def test_plain_network_has_no_shortcuts(model):
    torch.manual_seed(0)
    plain = resnet50(residual=False)
    assert all(not block.residual and block.downsample is None for block in _blocks(plain))
    expected = {k: v for k, v in model.state_dict().items() if ".downsample." not in k}
    assert list(plain.state_dict()) == list(expected)


def test_extract_features_equals_features_in_eval_mode_and_restores_the_mode():
    torch.manual_seed(0)
    # In float64: batches of 2 and of 5 sum the convolutions in another order (the CPU's
    # kernels block them by batch), and in float32 that order moves features (here up to about 15)
    # by up to 2e-5 after 53 layers. In float64 rounding is 2**-53 ≈ 1.1e-16 per operation;
    # over sums of at most 4,608 terms in 53 layers the difference stays near 1e-12, so a
    # tolerance of 1e-9 cannot be met by a wrong batch (a different mode, a lost image).
    net = resnet50(num_classes=4).double().train()
    x = _images(5, 32).double()
    out = extract_features(net, x, batch_size=2)
    assert net.training
    with torch.no_grad():
        expected = net.eval().features(x)
    assert out.shape == (5, 2048) and not out.requires_grad
    torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)


# --- load_torchvision_weights ----------------------------------------------------------


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if anything tries to fetch weights from the network."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a download was attempted: {args} {kwargs}")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def test_round_trip_through_a_saved_state_dict(tmp_path, no_download):
    torch.manual_seed(5)
    source = resnet50(num_classes=10).eval()
    with torch.no_grad():  # move the batch-norm statistics off their defaults
        for module in source.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.num_batches_tracked.fill_(7)
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)

    torch.manual_seed(7)
    fresh = resnet50(num_classes=10)
    assert load_torchvision_weights(fresh, path) is fresh
    x = _images(size=32, seed=8)
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), source(x))


def test_loads_a_file_with_torchvision_s_names(tmp_path, no_download):
    """A state_dict built from the derived torchvision list, not from coursepkg."""
    state = _torchvision_style_state_dict(num_classes=1000)
    path = tmp_path / "torchvision_resnet50.pth"
    torch.save(state, path)
    net = load_torchvision_weights(resnet50(), str(path))  # a str path works too
    loaded = net.state_dict()
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def _missing(state):
    del state["layer3.2.bn2.running_var"]
    return state, r"Missing key.*layer3\.2\.bn2\.running_var"


def _extra(state):
    state["layer4.3.conv1.weight"] = torch.zeros(512, 2048, 1, 1)
    return state, r"Unexpected key.*layer4\.3\.conv1\.weight"


def _other_prefix(state):  # only DataParallel's "module." is stripped
    return OrderedDict((f"backbone.{k}", v) for k, v in state.items()), r"backbone\.conv1\.weight"


def _wrong_shape(state):
    state["layer2.0.conv2.weight"] = torch.zeros(128, 128, 1, 1)
    return state, r"size mismatch for layer2\.0\.conv2\.weight"


def _fc_of_other_features(state):  # not a re-heading: fc's inputs differ too
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)
    return state, r"size mismatch for fc\.weight"


def _no_fc(state):  # a backbone without its head: fc is missing, not re-headed
    del state["fc.weight"], state["fc.bias"]
    return state, r"Missing key.*fc\.weight"


@pytest.mark.parametrize(
    "change", [_missing, _extra, _other_prefix, _wrong_shape, _fc_of_other_features, _no_fc]
)
def test_a_file_that_does_not_match_fails_naming_the_key(tmp_path, small, change):
    state, match = change(OrderedDict(small.state_dict()))
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    with pytest.raises(RuntimeError, match=match):
        load_torchvision_weights(resnet50(num_classes=10), path)


def _saved(obj, tmp_path):
    path = tmp_path / "checkpoint.pth"
    torch.save(obj, path)
    return path


@pytest.mark.parametrize(
    "wrap",
    [
        lambda state: state,
        lambda state: {"model": state, "epoch": 30, "best_acc": 0.8},
        lambda state: {"state_dict": OrderedDict((f"module.{k}", v) for k, v in state.items())},
    ],
    ids=["state_dict", "model", "state_dict_with_module_prefix"],
)
def test_loads_a_state_dict_alone_or_in_a_checkpoint(tmp_path, no_download, wrap):
    state = _torchvision_style_state_dict(num_classes=10, seed=3)
    net = load_torchvision_weights(resnet50(num_classes=10), _saved(wrap(state), tmp_path))
    loaded = net.state_dict()
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_re_heading_loads_all_but_fc_and_keeps_the_model_s_fc(tmp_path, no_download):
    state = _torchvision_style_state_dict(num_classes=1000, seed=4)  # ImageNet's head
    torch.manual_seed(6)
    net = resnet50(num_classes=4)
    head = {k: v.clone() for k, v in net.state_dict().items() if k.startswith("fc.")}
    load_torchvision_weights(net, _saved({"model": state}, tmp_path))
    loaded = net.state_dict()
    for key, value in state.items():
        expected = head[key] if key.startswith("fc.") else value
        assert torch.equal(loaded[key], expected), key
    assert net.fc.weight.shape == (4, 2048) and net.fc.weight.requires_grad


def test_a_file_without_a_state_dict_is_refused(tmp_path):
    path = _saved({"net": {"conv1.weight": torch.zeros(1)}, "epoch": 3}, tmp_path)
    with pytest.raises(ValueError, match=r"holds no state_dict.*\['net', 'epoch'\]"):
        load_torchvision_weights(resnet50(num_classes=10), path)


def test_imagenet_statistics_are_torchvision_s():
    assert IMAGENET_MEAN == (0.485, 0.456, 0.406)
    assert IMAGENET_STD == (0.229, 0.224, 0.225)


@pytest.mark.parametrize("folder", ["nowhere", "https://download.pytorch.org/models"])
def test_a_missing_file_is_not_downloaded(no_download, folder):
    with pytest.raises(FileNotFoundError, match="resnet50-0676ba61"):
        load_torchvision_weights(resnet50(num_classes=10), f"{folder}/resnet50-0676ba61.pth")


# --- zero_init_residual and dropout ----------------------------------------------------


def test_zero_init_residual_zeroes_every_bn3_weight_and_nothing_else(model):
    torch.manual_seed(0)  # the seed of the ``model`` fixture
    zeroed = resnet50(zero_init_residual=True).state_dict()
    bn3 = {k for k in zeroed if k.endswith("bn3.weight")}
    assert len(bn3) == 16
    for key, value in model.state_dict().items():
        expected = torch.zeros_like(value) if key in bn3 else value
        assert torch.equal(zeroed[key], expected), key


def test_zero_init_residual_makes_identity_blocks():
    torch.manual_seed(9)
    net = resnet50(num_classes=10, zero_init_residual=True).eval()
    with torch.no_grad():
        for block, channels in ((net.layer1[1], 256), (net.layer3[4], 1024)):
            x = torch.rand(2, channels, 4, 4)  # non-negative, like the output of a block
            torch.testing.assert_close(block(x), x)


def test_dropout_adds_no_weights(model):
    assert isinstance(model.dropout, nn.Identity)
    torch.manual_seed(0)
    net = resnet50(dropout=0.5)
    assert list(net.state_dict()) == list(model.state_dict())


def test_dropout_is_applied_to_the_features_before_fc():
    torch.manual_seed(10)
    net = _eval_batch_norm_only(resnet50(num_classes=10, dropout=0.5))
    x = _images(size=32, seed=11)
    with torch.no_grad():
        torch.manual_seed(12)
        out = net(x)
        torch.manual_seed(12)
        expected = net.fc(F.dropout(net.features(x), p=0.5, training=True))
        in_eval = net.eval()(x)
    torch.testing.assert_close(out, expected)
    assert not torch.allclose(out, in_eval)


# --- freeze_batchnorm ------------------------------------------------------------------


def _batch_norms(model):
    return [module for module in model.modules() if isinstance(module, nn.BatchNorm2d)]


def _buffers(model):
    return {k: v.clone() for k, v in model.state_dict().items() if _is_buffer(k)}


@pytest.fixture
def frozen():
    """A 4-class ResNet-50 with non-default running statistics, frozen, in train mode."""
    torch.manual_seed(13)
    net = resnet50(num_classes=4)
    with torch.no_grad():
        for module in _batch_norms(net):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    assert freeze_batchnorm(net) is net
    return net.train()


def test_frozen_batch_norm_uses_and_keeps_its_running_statistics_in_train_mode(frozen):
    before, x = _buffers(frozen), _images(size=32, seed=14)
    out = frozen(x)
    assert frozen.training  # the model's mode is left alone
    after = _buffers(frozen)
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    with torch.no_grad():
        assert torch.equal(out.detach(), frozen.eval()(x))


def test_without_freezing_train_mode_would_update_the_statistics():
    torch.manual_seed(13)
    net = resnet50(num_classes=4).train()
    before = _buffers(net)
    net(_images(size=32, seed=14))
    assert not torch.equal(_buffers(net)["bn1.running_mean"], before["bn1.running_mean"])


def test_frozen_batch_norm_still_trains_gamma_and_beta(frozen):
    frozen(_images(size=32, seed=15)).square().sum().backward()
    for module in _batch_norms(frozen):
        assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0
        assert module.bias.grad is not None and module.bias.grad.abs().sum() > 0
