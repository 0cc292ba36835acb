"""The generated visibility data: shapes, labels, reproducibility and the haze physics."""

import math

import pytest
import torch

from coursepkg import visibility as vis


@pytest.fixture(scope="module")
def data():
    return vis.make_visibility_data(200, seed=0)


def test_shapes_range_and_balanced_classes(data):
    assert data.x.shape == (200, 3, 32, 32) and data.x.dtype == torch.float32
    assert data.x.min() >= 0 and data.x.max() <= 1
    assert data.y.shape == data.visibility.shape == (200,)
    assert torch.bincount(data.y).tolist() == [50, 50, 50, 50]
    assert data.classes == ("dense fog", "fog", "haze", "clear")


def test_each_label_is_the_bin_of_its_visibility(data):
    for label, (_, low, high) in enumerate(vis.VISIBILITY_CLASSES):
        v = data.visibility[data.y == label]
        assert torch.all((v >= low) & (v <= high))


def test_the_same_seed_gives_the_same_images_and_another_seed_others():
    a, b = vis.make_visibility_data(12, seed=3), vis.make_visibility_data(12, seed=3)
    c = vis.make_visibility_data(12, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


def test_image_size_is_honoured():
    assert vis.make_visibility_data(4, image_size=64).x.shape == (4, 3, 64, 64)


def test_koschmieder_constant_and_beta():
    assert vis.KOSCHMIEDER == pytest.approx(3.912, abs=5e-4)
    assert vis.visibility_to_beta(2.0) * 2.0 == pytest.approx(-math.log(0.02))


def test_haze_keeps_the_scene_in_clear_air_and_turns_to_airlight_in_dense_fog():
    generator = torch.Generator().manual_seed(0)
    clear = torch.rand(2, 3, 8, 8, generator=generator)
    depth = torch.full((2, 1, 8, 8), 1.0)
    airlight = torch.tensor([[0.9, 0.9, 0.9], [0.7, 0.75, 0.8]])
    assert torch.allclose(vis.haze(clear, depth, torch.zeros(2), airlight), clear)
    fog = vis.haze(clear, depth, torch.full((2,), 100.0), airlight)
    assert torch.allclose(fog, airlight.view(2, 3, 1, 1).expand_as(fog))


def test_haze_transmission_is_exp_minus_beta_d():
    generator = torch.Generator().manual_seed(1)
    clear = 0.5 * torch.rand(1, 3, 4, 4, generator=generator)  # away from the airlight
    depth = torch.rand(1, 1, 4, 4, generator=generator) * 2
    airlight, beta = torch.tensor([[0.8, 0.8, 0.8]]), torch.tensor([1.5])
    hazy = vis.haze(clear, depth, beta, airlight)
    t = (hazy - 0.8) / (clear - 0.8)
    assert torch.allclose(t, torch.exp(-1.5 * depth).expand_as(t), atol=1e-5)


def test_contrast_rises_with_the_visibility_class_on_the_same_scenes():
    generator = torch.Generator().manual_seed(0)
    clear = vis._clear_scenes(64, 32, generator)
    depth = vis._depth_maps(64, 32, generator)
    airlight = torch.full((64, 3), 0.8)
    contrast = []
    for _, low, high in vis.VISIBILITY_CLASSES:
        beta = vis.visibility_to_beta(torch.full((64,), math.sqrt(low * high)))
        contrast.append(vis.haze(clear, depth, beta, airlight).std(dim=(1, 2, 3)).mean().item())
    assert contrast == sorted(contrast) and len(set(contrast)) == len(contrast)


def test_mean_brightness_alone_does_not_tell_the_classes_apart(data):
    # the nearest class mean of the brightness gets far from every image right
    brightness = data.x.mean(dim=(1, 2, 3))
    means = torch.stack([brightness[data.y == k].mean() for k in range(4)])
    predicted = (brightness[:, None] - means).abs().argmin(dim=1)
    assert (predicted == data.y).float().mean() < 0.6


def test_scenes_choose_the_photo_the_crops_come_from():
    photo_colour = vis._photos().mean(dim=(2, 3))  # (2, 3): the photos' mean colours
    for scene in (0, 1):
        generator = torch.Generator().manual_seed(scene)
        crops = vis._clear_scenes(64, 16, generator, scenes=(scene,))
        distance = (crops.mean(dim=(0, 2, 3)) - photo_colour).norm(dim=1)
        assert distance.argmin() == scene  # the crops' colour is their photo's
    a = vis.make_visibility_data(8, seed=0, scenes=(0,))
    b = vis.make_visibility_data(8, seed=0, scenes=(1,))
    assert not torch.equal(a.x, b.x) and torch.equal(a.y, b.y)


def test_a_fixed_horizon_gives_every_image_the_same_depth_map():
    generator = torch.Generator().manual_seed(0)
    depth = vis._depth_maps(5, 16, generator, horizon_km=(2.0, 2.0))
    assert torch.allclose(depth.amax(dim=(1, 2, 3)), torch.full((5,), 2.0))
    assert torch.allclose(depth[:, :, -1], torch.full((5, 1, 16), 0.03))  # the bottom row
