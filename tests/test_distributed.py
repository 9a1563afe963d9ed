"""Training on several processes launched by torchrun (gloo on the CPU): each rank trains on
its own part of every batch, every rank ends with rank 0's model, and rank 0 alone writes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganclust import distributed
from ganclust.cli import main
from ganclust.distributed import World

WORKER = Path(__file__).parent / "distributed" / "worker.py"
pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)


def torchrun(args, cwd, processes=2):
    """Run ``torchrun --standalone --nproc-per-node N ARGS``; returns the finished process."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", *args]  # fmt: skip
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_a_batch_is_split_into_disjoint_parts_that_cover_it():
    batch = torch.randperm(37)
    parts = [distributed.shard(batch, World(rank, 3)) for rank in range(3)]
    assert [len(p) for p in parts] == [13, 12, 12]
    assert torch.equal(torch.cat(parts), batch)
    assert distributed.shard(batch, World()) is batch


def test_each_rank_draws_from_a_seed_of_its_own():
    seeds = [distributed.rank_seed(7, rank) for rank in range(4)]
    assert len(set(seeds)) == 4
    assert seeds == [distributed.rank_seed(7, rank) for rank in range(4)]


def test_one_process_is_not_a_shared_world():
    assert distributed.world() == World(0, 1) and World().main and not World().shared
    assert distributed.launched_size() == 1


@pytest.mark.parametrize("flag", [["--data", "digits", "--keep-checkpoint"], ["--resume", "x"]])
def test_checkpoint_flags_are_refused_under_torchrun(flag, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.chdir(tmp_path)
    assert main(["fit", *flag]) == 2
    err = capsys.readouterr().err
    assert "is for one process; under torchrun (2 processes) a fit is not checkpointed" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_library_under_torchrun_shards_batches_and_ends_with_one_reproducible_model(tmp_path):
    done = torchrun([str(WORKER), str(tmp_path)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    assert [int(r["size"]) for r in ranks] == [2, 2]
    # each global batch of 32 is split in two halves of 16, and the halves are disjoint
    lengths = [r["batch_lengths"] for r in ranks]
    assert np.array_equal(lengths[0], lengths[1]) and set(lengths[0]) == {14, 16}
    batches = [np.split(r["batches"], np.cumsum(lengths[0])[:-1]) for r in ranks]
    for ours, theirs in zip(*batches, strict=True):
        assert not set(ours) & set(theirs)
    # an epoch of 60 samples is a batch of 32 and one of 28: each rank sees 16 + 14 of them,
    # and together the ranks see every sample once
    per_rank = int(lengths[0][:2].sum())
    epoch = np.concatenate([r["batches"][:per_rank] for r in ranks])
    assert sorted(epoch) == list(range(60))
    # the ranks' own draws differ; the fit's seed (drawn, no random_state) is rank 0's
    assert ranks[0]["seeds"][0] != ranks[1]["seeds"][0]
    assert int(ranks[0]["fit_seed"]) == int(ranks[1]["fit_seed"])
    # the averaged gradients leave both ranks with the same model
    assert np.array_equal(ranks[0]["weights"], ranks[1]["weights"])
    assert np.array_equal(ranks[0]["labels"], ranks[1]["labels"])
    for r in ranks:
        assert "checkpoint_dir is not supported when training on 2 processes" in str(r["refused"])
        # the group the library started is freed, threads and all, before the interpreter exits
        assert list(r["gloo_threads"]) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rank0.npz", "rank1.npz"]
    # the same launch again trains the same model: a two-process fit is reproducible
    again = tmp_path / "again"
    again.mkdir()
    assert torchrun([str(WORKER), str(again)], cwd=again).returncode == 0
    seeded = ranks[0]["seeded_weights"]
    assert np.array_equal(np.load(again / "rank0.npz")["seeded_weights"], seeded)


@pytest.mark.slow
def test_cli_under_torchrun_trains_and_rank_zero_alone_writes(tmp_path):
    args = ["-m", "ganclust", "fit", "--data", "digits", "--max-epochs", "2",
            "--random-state", "0", "--out", "run"]  # fmt: skip
    done = torchrun(args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("wrote run/") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["processes"] == 2
    assert run["command"][:2] == ["torchrun", "--nproc-per-node=2"]
    # digits is easy for a working model, even after 2 epochs
    assert run["metrics"]["acc"] > 0.85
    shutil.rmtree(tmp_path / "run")
