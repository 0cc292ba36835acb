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

from coursepkg.resnet import Bottleneck, ResNet, load_torchvision_weights, resnet50

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


def _stages(model):
    return [model.layer1, model.layer2, model.layer3, model.layer4]


def _blocks(model):
    return [block for stage in _stages(model) for block in stage]


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


# --- the derivation itself -------------------------------------------------------------


def test_derived_torchvision_list_has_the_published_totals():
    shapes = _torchvision_resnet50_shapes()
    params = [k for k in shapes if not _is_buffer(k)]
    assert len(shapes) == 320
    assert len(params) == 161
    assert sum(math.prod(shapes[k]) for k in params) == TORCHVISION_NUM_PARAMS
    # the published 2-class listing: 320 tensors, 23,565,303 elements with buffers
    assert sum(math.prod(s) for s in _torchvision_resnet50_shapes(2).values()) == 23_565_303


# --- parameters and state_dict ---------------------------------------------------------


def test_parameter_count_is_torchvision_s(model):
    assert sum(p.numel() for p in model.parameters()) == TORCHVISION_NUM_PARAMS
    assert len(list(model.parameters())) == 161


def test_parameter_count_with_other_num_classes(small):
    assert sum(p.numel() for p in small.parameters()) == TORCHVISION_NUM_PARAMS - 990 * 2049


def test_state_dict_keys_and_shapes_equal_torchvision_s(model):
    expected = _torchvision_resnet50_shapes()
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert set(got) == set(expected), (
        f"missing {sorted(set(expected) - set(got))}, extra {sorted(set(got) - set(expected))}"
    )
    wrong = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k]}
    assert not wrong, f"(got, torchvision) shapes differ: {wrong}"
    assert len(got) == 320


def test_state_dict_order_is_torchvision_s(model):
    # code that pairs checkpoints by position (zip over values) relies on the order too
    assert list(model.state_dict()) == list(_torchvision_resnet50_shapes())


def test_state_dict_dtypes(model):
    for key, value in model.state_dict().items():
        expected = torch.int64 if key.endswith("num_batches_tracked") else torch.float32
        assert value.dtype == expected, key


def test_parameters_and_buffers_split_as_in_torchvision(model):
    names = {name for name, _ in model.named_parameters()}
    assert names == {k for k in _torchvision_resnet50_shapes() if not _is_buffer(k)}
    buffers = {name for name, _ in model.named_buffers()}
    assert buffers == {k for k in _torchvision_resnet50_shapes() if _is_buffer(k)}


def test_fc_shape_follows_num_classes(small):
    assert small.state_dict()["fc.weight"].shape == (10, 2048)
    assert small.state_dict()["fc.bias"].shape == (10,)
    assert set(small.state_dict()) == set(_torchvision_resnet50_shapes(10))


# --- architecture ----------------------------------------------------------------------


def test_is_resnet_of_bottlenecks_3_4_6_3(model):
    assert isinstance(model, ResNet)
    assert [len(stage) for stage in _stages(model)] == [3, 4, 6, 3]
    assert all(isinstance(block, Bottleneck) for block in _blocks(model))
    assert len(_blocks(model)) == 16
    assert Bottleneck.expansion == 4


def test_stem(model):
    conv = model.conv1
    assert isinstance(conv, nn.Conv2d)
    assert conv.kernel_size == (7, 7)
    assert conv.stride == (2, 2)
    assert conv.padding == (3, 3)
    assert conv.bias is None
    assert isinstance(model.bn1, nn.BatchNorm2d)
    assert isinstance(model.relu, nn.ReLU)
    pool = model.maxpool
    assert isinstance(pool, nn.MaxPool2d)
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 2, 1)
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d)
    assert model.avgpool.output_size in (1, (1, 1))
    assert isinstance(model.fc, nn.Linear)
    assert model.fc.bias is not None


def test_bottleneck_convolutions(model):
    for block in _blocks(model):
        assert block.conv1.kernel_size == (1, 1)
        assert block.conv2.kernel_size == (3, 3)
        assert block.conv2.padding == (1, 1)
        assert block.conv3.kernel_size == (1, 1)
        for conv in (block.conv1, block.conv2, block.conv3):
            assert conv.bias is None
        for bn in (block.bn1, block.bn2, block.bn3):
            assert isinstance(bn, nn.BatchNorm2d)
        assert isinstance(block.relu, nn.ReLU)


@pytest.mark.parametrize("stage", [2, 3, 4])
def test_stride_is_on_the_3x3_conv_v1_5(model, stage):
    first = getattr(model, f"layer{stage}")[0]
    assert first.stride == 2
    assert first.conv1.stride == (1, 1), "V1.5 keeps the first 1x1 convolution at stride 1"
    assert first.conv2.stride == (2, 2), "V1.5 puts the stride on the 3x3 convolution"
    assert first.conv3.stride == (1, 1)
    assert first.downsample[0].stride == (2, 2)


def test_no_stride_elsewhere(model):
    first = model.layer1[0]
    assert first.stride == 1
    assert first.downsample[0].stride == (1, 1)
    for stage in _stages(model):
        for block in stage:
            assert block.conv1.stride == (1, 1)
            assert block.conv3.stride == (1, 1)
        for block in stage[1:]:
            assert block.stride == 1
            assert block.conv2.stride == (1, 1)
    assert model.layer1[0].conv2.stride == (1, 1)


def test_downsample_exactly_in_the_first_block_of_each_stage(model):
    for (planes, _), stage in zip(STAGES, _stages(model), strict=True):
        projection = stage[0].downsample
        assert isinstance(projection, nn.Sequential)
        assert len(projection) == 2
        conv, bn = projection
        assert isinstance(conv, nn.Conv2d)
        assert conv.kernel_size == (1, 1)
        assert conv.bias is None
        assert conv.out_channels == 4 * planes
        assert isinstance(bn, nn.BatchNorm2d)
        assert bn.num_features == 4 * planes
        for block in stage[1:]:
            assert block.downsample is None


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


def test_output_shape_32x32(small):
    with torch.no_grad():
        out = small(_images(size=32))
    assert out.shape == (2, 10)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_output_shape_64x64_with_50_classes():
    torch.manual_seed(2)
    net = resnet50(num_classes=50).eval()
    with torch.no_grad():
        out = net(_images(size=64))
    assert out.shape == (2, 50)
    assert torch.isfinite(out).all()


def test_features_are_the_pooled_penultimate_activations(small):
    x = _images(batch=3, size=32)
    with torch.no_grad():
        feats = small.features(x)
        out = small(x)
    assert feats.shape == (3, 2048)
    assert (feats >= 0).all(), "features are averages of ReLU outputs"
    torch.testing.assert_close(small.fc(feats), out)


def _reference_bottleneck(block, x):
    """torchvision's Bottleneck.forward, written out."""
    out = F.relu(block.bn1(block.conv1(x)))
    out = F.relu(block.bn2(block.conv2(out)))
    out = block.bn3(block.conv3(out))
    identity = x if block.downsample is None else block.downsample(x)
    return F.relu(out + identity)


def _reference_forward(net, x):
    """torchvision's ResNet.forward, written out (eval mode: no dropout)."""
    x = net.maxpool(F.relu(net.bn1(net.conv1(x))))
    for block in _blocks(net):
        x = _reference_bottleneck(block, x)
    return net.fc(torch.flatten(net.avgpool(x), 1))


def test_forward_matches_torchvision_s_computation(small):
    x = _images(size=32, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(small(x), _reference_forward(small, x))


def test_bottleneck_standalone():
    torch.manual_seed(4)
    block = Bottleneck(256, 64).eval()
    x = torch.randn(2, 256, 8, 8)
    with torch.no_grad():
        out = block(x)
        torch.testing.assert_close(out, _reference_bottleneck(block, x))
    assert out.shape == (2, 256, 8, 8)
    assert block.stride == 1
    assert block.downsample is None

    projection = nn.Sequential(nn.Conv2d(256, 512, 1, stride=2, bias=False), nn.BatchNorm2d(512))
    block = Bottleneck(256, 128, stride=2, downsample=projection).eval()
    assert block.downsample is projection
    assert block.stride == 2
    assert block.conv2.stride == (2, 2)
    with torch.no_grad():
        out = block(x)
        torch.testing.assert_close(out, _reference_bottleneck(block, x))
    assert out.shape == (2, 512, 4, 4)


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
    returned = load_torchvision_weights(fresh, path)
    assert returned is fresh
    loaded = fresh.state_dict()
    for key, value in source.state_dict().items():
        assert torch.equal(loaded[key], value), key
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


def _save(state, tmp_path, name="weights.pth"):
    path = tmp_path / name
    torch.save(state, path)
    return path


def test_missing_key_fails_to_load(tmp_path, small):
    state = OrderedDict(small.state_dict())
    del state["layer3.2.bn2.running_var"]
    path = _save(state, tmp_path)
    with pytest.raises(RuntimeError, match=r"layer3\.2\.bn2\.running_var"):
        load_torchvision_weights(resnet50(num_classes=10), path)


def test_extra_key_fails_to_load(tmp_path, small):
    state = OrderedDict(small.state_dict())
    state["layer4.3.conv1.weight"] = torch.zeros(512, 2048, 1, 1)
    path = _save(state, tmp_path)
    with pytest.raises(RuntimeError, match=r"layer4\.3\.conv1\.weight"):
        load_torchvision_weights(resnet50(num_classes=10), path)


def test_prefixed_keys_fail_to_load(tmp_path, small):
    # a DataParallel checkpoint ("module." prefixes) is not torchvision's format
    state = OrderedDict((f"module.{k}", v) for k, v in small.state_dict().items())
    path = _save(state, tmp_path)
    with pytest.raises(RuntimeError):
        load_torchvision_weights(resnet50(num_classes=10), path)


def test_wrong_num_classes_fails_to_load(tmp_path):
    path = _save(_torchvision_style_state_dict(num_classes=1000), tmp_path)
    with pytest.raises(RuntimeError, match=r"fc\.weight"):
        load_torchvision_weights(resnet50(num_classes=10), path)


def test_missing_file_raises_file_not_found_naming_the_path(tmp_path, no_download):
    path = tmp_path / "nowhere" / "resnet50-0676ba61.pth"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_torchvision_weights(resnet50(num_classes=10), path)
    with pytest.raises(FileNotFoundError) as info:
        load_torchvision_weights(resnet50(num_classes=10), str(path))
    assert str(path) in str(info.value)


def test_a_url_is_not_downloaded(no_download):
    url = "https://download.pytorch.org/models/resnet50-0676ba61.pth"
    with pytest.raises(FileNotFoundError):
        load_torchvision_weights(resnet50(num_classes=10), url)


# --- zero_init_residual ----------------------------------------------------------------


def test_zero_init_residual_zeroes_every_bn3_weight_and_nothing_else(model):
    torch.manual_seed(0)  # the seed of the ``model`` fixture
    zeroed = resnet50(zero_init_residual=True)
    bn3_keys = {f"layer{s}.{b}.bn3.weight" for s, (_, n) in enumerate(STAGES, 1) for b in range(n)}
    assert len(bn3_keys) == 16
    plain = model.state_dict()
    for key, value in zeroed.state_dict().items():
        if key in bn3_keys:
            assert torch.count_nonzero(value) == 0, key
        else:
            assert torch.equal(value, plain[key]), key
    for block in _blocks(zeroed):
        assert torch.count_nonzero(block.bn3.weight) == 0
        assert torch.all(block.bn3.bias == 0)
        assert torch.all(block.bn1.weight == 1)
        assert torch.all(block.bn2.weight == 1)
        if block.downsample is not None:
            assert torch.all(block.downsample[1].weight == 1)
    assert torch.all(zeroed.bn1.weight == 1)


def test_without_zero_init_residual_bn3_weights_are_one(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.all(module.weight == 1)
            assert torch.all(module.bias == 0)
    assert len(_blocks(model)) == 16


def test_zero_init_residual_makes_identity_blocks():
    torch.manual_seed(9)
    net = resnet50(num_classes=10, zero_init_residual=True).eval()
    with torch.no_grad():
        for block, channels in ((net.layer1[1], 256), (net.layer3[4], 1024)):
            x = torch.rand(2, channels, 4, 4)  # non-negative, like the output of a block
            torch.testing.assert_close(block(x), x)


# --- dropout ---------------------------------------------------------------------------


def test_default_has_no_dropout(model):
    assert isinstance(model.dropout, (nn.Identity, nn.Dropout))
    if isinstance(model.dropout, nn.Dropout):
        assert model.dropout.p == 0
    assert list(model.dropout.parameters()) == []


def test_dropout_module_before_fc(model):
    torch.manual_seed(0)
    net = resnet50(dropout=0.5)
    assert isinstance(net.dropout, nn.Dropout)
    assert net.dropout.p == 0.5
    assert list(net.state_dict()) == list(model.state_dict())
    assert sum(p.numel() for p in net.parameters()) == TORCHVISION_NUM_PARAMS


def test_dropout_is_applied_to_the_features_before_fc():
    torch.manual_seed(10)
    net = _eval_batch_norm_only(resnet50(num_classes=10, dropout=0.5))
    x = _images(size=32, seed=11)
    with torch.no_grad():
        torch.manual_seed(12)
        out = net(x)
        torch.manual_seed(12)
        expected = net.fc(F.dropout(net.features(x), p=0.5, training=True))
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("p", [0.0, 0.5])
def test_train_and_eval_differ_only_with_dropout(p):
    torch.manual_seed(13)
    net = resnet50(num_classes=10, dropout=p).eval()
    x = _images(size=32, seed=14)
    with torch.no_grad():
        in_eval = net(x)
        _eval_batch_norm_only(net)
        torch.manual_seed(15)
        in_train = net(x)
        torch.manual_seed(16)
        in_train_again = net(x)
    if p == 0:
        assert torch.equal(in_train, in_eval)
        assert torch.equal(in_train_again, in_eval)
    else:
        assert not torch.allclose(in_train, in_eval)
        assert not torch.allclose(in_train, in_train_again)


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [0, -1])
def test_num_classes_below_one(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        resnet50(num_classes=num_classes)


@pytest.mark.parametrize("num_classes", [10.0, 2.5, "10", None, True])
def test_num_classes_not_an_int(num_classes):
    with pytest.raises(TypeError, match="num_classes"):
        resnet50(num_classes=num_classes)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_outside_unit_interval(dropout):
    with pytest.raises(ValueError, match="dropout"):
        resnet50(dropout=dropout)


@pytest.mark.parametrize("dropout", ["0.5", None])
def test_dropout_not_a_number(dropout):
    with pytest.raises((TypeError, ValueError), match="dropout"):
        resnet50(dropout=dropout)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        resnet50(10)


# --- the plain network and feature extraction ----------------------------------------------


def test_plain_network_has_no_shortcuts():
    torch.manual_seed(0)
    plain = resnet50(num_classes=10, residual=False)
    assert all(not block.residual and block.downsample is None for block in _blocks(plain))
    assert not any(".downsample." in key for key in plain.state_dict())
    downsample = sum(p.numel() for k, p in resnet50().named_parameters() if "downsample" in k)
    plain_1000 = sum(p.numel() for p in resnet50(residual=False).parameters())
    assert plain_1000 == TORCHVISION_NUM_PARAMS - downsample


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


def test_zero_init_residual_needs_the_shortcuts():
    with pytest.raises(ValueError, match="zero_init_residual"):
        resnet50(zero_init_residual=True, residual=False)


def test_extract_features_equals_features_in_eval_mode_and_restores_the_mode():
    from coursepkg.resnet import extract_features

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


def test_extract_features_rejects_other_models_and_bad_batch_sizes(small):
    from coursepkg.resnet import extract_features

    with pytest.raises(TypeError, match="model must be a ResNet"):
        extract_features(nn.Linear(3, 3), _images())
    with pytest.raises(ValueError, match="batch_size"):
        extract_features(small, _images(), batch_size=0)
