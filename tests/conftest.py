"""Shared settings and data for the test suite.

Tiny fits often leave a cluster (nearly) empty and warn about it; that warning is ignored by
default so it does not drown the report. ``pytest.warns`` still sees it (it records every
warning), which is how test_api.py checks it.
"""

import numpy as np
import pytest
import torch


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore::ganclust.ClusterCollapseWarning")
    # The networks under test are tiny: one intra-op thread is as fast as several, and much
    # faster when the (2-core) machine is shared with another job. The cross-process
    # reproducibility test passes this count on to its subprocess.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def blobs():
    """60 vectors in 5 dimensions around 3 well-separated centres, and their labels."""
    from sklearn.datasets import make_blobs

    return make_blobs(60, n_features=5, centers=3, cluster_std=0.5, random_state=0)


@pytest.fixture(scope="session")
def uint8_images():
    """40 random 8x8 uint8 images."""
    return np.random.RandomState(1).randint(0, 256, size=(40, 8, 8)).astype(np.uint8)
