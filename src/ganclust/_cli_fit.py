"""``ganclust fit``: load the data, train with checkpoints, write the run folder; resume.

While a fit runs, its checkpoint lives in a hidden folder beside ``--out``
(``.ganclust-ckpt.<name>``) with the command that started it, so that ``ganclust fit --resume
OUT`` can continue it after a crash, a SIGKILL or Ctrl-C, and end with exactly the labels an
uninterrupted run would give (on the CPU, at the same thread count).
"""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ._cli_parser import build_parser, parse_options
from .estimators import ESTIMATORS


def load_cli_data(args: argparse.Namespace, default: str | None = None):
    from .datasets import load_data

    spec = args.data or default
    size = None
    if args.image_size:
        try:
            size = tuple(int(v) for v in args.image_size.lower().split("x"))
        except ValueError:
            size = ()
        if len(size) != 2:
            raise ValueError(f"--image-size must look like 28x28; got {args.image_size!r}")
    label_column: Any = args.label_column
    if label_column is not None and label_column.lstrip("-").isdigit():
        label_column = int(label_column)
    try:
        X, y = load_data(
            spec,
            label_column=label_column,
            image_size=size,
            split=args.split,
            mirror=args.mirror,
            verify=not args.no_verify,
            progress=not getattr(args, "quiet", False),
        )
    except (ValueError, OSError, MemoryError):
        raise
    except Exception as exc:  # a reader's own error type (a corrupt archive, an image bomb)
        raise ValueError(f"cannot read --data {spec}: {type(exc).__name__}: {exc}") from exc
    return spec, X, y


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
    accepted = inspect.signature(ESTIMATORS[args.method].__init__).parameters
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

    argv = list(getattr(args, "argv", sys.argv[1:])) if args.resume is None else None
    if args.resume is not None:
        given = [k for k, v in vars(args).items() if k.startswith("param_")]
        if given or args.data or args.out or args.option:
            raise ValueError("--resume takes no other settings: they come from the interrupted fit")
        args = _resumed_args(args)
    params = _estimator_params(args)
    spec, X, y = load_cli_data(args, default="digits")
    name = Path(spec).stem if Path(spec).exists() else spec
    out = Path(args.out or f"runs/{name}-{args.method}")
    checkpoints = checkpoint_folder(out)
    # refuses a bad destination before training; on failure, removes the folders it created
    with RunFolder(out, overwrite=args.overwrite) as run:
        if argv is not None:
            checkpoints.mkdir(parents=True, exist_ok=True)
            fit_argv = [*argv, "--out", str(out)] if args.out is None else argv
            (checkpoints / "command.json").write_text(json.dumps({"argv": fit_argv}) + "\n")
        model = ESTIMATORS[args.method](**params)
        board = _board(args.tensorboard)
        started = time.perf_counter()
        try:
            model.fit(X, checkpoint_dir=checkpoints, keep_checkpoint=True, callback=board)
        except KeyboardInterrupt:
            print(
                f"ganclust fit: interrupted; resume with: ganclust fit --resume {out}",
                file=sys.stderr,
            )
            return 130
        except Exception:
            # a fit that failed (diverged, bad settings) would fail again: nothing to resume
            shutil.rmtree(checkpoints, ignore_errors=True)
            raise
        seconds = time.perf_counter() - started
        if board is not None:
            from ._tensorboard import write_embedding

            write_embedding(board.summary, model, X, y)
            board.summary.close()
        from ._run_files import write_run

        def contents(tmp: Path) -> dict[str, Any]:
            command = ["ganclust", *(argv or ["fit", "--resume", str(out)])]
            result = write_run(tmp, model, X, y, spec, seconds, command, out)
            if args.keep_checkpoint:
                shutil.copytree(checkpoints, tmp / "checkpoints")
            return result

        summary = run.write(contents)
    shutil.rmtree(checkpoints, ignore_errors=True)
    if not args.quiet:
        print(summary["summary"])
    return 0
