"""The command line: ``ganclust fit | predict | sample | evaluate | datasets``.

The estimator flags are generated from the estimators' ``__init__`` signatures, one to one:
``--n-clusters`` sets ``n_clusters``. Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .estimators import ESTIMATORS
from .runs import RunFolder, write_labels

EXIT_BAD_INPUT = 2


def _estimator_params() -> dict[str, inspect.Parameter]:
    params: dict[str, inspect.Parameter] = {}
    for cls in ESTIMATORS.values():
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name != "self":
                params.setdefault(name, p)
    return params


_BOOLEANS = {"true": True, "yes": True, "1": True, "on": True}
_BOOLEANS |= {"false": False, "no": False, "0": False, "off": False}


def _parse_bool(text: str) -> bool:
    """``true/false``, ``yes/no``, ``1/0`` or ``on/off``, in any case."""
    if text.lower() not in _BOOLEANS:
        raise ValueError(text)
    return _BOOLEANS[text.lower()]


def _value_parser(param: inspect.Parameter) -> Callable[[str], Any]:
    annotation = str(param.annotation)
    optional = "None" in annotation
    base: Callable[[str], Any] = str
    if "bool" in annotation:
        base = _parse_bool
    elif "int" in annotation:
        base = int
    elif "float" in annotation:
        base = float

    def parse(text: str) -> Any:
        if optional and text.lower() == "none":
            return None
        return base(text)

    # argparse names the type in its error messages ("invalid bool value: 'maybe'")
    parse.__name__ = "bool" if base is _parse_bool else base.__name__
    return parse


def _add_data_args(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--data",
        required=required,
        help="a dataset name (see `ganclust datasets`) or a .npy/.npz/.csv/.tsv file or image "
        "folder" + ("" if required else "; default: the bundled sklearn digits"),
    )
    parser.add_argument("--label-column", help="CSV/TSV column holding labels (name or index)")
    parser.add_argument("--split", default="train", help="split of a named dataset")
    parser.add_argument("--mirror", help="base URL to download named datasets from")
    parser.add_argument("--image-size", help="resize an image folder's images to HxW (e.g. 28x28)")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="use a downloaded file that has no pinned checksum (USPS)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="ganclust", description=__doc__.splitlines()[0])
    from . import __version__

    parser.add_argument("--version", action="version", version=f"ganclust {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="train a model and write a run folder")
    _add_data_args(fit, required=False)
    fit.add_argument("--method", choices=sorted(ESTIMATORS), default="clustergan")
    fit.add_argument("--out", help="run folder to write (default: runs/<data>-<method>)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    fit.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    group = fit.add_argument_group("estimator parameters (see the estimator's docstring)")
    for name, param in _estimator_params().items():
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest="param_" + name,
            type=_value_parser(param),
            default=argparse.SUPPRESS,
            help=f"default: {param.default!r}",
        )

    predict = sub.add_parser("predict", help="assign samples to clusters with a saved model")
    predict.add_argument("model", help="a model.safetensors file or a run folder")
    _add_data_args(predict, required=True)
    predict.add_argument("--out", help="CSV file to write (default: print to stdout)")

    sample = sub.add_parser("sample", help="generate samples with a saved model")
    sample.add_argument("model", help="a model.safetensors file or a run folder")
    sample.add_argument("-n", "--n-samples", type=int, default=16)
    sample.add_argument("--cluster", type=int, help="cluster of every sample (default: random)")
    sample.add_argument("--random-state", type=int, default=0)
    sample.add_argument("--out", required=True, help="a .npy file (samples) or .png (a grid)")

    evaluate = sub.add_parser("evaluate", help="score a saved model against known labels")
    evaluate.add_argument("model", help="a model.safetensors file or a run folder")
    _add_data_args(evaluate, required=True)

    datasets = sub.add_parser("datasets", help="list the named datasets and whether cached")
    datasets.add_argument("--data-home", help="cache folder (default: $GANCLUST_DATA or XDG)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"ganclust {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader (e.g. `| head`) closed the pipe: not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 0
    except KeyboardInterrupt:
        print("ganclust: interrupted", file=sys.stderr)
        return 130


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
    X, y = load_data(
        spec,
        label_column=label_column,
        image_size=size,
        split=args.split,
        mirror=args.mirror,
        verify=not args.no_verify,
        progress=not getattr(args, "quiet", False),
    )
    return spec, X, y


def _model_path(path: str) -> Path:
    candidate = Path(path)
    return candidate / "model.safetensors" if candidate.is_dir() else candidate


def cmd_fit(args: argparse.Namespace) -> int:
    """``ganclust fit``: train, then write the run folder."""
    params = {k[len("param_") :]: v for k, v in vars(args).items() if k.startswith("param_")}
    cls = ESTIMATORS[args.method]
    accepted = inspect.signature(cls.__init__).parameters
    foreign = sorted(n for n in params if n not in accepted)
    if foreign:
        flags = ", ".join("--" + n.replace("_", "-") for n in foreign)
        raise ValueError(f"{flags} does not apply to --method {args.method}")
    spec, X, y = _load_data(args, default="digits")
    name = Path(spec).stem if Path(spec).exists() else spec
    out = Path(args.out or f"runs/{name}-{args.method}")
    run = RunFolder(out, overwrite=args.overwrite)  # refuses an existing folder before training
    params.setdefault("verbose", 0 if args.quiet else 1)
    model = cls(**params)
    started = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - started
    summary = run.write_fit(model, X, y, spec=spec, seconds=seconds, argv=sys.argv)
    if not args.quiet:
        print(summary)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``ganclust predict``: labels for new data from a saved model."""
    from .io import load

    model = load(_model_path(args.model))
    _, X, _ = _load_data(args)
    labels = model.predict(X)
    if args.out:
        write_labels(Path(args.out), labels)
    else:
        sys.stdout.write("index,cluster\n")
        sys.stdout.writelines(f"{i},{c}\n" for i, c in enumerate(labels))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``ganclust sample``: generate samples from a saved model."""
    from .io import load
    from .runs import atomic_path

    model = load(_model_path(args.model))
    out = Path(args.out)
    if out.suffix not in (".npy", ".png"):
        raise ValueError(f"--out must end in .npy or .png; got {out.name!r}")
    X, clusters = model.sample(args.n_samples, cluster=args.cluster, random_state=args.random_state)
    with atomic_path(out) as tmp:
        if out.suffix == ".npy":
            with open(tmp, "wb") as handle:
                np.save(handle, X)
        elif model.preprocessor_.is_image:
            from .plots import save_image_grid

            save_image_grid(X, clusters, tmp, n_clusters=model.n_clusters)
        else:
            from .plots import save_scatter

            save_scatter(X, clusters, tmp, n_clusters=model.n_clusters)
    print(f"wrote {len(X)} samples of cluster(s) {sorted(set(clusters.tolist()))} to {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``ganclust evaluate``: ACC / NMI / ARI / purity of a saved model on labelled data."""
    from .io import load
    from .metrics import evaluate

    model = load(_model_path(args.model))
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
