"""The complete state of a training loop at a batch boundary, to continue it exactly.

A :class:`LoopState` holds every network's weights (the live ones and their moving average),
every optimiser's state, the explicit and the global random generators, the epoch's shuffled
order and partial loss sums, the stop criterion's counters and the history. Restoring it into
freshly built networks and optimisers continues the loop as if it had never stopped: on the CPU
the result is bit-identical at the same thread count. :meth:`LoopState.to_file` gives plain
tensors and JSON (no pickle), for a checkpoint file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class LoopState:
    """Where a training loop stands (see the module docstring)."""

    epoch: int
    batch: int
    step_count: int
    best: float
    stale: int
    learning_rate: float
    rollbacks: int
    history: list[dict[str, Any]]
    sums: dict[str, float]
    counts: dict[str, int]
    # whether the stop criterion ended the run (so a resumed loop trains no further)
    stopped: bool = False
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    param_groups: list[list[dict[str, Any]]] = field(default_factory=list)

    def to_file(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Tensors and JSON that :meth:`from_file` reads back."""
        meta = {
            "epoch": self.epoch,
            "batch": self.batch,
            "step_count": self.step_count,
            "best": None if math.isinf(self.best) else self.best,
            "stale": self.stale,
            "learning_rate": self.learning_rate,
            "rollbacks": self.rollbacks,
            "history": self.history,
            "sums": self.sums,
            "counts": self.counts,
            "stopped": self.stopped,
            "param_groups": self.param_groups,
        }
        return dict(self.tensors), meta

    @classmethod
    def from_file(cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> LoopState:
        """Rebuild a state written by :meth:`to_file`."""
        best = meta["best"]
        return cls(
            epoch=int(meta["epoch"]),
            batch=int(meta["batch"]),
            step_count=int(meta["step_count"]),
            best=float("inf") if best is None else float(best),
            stale=int(meta["stale"]),
            learning_rate=float(meta["learning_rate"]),
            rollbacks=int(meta["rollbacks"]),
            history=list(meta["history"]),
            sums={str(k): float(v) for k, v in meta["sums"].items()},
            counts={str(k): int(v) for k, v in meta["counts"].items()},
            stopped=bool(meta["stopped"]),
            tensors=dict(tensors),
            param_groups=[list(groups) for groups in meta["param_groups"]],
        )


def _json_group(group: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}


def capture(
    nets: nn.ModuleDict,
    averaged: nn.ModuleDict,
    optimizers: list[torch.optim.Optimizer],
    rng: torch.Generator,
    extra: dict[str, torch.Tensor],
    **counters: Any,
) -> LoopState:
    """Copy everything the loop needs to continue (``counters`` are LoopState's plain fields)."""
    tensors = {f"nets.{k}": v.detach().clone() for k, v in nets.state_dict().items()}
    if averaged is not nets:
        tensors.update(
            {f"averaged.{k}": v.detach().clone() for k, v in averaged.state_dict().items()}
        )
    groups = []
    for i, optimizer in enumerate(optimizers):
        state = optimizer.state_dict()
        for index, slots in state["state"].items():
            for slot, value in slots.items():
                tensors[f"opt{i}.{index}.{slot}"] = torch.as_tensor(value).detach().clone()
        groups.append([_json_group(g) for g in state["param_groups"]])
    tensors["rng"] = rng.get_state().clone()
    tensors["torch_rng"] = torch.get_rng_state().clone()
    tensors.update({k: v.detach().clone() for k, v in extra.items()})
    return LoopState(tensors=tensors, param_groups=groups, **counters)


def restore(
    state: LoopState,
    nets: nn.ModuleDict,
    averaged: nn.ModuleDict,
    optimizers: list[torch.optim.Optimizer],
    rng: torch.Generator,
) -> None:
    """Put ``state`` back into the loop's networks, optimisers and generators, in place."""
    t = state.tensors
    nets.load_state_dict(_prefixed(t, "nets."), strict=True)
    if averaged is not nets:
        averaged.load_state_dict(_prefixed(t, "averaged."), strict=True)
    for i, optimizer in enumerate(optimizers):
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in _prefixed(t, f"opt{i}.").items():
            index, slot = key.split(".", 1)
            slots.setdefault(int(index), {})[slot] = value.clone()
        groups = [dict(g) for g in state.param_groups[i]]
        optimizer.load_state_dict({"state": slots, "param_groups": groups})
    rng.set_state(t["rng"].clone())
    torch.set_rng_state(t["torch_rng"].clone())


def _prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
