"""What torchrun told this process, read from its environment.

Kept apart from :mod:`ganclust.distributed`, and free of torch, so that the command line can ask
before it imports torch (``ganclust fit --help`` stays fast).
"""

from __future__ import annotations

import os


def launched_size() -> int:
    """The number of processes torchrun launched (1 when it did not launch this one)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def launched_rank() -> int:
    """This process's rank as torchrun gave it (0 when torchrun did not launch it)."""
    try:
        return max(0, int(os.environ.get("RANK", "0")))
    except ValueError:
        return 0
