"""The command line: ``ganclust fit | predict | sample | evaluate | report | datasets``.

The estimator flags are generated from the estimators' signatures and the constraint table of
:mod:`ganclust._params`, one to one: ``--n-clusters`` sets ``n_clusters``, and ``--option
KEY=VALUE`` sets one research option. ``fit --help`` shows the common flags; ``--help-all`` every
flag. Bad input or files exit with status 2, an interrupt 130, a bug 1 (``GANCLUST_DEBUG=1``
shows its traceback), each with one line on stderr; a reader closing the pipe early is no error.
A warning is one line too, ``ganclust fit: warning: ...``. Nothing here imports torch until a
command runs, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ._cli_data import load_cli_data, load_cli_data_with_ids
from ._cli_fit import cmd_fit
from ._cli_parser import build_parser

EXIT_BAD_INPUT = 2
EXIT_BUG = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module's docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if getattr(args, "help_all", False):
        build_parser(show_all=True).parse_args(["fit", "--help"])
    try:
        with _warnings_as_lines(args.command):
            status = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit as an ignored exception
        return status
    except BrokenPipeError:
        # stdout to /dev/null, so the flush at exit does not fail (a captured one has no fd)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        _error_line("ganclust: interrupted")
        return 130  # 128 + SIGINT, as a shell reports it
    except (ValueError, OSError, RuntimeError, MemoryError) as exc:
        _error_line(f"ganclust {args.command}: error: {_first_line(exc)}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if os.environ.get("GANCLUST_DEBUG"):
            raise
        bug = f"{type(exc).__name__}: {_first_line(exc)} (a bug; GANCLUST_DEBUG=1 shows where)"
        _error_line(f"ganclust {args.command}: unexpected error: {bug}")
        return EXIT_BUG


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"out of memory {text}".strip() if isinstance(exc, MemoryError) else text or "error"


def _error_line(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a closed stderr: no one left to tell
        print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Print each warning the command raises as one line, ``ganclust CMD: warning: ...``,
    rather than as Python's file, line number and source line."""

    def show(message, category, filename, lineno, file=None, line=None):
        _error_line(f"ganclust {command}: warning: {' '.join(str(message).split())}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def cmd_predict(args: argparse.Namespace) -> int:
    """``ganclust predict``: labels for new data from a saved model."""
    from .estimators import load
    from .runs import label_rows, write_labels

    model = load(args.model)
    data = load_cli_data_with_ids(args)
    proba = model.predict_proba(data.X)
    labels = proba.argmax(axis=1)
    if args.out:
        write_labels(Path(args.out), labels, proba, ids=data.ids, y=data.y)
    else:
        sys.stdout.writelines(label_rows(labels, proba, ids=data.ids, y=data.y))
        sys.stdout.flush()
    return 0


SAMPLE_SUFFIXES = (".npy", ".png", ".csv")


def cmd_sample(args: argparse.Namespace) -> int:
    """``ganclust sample``: generate samples with a saved model; every one is written."""
    from ._files import atomic_file
    from .estimators import load

    model = load(args.model)
    out = Path(args.out)
    if out.suffix.lower() not in SAMPLE_SUFFIXES:
        raise ValueError(f"--out must end in .npy, .png or .csv; got {out.name!r}")
    is_image = model.preprocessor_.is_image
    if out.suffix.lower() == ".csv" and is_image:
        raise ValueError("this model makes images, which a .csv cannot hold; use .npy or .png")
    X, clusters = model.sample(args.n_samples, cluster=args.cluster, random_state=args.random_state)
    k = model.settings_.n_clusters
    with atomic_file(out) as tmp:
        if out.suffix.lower() == ".npy":
            with open(tmp, "wb") as handle:
                np.save(handle, X)
        elif out.suffix.lower() == ".csv":
            from ._run_read import feature_names_of, write_samples_csv

            write_samples_csv(tmp, X, clusters, feature_names_of(Path(args.model), X.shape[1]))
        elif is_image:
            from .plots import save_image_grid

            save_image_grid(X, clusters, tmp, n_clusters=k)
        else:
            from .plots import save_scatter

            save_scatter(X, clusters, tmp, n_clusters=k)
    print(f"wrote {len(X)} samples of cluster(s) {sorted(set(clusters.tolist()))} to {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``ganclust report``: write a run folder's ``report.html`` (the data is loaded again)."""
    from ._cli_data import recorded_args
    from ._run_read import read_labels, read_run
    from .estimators import load
    from .report import write_report

    folder = Path(args.run)
    run = read_run(folder)
    data = load_cli_data_with_ids(recorded_args(run, args))
    ids, labels, confidence = read_labels(folder / "labels.csv")
    if len(labels) != len(data.X):
        raise ValueError(
            f"--data {data.spec} has {len(data.X)} samples but {folder} was fitted on "
            f"{len(labels)}; pass the run's data with --data"
        )
    model = load(folder)
    out = Path(args.out) if args.out else folder / "report.html"
    write_report(out, model, run, data.X, data.y, labels, confidence, data.ids or ids)
    print(f"wrote {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``ganclust evaluate``: ACC / NMI / ARI / purity of a saved model on labelled data."""
    from .estimators import load
    from .metrics import evaluate

    model = load(args.model)
    _, X, y = load_cli_data(args)
    if y is None:
        raise ValueError(f"{args.data} has no labels to evaluate against")
    print(json.dumps(evaluate(y, model.predict(X)), indent=2))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """``ganclust datasets``: the named datasets, their size and whether they are cached."""
    from .datasets import format_dataset_table, list_datasets

    print(format_dataset_table(list_datasets(data_home=args.data_home)))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "fit": cmd_fit,
    "predict": cmd_predict,
    "sample": cmd_sample,
    "evaluate": cmd_evaluate,
    "report": cmd_report,
    "datasets": cmd_datasets,
}
