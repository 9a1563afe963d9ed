"""Shared settings and data for the test suite.

``TINY`` holds the settings of a fit small enough to run in a second or two; ``tiny(**overrides)``
returns a copy with ``overrides`` applied, merging an ``options`` override into ``TINY``'s options
rather than replacing them (``tiny(max_epochs=5, options={"refine": 0})`` keeps ``width``).
Test modules import both from here (``from conftest import TINY, tiny``).

Tiny fits often leave a cluster (nearly) empty, or one their refinement's maps disagree on, and
warn about it; those warnings are ignored by default so they do not drown the report.
``pytest.warns`` still sees them (it records every warning), which is how the tests check them.

Tests that take more than about ten seconds are marked ``slow``. They run by default (CI runs
everything); ``pytest -m "not slow"`` skips them for a quick check.
"""

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from ganclust import CatGAN, ClusterGAN, InfoGAN

TINY = dict(
    options={"width": 16}, max_epochs=2, batch_size=32, latent_dim=4, device="cpu", random_state=0
)
METHODS = [ClusterGAN, InfoGAN, CatGAN]
by_method = pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)


def tiny(**overrides):
    """``TINY`` with ``overrides``; an ``options`` override is merged into ``TINY``'s options."""
    settings = copy.deepcopy(TINY)
    options = {**settings.pop("options"), **(overrides.pop("options", None) or {})}
    settings.update(overrides)
    settings["options"] = options
    return settings


# smaller still, for tests that only need a fitted model to exist: one epoch, k-means
# pseudo-labels, no refinement
SMALL = tiny(max_epochs=1, options={"width": 8, "init": "kmeans", "refine": 0})


def timeless(history):
    """A fit's ``history_`` without the wall-clock ``seconds`` of each epoch, which no two fits
    share: what the same ``random_state`` must reproduce exactly."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore::ganclust.ClusterCollapseWarning")
    config.addinivalue_line("filterwarnings", "ignore::ganclust.ClusterQualityWarning")
    config.addinivalue_line(
        "markers", "slow: takes more than about 10 s (deselect with -m 'not slow')"
    )
    # The networks under test are tiny: one intra-op thread is as fast as several, and much
    # faster when the (2-core) machine is shared with another job. The cross-process
    # reproducibility test passes this count on to its subprocess.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def blobs():
    """60 vectors in 5 dimensions around 3 well-separated centres, and their labels."""
    return make_blobs(60, n_features=5, centers=3, cluster_std=0.5, random_state=0)


@pytest.fixture(scope="session")
def uint8_images():
    """40 random 8x8 uint8 images."""
    return np.random.RandomState(1).randint(0, 256, size=(40, 8, 8)).astype(np.uint8)
