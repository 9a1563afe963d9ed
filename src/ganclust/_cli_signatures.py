"""The estimators' signatures, read from the source of :mod:`ganclust.estimators` with ``ast``.

The signatures stay the one source of truth for the CLI's flags, but reading them this way
builds the parser without importing the estimators, and so without torch: ``ganclust --help``
answers at once. Should the source not be readable (a frozen install), the estimators are
imported and inspected instead; tests/test_cli_friction.py checks that both agree.
"""

from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).with_name("estimators.py")


def _defaults(init: ast.FunctionDef) -> dict[str, Any]:
    """``{parameter: default}`` of an ``__init__`` (no ``self``), in signature order."""
    args = init.args
    positional = [*args.posonlyargs, *args.args][1:]
    padded = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [
        *zip(positional, padded, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    return {
        arg.arg: (inspect.Parameter.empty if node is None else ast.literal_eval(node))
        for arg, node in pairs
    }


def _from_source(text: str) -> dict[str, dict[str, Any]]:
    signatures: dict[str, dict[str, Any]] = {}
    for node in ast.parse(text).body:
        if not isinstance(node, ast.ClassDef):
            continue
        method, init = None, None
        for item in node.body:
            if isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_method_name" for t in item.targets
            ):
                method = ast.literal_eval(item.value)
            elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
                init = item
        if method is not None and init is not None:
            signatures[method] = _defaults(init)
    return signatures


def _inspected() -> dict[str, dict[str, Any]]:
    from .estimators import ESTIMATORS

    return {
        method: {
            name: p.default
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self"
        }
        for method, cls in ESTIMATORS.items()
    }


@functools.lru_cache(maxsize=1)
def estimator_signatures() -> dict[str, dict[str, Any]]:
    """Each estimator's ``__init__`` parameters and defaults, by method name.

    Returns
    -------
    dict of str to dict
        ``{"clustergan": {"n_clusters": 10, "latent_dim": None, ...}, ...}``, methods in the
        order :data:`ganclust.estimators.ESTIMATORS` lists them, parameters in signature order.
    """
    try:
        found = _from_source(SOURCE.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        found = {}
    return found or _inspected()
