"""Chapter 7's cheap claim: shortcuts keep ResNet-50's gradients in scale at initialization.

No training, a few seconds: it stays a test. The claims that need training (overfitting,
remedies, fine-tuning) are asserted by the chapter's "Claims checked" cell.
"""

import pytest
import torch
from torch import nn

from coursepkg.resnet import resnet50
from coursepkg.visibility import make_visibility_data


@pytest.fixture(scope="module")
def batch():
    data = make_visibility_data(16, seed=3)
    x = (data.x - data.x.mean((0, 2, 3), keepdim=True)) / data.x.std((0, 2, 3), keepdim=True)
    return x, data.y


def _relative_gradients(model, x, y):
    model.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    return [
        (p.grad.norm() / p.norm()).item()
        for name, p in model.named_parameters()
        if p.ndim == 4 and "downsample" not in name
    ]


@pytest.mark.parametrize("seed", [0, 1])
def test_plain_network_gradients_spread_over_the_depth_far_more_than_resnet_s(batch, seed):
    spreads = {}
    for residual in (True, False):
        torch.manual_seed(seed)
        g = _relative_gradients(resnet50(num_classes=4, residual=residual), *batch)
        assert len(g) == 49  # the main-path convolutions, stem included
        spreads[residual] = g[1] / g[-1]  # first block's conv against the last conv
    assert spreads[False] > 10 * spreads[True]
    assert spreads[False] > 100
