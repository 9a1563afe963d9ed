"""Ctrl-C during a checkpointed fit: a flag the training loop answers at a batch boundary."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def interrupt_flag(enabled: bool) -> Iterator[list[bool]]:
    """While training with checkpoints, Ctrl-C sets a flag the loop answers at the next batch
    boundary (a consistent state to save); a second Ctrl-C interrupts at once."""
    flag = [False]
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: object) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
