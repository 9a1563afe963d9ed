"""The clustering GANs, each a :class:`~ganclust.methods._spec.Method` of plain functions."""

from __future__ import annotations

from . import catgan, clustergan, infogan
from ._spec import Method, NetConfig, Step, Weights

METHODS: dict[str, Method] = {m.METHOD.name: m.METHOD for m in (clustergan, infogan, catgan)}

__all__ = ["METHODS", "Method", "NetConfig", "Step", "Weights"]
