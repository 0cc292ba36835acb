"""Fixtures shared by the unit tests: tiny data sets and a driver for EarlyStopping.

The tests run offline: pytest-socket refuses connections to other machines in this
process (``--allow-hosts`` in pyproject.toml), and every kernel the tests start
runs ``offline/00-offline.py`` first, which does the same inside the kernel.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis.configuration import set_hypothesis_home_dir
from torch import nn

from coursepkg.data import load_digits_split, make_loader, make_sparse_regression
from coursepkg.early_stopping import EarlyStopping

OFFLINE_STARTUP = Path(__file__).parent / "offline/00-offline.py"


def pytest_configure(config):
    """Give every kernel started from the tests a profile that runs the offline startup file.

    Hypothesis keeps its files in a temporary folder too: the tests leave the tree as it was.
    """
    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))
    profile = Path(tempfile.mkdtemp(prefix="ipython-offline-"))
    (profile / "profile_default/startup").mkdir(parents=True)
    shutil.copy(OFFLINE_STARTUP, profile / "profile_default/startup")
    os.environ["IPYTHONDIR"] = str(profile)


@pytest.fixture(scope="session")
def digits():
    return load_digits_split(n_train=300, n_val=100, n_test=100, seed=0)


@pytest.fixture(scope="session", params=[0, 1, 2], ids=lambda seed: f"seed{seed}")
def sparse_data(request):
    """The lasso problem of the chapter (100 samples, 20 features, 3 informative,
    noise 0.5), in float64, for a few seeds."""
    return make_sparse_regression(100, 20, n_informative=3, noise=0.5, seed=request.param)


@pytest.fixture
def blobs():
    """96 points in 4-D: 3 Gaussian clusters, one per class, that overlap a little."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(96) % 3
    x = 2.5 * torch.eye(4)[y] + torch.randn(96, 4, generator=g)
    return x, y


@pytest.fixture
def blob_loaders(blobs):
    """Shuffled training loader of 64 samples (batches 16), fixed-order validation of 32."""
    x, y = blobs
    train = make_loader(x[:64], y[:64], batch_size=16, seed=0)
    val = make_loader(x[64:], y[64:], batch_size=10, shuffle=False)
    return train, val


@pytest.fixture
def early_stopping_run():
    """Return ``run(losses, patience, **kwargs) -> (stop_epoch, stopper)`` that feeds
    ``losses`` to :meth:`EarlyStopping.step` until it says stop (epochs from 1)."""

    def run(losses, patience, **kwargs):
        stopper = EarlyStopping(patience, **kwargs)
        model = nn.Linear(1, 1)
        for epoch, loss in enumerate(losses, start=1):
            if stopper.step(loss, model):
                return epoch, stopper
        return len(losses), stopper

    return run
