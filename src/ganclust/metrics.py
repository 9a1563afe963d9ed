"""Clustering metrics against known labels.

``clustering_accuracy`` matches clusters to classes one-to-one with the Hungarian algorithm
(scipy's ``linear_sum_assignment``); it is the ACC of the clustering literature, and never exceeds
``purity``, which lets several clusters claim the same class. ``nmi`` is scikit-learn's
normalized mutual information with the arithmetic-mean normalisation (its default; the ``sqrt``
variant some papers use differs slightly); ``ari`` is the adjusted Rand index.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = ["ari", "clustering_accuracy", "evaluate", "nmi", "purity"]


def _check(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred have different lengths ({len(y_true)} and {len(y_pred)})"
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_pred are empty")
    return y_true, y_pred


def clustering_accuracy(y_true: object, y_pred: object) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes (Hungarian).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes.
    y_pred : array-like of shape (n_samples,)
        Cluster ids; any integers or labels, any number of clusters.

    Returns
    -------
    float
        Fraction of samples whose cluster is matched to their class, in [0, 1]. With more
        clusters than classes, unmatched clusters count as wrong.
    """
    y_true, y_pred = _check(y_true, y_pred)
    table = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(y_true))


def purity(y_true: object, y_pred: object) -> float:
    """Fraction of samples whose cluster's majority class is their class.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True classes and cluster ids.

    Returns
    -------
    float
        Purity in [0, 1]; always at least :func:`clustering_accuracy`.
    """
    y_true, y_pred = _check(y_true, y_pred)
    table = contingency_matrix(y_true, y_pred)
    return float(table.max(axis=0).sum() / len(y_true))


def nmi(y_true: object, y_pred: object) -> float:
    """Normalized mutual information, arithmetic-mean normalisation (scikit-learn's default).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True classes and cluster ids.

    Returns
    -------
    float
        NMI in [0, 1].
    """
    y_true, y_pred = _check(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic"))


def ari(y_true: object, y_pred: object) -> float:
    """Adjusted Rand index (scikit-learn's ``adjusted_rand_score``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True classes and cluster ids.

    Returns
    -------
    float
        ARI, 1 for a perfect match and about 0 for a random one.
    """
    y_true, y_pred = _check(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def evaluate(y_true: object, y_pred: object) -> dict[str, float]:
    """All metrics at once.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True classes and cluster ids.

    Returns
    -------
    dict
        ``{"acc", "nmi", "ari", "purity", "n_samples"}``.
    """
    return {
        "acc": clustering_accuracy(y_true, y_pred),
        "nmi": nmi(y_true, y_pred),
        "ari": ari(y_true, y_pred),
        "purity": purity(y_true, y_pred),
        "n_samples": int(len(np.asarray(y_true).ravel())),
    }
