"""Data-parallel training over processes that ``torchrun`` launched (torch.distributed).

Under ``torchrun --nproc-per-node N`` every process runs the whole fit. The manifold steps
(t-SNE, the Gaussian mixtures, the read-out) are computed on every rank, on the same data with
the same seeds; the training epochs are what is shared out. Each rank trains on its own part
of every batch (the global batch is ``batch_size``, so the steps per epoch are those of one
process) and the gradients are averaged over the ranks before every optimiser step, so every
rank holds the same weights. What the training must agree on is made to agree by rank 0: the
initial weights, the pseudo-labels, the batch-norm statistics and the final weights are
broadcast from it or averaged. Rank 0 alone prints and writes files.

Outside torchrun (no ``WORLD_SIZE`` above 1 in the environment, and no process group started by
the caller) nothing here does anything, and a fit is the one-process fit, bit for bit.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from ._launch import launched_rank, launched_size  # noqa: F401 (re-exported)

Number = TypeVar("Number", int, float, bool)


@dataclass(frozen=True)
class World:
    """This process's place among the ranks: ``rank`` of ``size`` (0 of 1 alone)."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Whether this process is rank 0, the one that prints and writes files."""
        return self.rank == 0

    @property
    def shared(self) -> bool:
        """Whether the training is shared with other processes."""
        return self.size > 1


def _dist() -> object | None:
    """``torch.distributed`` with a started default process group, else None."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist
    return None


def world() -> World:
    """The process group this process trains in: ``World(0, 1)`` when there is none."""
    dist = _dist()
    if dist is None:
        return World()
    return World(dist.get_rank(), dist.get_world_size())  # type: ignore[attr-defined]


def join(device: torch.device) -> World:
    """Start the default process group when torchrun launched this process, and not yet.

    The backend is nccl for a CUDA device and gloo otherwise. A process group the caller
    started is used as it is, and left to the caller to end; one started here is ended when
    the interpreter exits (:func:`_leave`).
    """
    import torch.distributed as dist

    if _dist() is None and launched_size() > 1:
        if not dist.is_available():
            raise RuntimeError("torchrun launched this process but torch.distributed is missing")
        # torch._dynamo, imported lazily by the first optimiser, keeps references to a process
        # group that exists when it is imported; the group could then never be freed (below)
        import torch._dynamo  # noqa: F401

        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        atexit.register(_leave)
    return world()


def _leave() -> None:
    """End the process group that :func:`join` started, before the interpreter's teardown.

    Left to the interpreter's teardown, the gloo group's threads outlive it, and a rank may
    abort ("terminate called without an active exception", SIGABRT) after a fit that
    succeeded: about one two-process launch in ten on a loaded 2-core machine.
    """
    dist = _dist()
    if dist is not None:
        dist.destroy_process_group()  # type: ignore[attr-defined]


def rank_device(device: torch.device) -> torch.device:
    """The CUDA device of this rank (``cuda:LOCAL_RANK``) for an unindexed ``cuda``."""
    if device.type != "cuda" or device.index is not None or launched_size() == 1:
        return device
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def rank_seed(seed: int, rank: int) -> int:
    """The seed of one rank's own draws (latent codes, augmentations): distinct per rank."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, np.uint32)[0])


def shard(batch: torch.Tensor, here: World) -> torch.Tensor:
    """This rank's part of a global batch of indices: contiguous, disjoint, covering it."""
    if not here.shared:
        return batch
    return batch.tensor_split(here.size)[here.rank]


def agreed(value: Number, here: World | None = None) -> Number:
    """Rank 0's ``value`` (an int or float: a drawn seed, a chosen K, a score) on every rank.

    The decisions the ranks take from what each computed (a K, a run's score, a collapse) are
    taken from rank 0's numbers, so that the ranks never part ways, even where their sums
    round differently (processes on different kinds of machines).
    """
    here = world() if here is None else here
    if not here.shared:
        return value
    sent = broadcast(torch.tensor([float(value)], dtype=torch.float64), here).item()
    return type(value)(sent)


def broadcast(tensor: torch.Tensor, here: World) -> torch.Tensor:
    """Rank 0's ``tensor`` on every rank (in place; also returned)."""
    if here.shared:
        import torch.distributed as dist

        dist.broadcast(tensor, src=0)
    return tensor


def broadcast_module(module: nn.Module, here: World) -> None:
    """Give every rank rank 0's parameters and buffers."""
    if here.shared:
        for tensor in [*module.parameters(), *module.buffers()]:
            broadcast(tensor.data, here)


def average_gradients(params: list[nn.Parameter], here: World) -> None:
    """Replace each gradient by its mean over the ranks, in one all-reduce.

    A gradient one rank lacks (its part of the batch did not reach that parameter) counts as
    zero there; a parameter that no rank has a gradient for keeps none, as in one process, so
    that the optimiser leaves it alone.
    """
    if not here.shared or not params:
        return
    import torch.distributed as dist

    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    present = torch.tensor([float(p.grad is not None) for p in params], device=grads[0].device)
    flat = torch.cat([*(g.reshape(-1) for g in grads), present.to(grads[0].dtype)])
    dist.all_reduce(flat)
    offset = 0
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        count = g.numel()
        reached = bool(flat[len(flat) - len(params) + i] > 0)
        p.grad = (flat[offset : offset + count] / here.size).view_as(g) if reached else None
        offset += count


def average_buffers(module: nn.Module, here: World) -> None:
    """Average the floating-point buffers (batch-norm statistics) over the ranks."""
    if not here.shared:
        return
    import torch.distributed as dist

    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer.data)
            buffer.data /= here.size


def total(values: list[float], here: World) -> list[float]:
    """The sum of ``values`` over the ranks, element by element (same order on every rank)."""
    if not here.shared or not values:
        return values
    import torch.distributed as dist

    summed = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(summed)
    return summed.tolist()
