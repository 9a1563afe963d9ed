"""``ganclust fit``: load the data, train with checkpoints, write the run folder; resume.

While a fit runs, its checkpoint lives in a hidden folder beside ``--out``
(``.ganclust-ckpt.<name>``) with the command that started it, so that ``ganclust fit --resume
OUT`` can continue it after a crash, a SIGKILL or Ctrl-C, and end with exactly the labels an
uninterrupted run would give (on the CPU, at the same thread count).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from ._cli_data import CliData, data_record, load_cli_data_with_ids, note_classes
from ._cli_data import load_cli_data as load_cli_data  # re-exported: the commands' data loader
from ._cli_parser import build_parser, parse_options
from ._cli_signatures import estimator_signatures
from ._launch import launched_rank, launched_size


def checkpoint_folder(out: Path) -> Path:
    """Where a fit to ``out`` keeps its checkpoint until the run folder is written."""
    return out.parent / f".ganclust-ckpt.{out.name}"


def _resumed_args(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments of the interrupted command that ``--resume OUT`` continues."""
    out = Path(args.resume)
    command = checkpoint_folder(out) / "command.json"
    if not command.is_file():
        finished = " (it is a finished run folder)" if out.is_dir() else ""
        raise ValueError(f"no interrupted fit to resume for {out}{finished}: {command} not found")
    try:
        argv = json.loads(command.read_text())["argv"]
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{command} is not a command ganclust wrote") from None
    resumed = build_parser().parse_args(argv)
    resumed.quiet = resumed.quiet or args.quiet
    return resumed


def _estimator_params(args: argparse.Namespace) -> dict[str, Any]:
    params = {k[len("param_") :]: v for k, v in vars(args).items() if k.startswith("param_")}
    accepted = estimator_signatures()[args.method]
    foreign = sorted(n for n in params if n not in accepted)
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        raise ValueError(f"{flags} does not apply to --method {args.method}")
    if args.option:
        params["options"] = parse_options(args.option, args.method)
    params.setdefault("verbose", 0 if args.quiet else 1)
    return params


def _board(folder: str | None) -> Any:
    """The TensorBoard callback for ``--tensorboard FOLDER``, or None."""
    if folder is None:
        return None
    from ._tensorboard import EpochScalars, writer

    return EpochScalars(writer(folder))


def cmd_fit(args: argparse.Namespace) -> int:
    """``ganclust fit``: train with checkpoints, then write the run folder."""
    from .runs import RunFolder

    _refuse_checkpoints_on_ranks(args)
    argv = list(getattr(args, "argv", sys.argv[1:])) if args.resume is None else None
    if args.resume is not None:
        defaults = vars(build_parser().parse_args(["fit"]))
        allowed = {"resume", "quiet", "argv", "help_all"}
        given = sorted(
            k for k, v in vars(args).items() if k not in allowed and defaults.get(k, None) != v
        )
        if given:
            flags = ", ".join("--" + k.removeprefix("param_").replace("_", "-") for k in given)
            raise ValueError(
                f"--resume takes no other settings (got {flags}): they come from the "
                "interrupted fit"
            )
        args = _resumed_args(args)
    params = _estimator_params(args)
    if launched_size() > 1:
        return _fit_on_ranks(args, params)
    data = load_cli_data_with_ids(args, default="digits")
    name = Path(data.spec).stem if Path(data.spec).exists() else data.spec
    out = Path(args.out or f"runs/{name}-{args.method}")
    checkpoints = checkpoint_folder(out)
    # refuses a bad destination before training; on failure, removes the folders it created
    with RunFolder(out, overwrite=args.overwrite) as run:
        if argv is not None:
            checkpoints.mkdir(parents=True, exist_ok=True)
            fit_argv = [*argv, "--out", str(out)] if args.out is None else argv
            (checkpoints / "command.json").write_text(json.dumps({"argv": fit_argv}) + "\n")
        note_classes(data.y, args, estimator_signatures()[args.method]["n_clusters"])
        fitted = _train(args, params, data, checkpoints, out)
        if fitted is None:
            return 130
        model, seconds = fitted
        command = ["ganclust", *(argv or ["fit", "--resume", str(out)])]
        try:
            summary = run.write(
                lambda tmp: _contents(tmp, args, model, data, seconds, command, out)
            )
        except ValueError:
            # the destination was refused at commit (another run took it): resuming would be
            # refused the same way, so the checkpoint goes
            shutil.rmtree(checkpoints, ignore_errors=True)
            raise
        except Exception as exc:
            # the training is done and in its checkpoint: nothing is lost, say how to finish
            raise RuntimeError(
                f"writing {out} failed ({exc}); the trained fit is kept in {checkpoints.name}: "
                f"`ganclust fit --resume {out}` writes the run folder without training again"
            ) from exc
    shutil.rmtree(checkpoints, ignore_errors=True)
    if not args.quiet:
        print(summary["summary"])
    return 0


def _refuse_checkpoints_on_ranks(args: argparse.Namespace) -> None:
    """Under torchrun a fit is not checkpointed: refuse the flags that need a checkpoint."""
    if launched_size() > 1 and (args.resume is not None or args.keep_checkpoint):
        flag = "--resume" if args.resume is not None else "--keep-checkpoint"
        raise ValueError(
            f"{flag} is for one process; under torchrun ({launched_size()} processes) a fit "
            "is not checkpointed"
        )


def _fit_on_ranks(args: argparse.Namespace, params: dict[str, Any]) -> int:
    """``ganclust fit`` under torchrun: every rank trains, rank 0 alone writes and prints.

    Checkpoints and ``--resume`` are for one process (see :mod:`ganclust.distributed`).
    """
    if launched_rank() == 0:
        from .runs import RunFolder

        data = load_cli_data_with_ids(args, default="digits")
        name = Path(data.spec).stem if Path(data.spec).exists() else data.spec
        out = Path(args.out or f"runs/{name}-{args.method}")
        argv = list(getattr(args, "argv", sys.argv[1:]))
        with RunFolder(out, overwrite=args.overwrite) as run:
            note_classes(data.y, args, estimator_signatures()[args.method]["n_clusters"])
            fitted = _train(args, params, data, None, out)
            if fitted is None:
                return 130
            model, seconds = fitted
            command = ["torchrun", f"--nproc-per-node={launched_size()}", "-m", "ganclust", *argv]
            summary = run.write(
                lambda tmp: _contents(tmp, args, model, data, seconds, command, out)
            )
        if not args.quiet:
            print(summary["summary"])
        return 0
    with warnings.catch_warnings():  # rank 0 gives every warning once
        warnings.simplefilter("ignore")
        data = load_cli_data_with_ids(args, default="digits")
        from .estimators import ESTIMATORS

        ESTIMATORS[args.method](**{**params, "verbose": 0}).fit(data.X)
    return 0


def _train(
    args: argparse.Namespace,
    params: dict[str, Any],
    data: CliData,
    checkpoints: Path | None,
    out: Path,
) -> tuple[Any, float] | None:
    """Fit the model, with checkpoints (unless None) and TensorBoard; None when interrupted."""
    from .estimators import ESTIMATORS

    model = ESTIMATORS[args.method](**params)
    board = _board(args.tensorboard)
    started = time.perf_counter()
    try:
        model.fit(data.X, checkpoint_dir=checkpoints, keep_checkpoint=True, callback=board)
    except KeyboardInterrupt:
        print(
            f"ganclust fit: interrupted; resume with: ganclust fit --resume {out}", file=sys.stderr
        )
        return None
    except Exception:
        # a fit that failed (diverged, bad settings) would fail again: nothing to resume
        if checkpoints is not None:
            shutil.rmtree(checkpoints, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    if board is not None:
        from ._tensorboard import write_embedding

        write_embedding(board.summary, model, data.X, data.y)
        board.summary.close()
    return model, seconds


def _contents(
    tmp: Path,
    args: argparse.Namespace,
    model: Any,
    data: CliData,
    seconds: float,
    command: list[str],
    out: Path,
) -> dict[str, Any]:
    """Write the run folder's files into ``tmp``; return the printable summary."""
    from ._run_files import write_run

    record = data_record(args, data.spec)
    result = write_run(tmp, model, data, record, seconds, command, out, report=args.report)
    if args.keep_checkpoint:
        shutil.copytree(checkpoint_folder(out), tmp / "checkpoints")
    return result
