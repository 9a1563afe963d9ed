"""Whether ``n_clusters="auto"`` settled K, read from its looks (as the JSON a model keeps).

Two signs that the silhouettes did not settle K, each absent from every fit of the tuned sets
(docs/method.md, "When the looks disagree"):

- the looks disagree: the data's map, the map under rotations and the learned features named
  K ``UNSURE_SPREAD`` or more apart (one apart is the pixel map's extra cluster for a class
  drawn at two slants, which the other looks remove);
- a look is flat: the lowest and highest candidates within noise of its best score (the
  margin the estimate's one-standard-error rule uses) lie ``UNSURE_RANGE`` or more apart, so
  that it could not tell those K apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

UNSURE_SPREAD = 2
UNSURE_RANGE = 3


def within_noise(candidates: np.ndarray, scores: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """The candidates whose score is within one standard error of its difference from the
    best score, ``sqrt(errors[best]**2 + errors[k]**2)``, in the candidates' order."""
    best = int(np.argmax(scores))
    margin = np.sqrt(errors[best] ** 2 + errors**2)
    return candidates[scores >= scores[best] - margin]


def _looks(estimate: dict[str, Any]) -> list[tuple[str, int]]:
    """``(name, K)`` of each look taken, in order: the data's map, the map under rotations
    where it was read, the learned features where they were looked at."""
    data, features = estimate["data_map"], estimate.get("features")
    looks = [("the data's map", int(data["n_clusters"]))]
    if data.get("rotated"):
        looks.append(("the map under rotations", int(data["rotated"]["n_clusters"])))
    if features:
        looks.append(("the learned features", int(features["n_clusters"])))
    return looks


def named_ks(estimate: dict[str, Any]) -> list[int]:
    """The K each look named, in the order of :func:`_looks`."""
    return [k for _, k in _looks(estimate)]


def looks_phrase(estimate: dict[str, Any]) -> str:
    """Each look's K, as one phrase."""
    said = [f"{name} {k}" for name, k in _looks(estimate)]
    return f"{', '.join(said[:-1])} and {said[-1]}" if len(said) > 1 else said[0]


def _flat_looks(estimate: dict[str, Any]) -> list[tuple[str, int, int]]:
    """``(what it scores, lowest, highest)`` of each silhouette look whose K within noise span
    ``UNSURE_RANGE`` or more."""
    looks = [("the data's map scores", estimate["data_map"]), ("the learned features score",
             estimate.get("features"))]  # fmt: skip
    flat = []
    for name, look in looks:
        if not look or look.get("measure", "silhouette") != "silhouette":
            continue
        arrays = (np.asarray(look[key], float) for key in ("candidates", "scores", "errors"))
        near = within_noise(*arrays)
        if near.max() - near.min() >= UNSURE_RANGE:
            flat.append((name, int(near.min()), int(near.max())))
    return flat


def doubts(estimate: dict[str, Any]) -> list[str]:
    """Why the looks left K in doubt, one phrase per sign (none where they settled it)."""
    return _doubts(estimate, _flat_looks(estimate))


def _doubts(estimate: dict[str, Any], flat: list[tuple[str, int, int]]) -> list[str]:
    found = []
    named = named_ks(estimate)
    if max(named) - min(named) >= UNSURE_SPREAD:
        found.append(f"its looks disagree ({looks_phrase(estimate)})")
    for scores, low, high in flat:
        found.append(f"{scores} K = {low} to {high} within noise of the best")
    return found


def in_doubt(estimate: dict[str, Any]) -> tuple[str, int, int] | None:
    """Why K is in doubt (the signs joined by "; ") and the range of K to compare fits at: the
    lowest and highest K the looks named or could not tell apart. None where they settled it."""
    flat = _flat_looks(estimate)
    found = _doubts(estimate, flat)
    if not found:
        return None
    ks = named_ks(estimate) + [k for _, *span in flat for k in span]
    return "; ".join(found), min(ks), max(ks)
