"""scikit-learn's own estimator checks, with settings tiny enough to run in seconds."""

import pytest
from conftest import tiny
from sklearn.utils.estimator_checks import parametrize_with_checks

from ganclust import CatGAN, ClusterGAN, InfoGAN

TINY = tiny(max_epochs=40, batch_size=16)

# These checks set n_clusters=1, which ganclust rejects by design (a one-cluster "clustering"
# is a user error, and the GANs' K-way heads need K >= 2). What they verify otherwise is covered
# with n_clusters=3 in test_api.py (subset invariance, 1-D input at predict, one feature, and no
# public attributes added by fit).
N_CLUSTERS_ONE = "sets n_clusters=1, which ganclust rejects on purpose; covered in test_api.py"
EXPECTED_FAILED = {
    "check_dont_overwrite_parameters": N_CLUSTERS_ONE,
    "check_fit2d_predict1d": N_CLUSTERS_ONE,
    "check_methods_subset_invariance": N_CLUSTERS_ONE,
    "check_fit2d_1feature": N_CLUSTERS_ONE,
}


# 1 to 14 s a check (each fits up to a few times for 40 epochs), about 4 minutes in all
@pytest.mark.slow
@parametrize_with_checks(
    [ClusterGAN(3, **TINY), InfoGAN(3, **TINY), CatGAN(3, **TINY)],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
