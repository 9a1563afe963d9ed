"""Run a snippet of Python in a child process under a memory limit.

A reader that allocates what a hostile file declares would take the test machine down with it;
in a child whose address space is capped (``RLIMIT_AS``) it fails alone, with a
``MemoryError``, which the test can tell from the ``ValueError`` it expects.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Marks a test that needs Linux's /proc and resource limits.
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS (Linux)"
)

#: Exit status of a child whose snippet raised ValueError (its message goes to stdout).
VALUE_ERROR = 3

_PRELUDE = """
import os, resource, sys
import ganclust.datasets  # torch and friends first: the cap is on top of what they map
_vm = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (_vm + {headroom}, _vm + {headroom}))
try:
{body}
except ValueError as exc:
    print("ValueError:", exc)
    sys.exit({status})
"""


def run_limited(
    code: str, *, headroom: int = 1 << 30, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the address space capped at what the imports use plus ``headroom``.

    Parameters
    ----------
    code : str
        Statements; a ``ValueError`` they raise exits with :data:`VALUE_ERROR`, its message
        printed; any other exception exits with 1 and a traceback on stderr.
    headroom : int, optional
        Bytes of address space allowed on top of the interpreter with ganclust imported.
    timeout : float, optional
        Seconds before the child is killed.

    Returns
    -------
    subprocess.CompletedProcess
        With ``returncode``, ``stdout`` and ``stderr`` as text.
    """
    body = textwrap.indent(textwrap.dedent(code).strip(), "    ")
    script = _PRELUDE.format(headroom=int(headroom), body=body, status=VALUE_ERROR)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
