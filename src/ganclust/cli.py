"""The command line: ``ganclust fit | predict | sample | evaluate | datasets``.

The estimator flags are generated from the estimators' signatures and the constraint table of
:mod:`ganclust._params`, one to one: ``--n-clusters`` sets ``n_clusters``, and ``--option
KEY=VALUE`` sets one research option. ``fit --help`` shows the common flags; ``--help-all`` every
flag. Bad input or files exit with status 2, an interrupt 130, a bug 1 (``GANCLUST_DEBUG=1``
shows its traceback), each with one line on stderr; a reader closing the pipe early is no error.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._params import OPTIONS, PARAMETERS, Rule
from ._version import __version__
from .estimators import ESTIMATORS

EXIT_BAD_INPUT = 2
EXIT_BUG = 1
# the estimator flags ``fit --help`` shows; the rest are under --help-all
COMMON = (
    "n_clusters",
    "max_epochs",
    "batch_size",
    "learning_rate",
    "n_init",
    "backbone",
    "adversarial",
    "recipe",
    "device",
    "random_state",
)

_BOOLEANS = {"true": True, "yes": True, "1": True, "on": True}
_BOOLEANS |= {"false": False, "no": False, "0": False, "off": False}


def _parse_bool(text: str) -> bool:
    """``true/false``, ``yes/no``, ``1/0`` or ``on/off``, in any case."""
    if text.lower() not in _BOOLEANS:
        raise ValueError(text)
    return _BOOLEANS[text.lower()]


def value_parser(rule: Rule) -> Callable[[str], Any]:
    """Parse one flag's text as the table's rule says."""
    kinds: dict[str, Callable[[str], Any]] = {
        "int": int,
        "random_state": int,
        "float": float,
        "bool": _parse_bool,
    }
    base = kinds.get(rule.kind, str)

    def parse(text: str) -> Any:
        if rule.none and text.lower() in ("none", "auto"):
            return None
        return base(text)

    # argparse names the type in its error messages ("invalid bool value: 'maybe'")
    parse.__name__ = getattr(base, "__name__", "str").lstrip("_").replace("parse_", "")
    return parse


def _estimator_params() -> dict[str, inspect.Parameter]:
    params: dict[str, inspect.Parameter] = {}
    for cls in ESTIMATORS.values():
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name not in ("self", "options"):
                params.setdefault(name, p)
    return params


def _flag_help(name: str, rule: Rule, default: Any) -> str:
    shown = f"auto ({rule.auto})" if default is None and rule.auto else repr(default)
    if rule.kind == "choice":
        return f"{rule.help}: {', '.join(rule.choices)} (default: {shown})"
    return f"{rule.help} (default: {shown})"


def _all_flags(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of ``parser`` and of its subcommands."""
    flags = []
    for action in parser._actions:
        flags += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                flags += _all_flags(child)
    return flags


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and a hint, with a guess for a misspelt flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        if "unrecognized arguments:" in message:
            flags = [a for a in message.split(":", 1)[1].split() if a.startswith("--")]
            known = _all_flags(self)
            for flag in flags:
                close = difflib.get_close_matches(flag.split("=")[0], known, n=1)
                if close:
                    message += f" (did you mean {close[0]}?)"
                    break
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def _add_data_args(parser: argparse.ArgumentParser, required: bool, show_all: bool) -> None:
    parser.add_argument(
        "--data",
        required=required,
        help="a dataset name (see `ganclust datasets`) or a .npy/.npz/.csv/.tsv file or image "
        "folder" + ("" if required else " (default: the bundled sklearn digits)"),
    )
    parser.add_argument("--label-column", help="CSV/TSV column holding labels (name or index)")
    hidden = argparse.SUPPRESS
    parser.add_argument(
        "--split", default="train", help="split of a named dataset" if show_all else hidden
    )
    parser.add_argument(
        "--mirror", help="base URL to download named datasets from" if show_all else hidden
    )
    parser.add_argument(
        "--image-size",
        help="resize an image folder's images to HxW (e.g. 28x28)" if show_all else hidden,
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="use a downloaded file that has no pinned checksum (USPS)" if show_all else hidden,
    )


def _add_fit_parser(sub: Any, show_all: bool) -> None:
    fit = sub.add_parser(
        "fit", help="train a model and write a run folder", add_help=True, allow_abbrev=False
    )
    _add_data_args(fit, required=False, show_all=show_all)
    fit.add_argument("--method", choices=sorted(ESTIMATORS), default="clustergan")
    fit.add_argument("--out", help="run folder to write (default: runs/<data>-<method>)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    fit.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    fit.add_argument("--help-all", action="store_true", help="show every flag and exit")
    common = fit.add_argument_group("common estimator parameters")
    advanced = fit.add_argument_group(
        "advanced (the methods' paper knobs, and research options as --option KEY=VALUE)"
    )
    for name, param in _estimator_params().items():
        rule = PARAMETERS[name]
        group = common if name in COMMON else advanced
        shown = name in COMMON or show_all
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest="param_" + name,
            type=value_parser(rule),
            default=argparse.SUPPRESS,
            metavar=name.upper(),
            help=_flag_help(name, rule, param.default) if shown else argparse.SUPPRESS,
        )
    option_help = "; ".join(f"{k}: {r.help}" for k, r in OPTIONS.items())
    advanced.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=("a research option, repeatable. " + option_help) if show_all else argparse.SUPPRESS,
    )


def build_parser(show_all: bool = False) -> argparse.ArgumentParser:
    """The argument parser for every subcommand (``show_all``: list the advanced flags too)."""
    parser = Parser(prog="ganclust", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ganclust {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_fit_parser(sub, show_all)

    predict = sub.add_parser("predict", help="assign samples to clusters with a saved model")
    predict.add_argument("model", help="a model.safetensors file or a run folder")
    _add_data_args(predict, required=True, show_all=True)
    predict.add_argument("--out", help="CSV file to write (default: print to stdout)")

    sample = sub.add_parser("sample", help="generate samples with a saved model")
    sample.add_argument("model", help="a model.safetensors file or a run folder")
    sample.add_argument("-n", "--n-samples", type=int, default=16)
    sample.add_argument("--cluster", type=int, help="cluster of every sample (default: random)")
    sample.add_argument("--random-state", type=int, default=0)
    sample.add_argument("--out", required=True, help="a .npy file (samples) or .png (a grid)")

    evaluate = sub.add_parser("evaluate", help="score a saved model against known labels")
    evaluate.add_argument("model", help="a model.safetensors file or a run folder")
    _add_data_args(evaluate, required=True, show_all=True)

    datasets = sub.add_parser("datasets", help="list the named datasets and whether cached")
    datasets.add_argument("--data-home", help="cache folder (default: $GANCLUST_DATA or XDG)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module's docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "help_all", False):
        build_parser(show_all=True).parse_args(["fit", "--help"])
    try:
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


def _load_data(args: argparse.Namespace, default: str | None = None):
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


def parse_options(items: Sequence[str], method: str) -> dict[str, Any]:
    """``--option KEY=VALUE`` flags as an ``options`` dict, each value parsed by its rule."""
    options: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in OPTIONS:
            known = ", ".join(OPTIONS)
            raise ValueError(f"--option {item!r} is not KEY=VALUE with KEY one of {known}")
        try:
            options[key] = value_parser(OPTIONS[key])(text)
        except ValueError:
            raise ValueError(
                f"--option {key}: cannot read {text!r} as {OPTIONS[key].kind}"
            ) from None
    return options


def cmd_fit(args: argparse.Namespace) -> int:
    """``ganclust fit``: train, then write the run folder."""
    from .runs import RunFolder

    params = {k[len("param_") :]: v for k, v in vars(args).items() if k.startswith("param_")}
    cls = ESTIMATORS[args.method]
    accepted = inspect.signature(cls.__init__).parameters
    foreign = sorted(n for n in params if n not in accepted)
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        raise ValueError(f"{flags} does not apply to --method {args.method}")
    if args.option:
        params["options"] = parse_options(args.option, args.method)
    spec, X, y = _load_data(args, default="digits")
    name = Path(spec).stem if Path(spec).exists() else spec
    out = Path(args.out or f"runs/{name}-{args.method}")
    params.setdefault("verbose", 0 if args.quiet else 1)
    # refuses a bad destination before training; on failure, removes the folders it created
    with RunFolder(out, overwrite=args.overwrite) as run:
        model = cls(**params)
        started = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - started
        from ._run_files import write_run

        summary = run.write(lambda tmp: write_run(tmp, model, X, y, spec, seconds, sys.argv, out))
    if not args.quiet:
        print(summary["summary"])
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``ganclust predict``: labels for new data from a saved model."""
    from .estimators import load
    from .runs import label_rows, write_labels

    model = load(args.model)
    _, X, y = _load_data(args)
    proba = model.predict_proba(X)
    labels = proba.argmax(axis=1)
    if args.out:
        write_labels(Path(args.out), labels, proba, y=y)
    else:
        sys.stdout.writelines(label_rows(labels, proba, y=y))
        sys.stdout.flush()
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``ganclust sample``: generate samples from a saved model."""
    from ._files import atomic_file
    from .estimators import load

    model = load(args.model)
    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise ValueError(f"--out must end in .npy or .png; got {out.name!r}")
    X, clusters = model.sample(args.n_samples, cluster=args.cluster, random_state=args.random_state)
    k = model.settings_.n_clusters
    with atomic_file(out) as tmp:
        if out.suffix == ".npy":
            with open(tmp, "wb") as handle:
                np.save(handle, X)
        elif model.preprocessor_.is_image:
            from .plots import save_image_grid

            save_image_grid(X, clusters, tmp, n_clusters=k)
        else:
            from .plots import save_scatter

            save_scatter(X, clusters, tmp, n_clusters=k)
    print(f"wrote {len(X)} samples of cluster(s) {sorted(set(clusters.tolist()))} to {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``ganclust evaluate``: ACC / NMI / ARI / purity of a saved model on labelled data."""
    from .estimators import load
    from .metrics import evaluate

    model = load(args.model)
    _, X, y = _load_data(args)
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
    "datasets": cmd_datasets,
}
