"""The command line's argument parser, built from the estimators' signatures and the table.

The estimator flags are generated one to one (``--n-clusters`` sets ``n_clusters``); research
options are ``--option KEY=VALUE``. ``fit --help`` shows the common flags with a line each;
``--help-all`` shows every flag. An argument error is one line plus a hint, with a guess for a
misspelt flag. Building the parser imports neither the estimators nor torch (the signatures are
read by :mod:`ganclust._cli_signatures`), so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Sequence
from typing import Any

from ._cli_signatures import estimator_signatures
from ._params import OPTIONS, PARAMETERS, Rule
from ._version import __version__

EXIT_BAD_INPUT = 2
# the estimator flags ``fit --help`` shows; the rest are under --help-all
COMMON = (
    "n_clusters",
    "max_clusters",
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
        if rule.keyword and text.lower() == rule.keyword:
            return rule.keyword
        if rule.none and text.lower() in ("none", "auto"):
            return None
        return base(text)

    # argparse names the type in its error messages ("invalid bool value: 'maybe'")
    parse.__name__ = getattr(base, "__name__", "str").lstrip("_").replace("parse_", "")
    return parse


def _estimator_params() -> dict[str, Any]:
    """Every estimator parameter but ``options``, with its default (the first method's)."""
    params: dict[str, Any] = {}
    for signature in estimator_signatures().values():
        for name, default in signature.items():
            if name != "options":
                params.setdefault(name, default)
    return params


# metavars by the kind of value, so that a flag and its help fit on one line
_METAVARS = {"int": "N", "float": "X", "bool": "BOOL", "random_state": "SEED", "choice": "NAME"}


def _flag_help(rule: Rule, default: Any) -> str:
    """The flag's description and its default; an automatic default reads "auto (...)"."""
    if (default is None or default == "auto") and rule.auto:
        shown = f"auto ({rule.auto})"
    elif isinstance(default, str):
        shown = default
    else:
        shown = repr(default)
    if rule.kind == "choice":
        return f"{rule.help}: {', '.join(rule.choices)} (default: {shown})"
    return f"{rule.help} (default: {shown})"


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, max_help_position=30)


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

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """Parse, with unknown flags reported by the subcommand they were given to."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            target = self._subcommand(getattr(parsed, "command", None)) or self
            target.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed

    def _subcommand(self, name: str | None) -> argparse.ArgumentParser | None:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices.get(name)  # type: ignore[return-value]
        return None


def _add_data_args(
    parser: argparse.ArgumentParser, required: bool, show_all: bool, default: str = ""
) -> None:
    hidden = argparse.SUPPRESS
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        required=required,
        help="a dataset name (see `ganclust datasets`), a .npy/.npz/.csv/.tsv file or an image "
        "folder" + (f" (default: {default})" if default else ""),
    )
    data.add_argument("--label-column", metavar="COL", help="CSV/TSV column of labels (name/index)")
    data.add_argument(
        "--id-column", metavar="COL", help="CSV/TSV column of row ids (default: row number)"
    )
    data.add_argument(
        "--split", default="train", help="split of a named dataset" if show_all else hidden
    )
    data.add_argument(
        "--mirror", help="base URL to download named datasets from" if show_all else hidden
    )
    data.add_argument(
        "--image-size",
        metavar="HxW",
        help="resize an image folder's images to HxW (e.g. 28x28)" if show_all else hidden,
    )
    data.add_argument(
        "--no-verify",
        action="store_true",
        help="use a downloaded file that has no pinned checksum (USPS)" if show_all else hidden,
    )


def _add_run_args(fit: argparse.ArgumentParser) -> None:
    run = fit.add_argument_group("run")
    methods = list(estimator_signatures())
    run.add_argument(
        "--method",
        choices=sorted(methods),
        default="clustergan",
        metavar="NAME",
        help="clustergan (an encoder inverts G), infogan or catgan (D reads the cluster) "
        "(default: clustergan)",
    )
    run.add_argument("--out", help="run folder (default: runs/<data>-<method>)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--report", action="store_true", help="also write OUT/report.html")
    run.add_argument("--quiet", action="store_true", help="no progress bar, notes or summary")
    run.add_argument("--help-all", action="store_true", help="show every flag and exit")
    run.add_argument(
        "--resume", metavar="OUT", help="continue an interrupted fit to OUT (its checkpoint)"
    )
    run.add_argument(
        "--tensorboard", metavar="DIR", help="TensorBoard logs to DIR (ganclust[tensorboard])"
    )
    run.add_argument(
        "--keep-checkpoint", action="store_true", help="keep the checkpoint in OUT/checkpoints"
    )


def _add_fit_parser(sub: Any, show_all: bool) -> None:
    fit = sub.add_parser(
        "fit",
        help="train a model and write a run folder",
        allow_abbrev=False,
        formatter_class=_formatter,
        usage="ganclust fit [--data DATA] [--n-clusters N] [--out OUT] [options]",
        epilog=None
        if show_all
        else "every flag (the methods' own weights, research options "
        "and more data flags): ganclust fit --help-all",
    )
    _add_data_args(fit, False, show_all, default="digits, bundled with scikit-learn")
    _add_run_args(fit)
    common = fit.add_argument_group("common estimator parameters")
    advanced = fit.add_argument_group(
        "advanced (the methods' paper knobs, and research options as --option KEY=VALUE)"
    )
    for name, default in _estimator_params().items():
        rule = PARAMETERS[name]
        shown = name in COMMON or show_all
        (common if name in COMMON else advanced).add_argument(
            "--" + name.replace("_", "-"),
            dest="param_" + name,
            type=value_parser(rule),
            default=argparse.SUPPRESS,
            metavar=_METAVARS.get(rule.kind, name.upper()),
            help=_flag_help(rule, default) if shown else argparse.SUPPRESS,
        )
    option_help = "; ".join(f"{k}: {r.help}" for k, r in OPTIONS.items())
    advanced.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=("a research option, repeatable. " + option_help) if show_all else argparse.SUPPRESS,
    )


MODEL_HELP = "a run folder, or a model.safetensors file"


def _add_model_commands(sub: Any) -> None:
    """``predict``, ``sample``, ``evaluate`` and ``report``: the commands on a saved model."""
    predict = sub.add_parser("predict", help="assign samples to clusters with a saved model")
    predict.add_argument("model", help=MODEL_HELP)
    _add_data_args(predict, required=True, show_all=True)
    predict.add_argument(
        "--out", help="CSV to write: id, cluster, probability[, label] (default: stdout)"
    )

    sample = sub.add_parser("sample", help="generate samples with a saved model")
    sample.add_argument("model", help=MODEL_HELP)
    sample.add_argument("-n", "--n-samples", type=int, default=16, help="how many (default: 16)")
    sample.add_argument("--cluster", type=int, help="cluster of every sample (default: random)")
    sample.add_argument("--random-state", type=int, default=0, help="seed of the draw (default: 0)")
    sample.add_argument(
        "--out",
        required=True,
        help="a .npy, a .png (a grid of every sample) or, for vectors, a .csv (columns named "
        "as the fitted table's, else feature_0, feature_1, ...)",
    )

    evaluate = sub.add_parser("evaluate", help="score a saved model against known labels")
    evaluate.add_argument("model", help=MODEL_HELP)
    _add_data_args(evaluate, required=True, show_all=True)

    report = sub.add_parser("report", help="write a run folder's report.html")
    report.add_argument("run", help="a run folder written by `ganclust fit`")
    _add_data_args(report, False, True, default="the run's, with its data flags, from run.json")
    report.add_argument("--out", help="HTML file to write (default: RUN/report.html)")


def build_parser(show_all: bool = False) -> argparse.ArgumentParser:
    """The argument parser for every subcommand (``show_all``: list the advanced flags too)."""
    parser = Parser(
        prog="ganclust",
        description="Unsupervised clustering with generative adversarial networks.",
    )
    parser.add_argument("--version", action="version", version=f"ganclust {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _add_fit_parser(sub, show_all)
    _add_model_commands(sub)
    datasets = sub.add_parser("datasets", help="list the named datasets and whether cached")
    datasets.add_argument("--data-home", help="cache folder (default: $GANCLUST_DATA or XDG)")
    return parser


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
