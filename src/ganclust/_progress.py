"""Progress of a fit, fed by the training callback: a bar on a terminal, log lines elsewhere.

The fit reports ``{"event": "phase", "phase": ...}`` when a phase starts (the t-SNE
initialisation, training, a refinement round, the read-out) and ``{"event": "epoch", ...}``
after every epoch. On a terminal this is one tqdm bar whose length is every epoch the fit will
train (refinement included) and whose description names the phase, so it never sits at 0% with
a made-up ETA while t-SNE runs; elsewhere (a log file, CI) it writes one line per phase and per
epoch instead of ``\\r`` redraws.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm.auto import tqdm

# losses worth showing, in this order, when a method logs them
SHOWN = ("d_adv", "g_adv", "inversion", "info", "cond_entropy", "consistency", "pseudo")


class ProgressCallback:
    """Show a fit's phases and epochs.

    Parameters
    ----------
    total_epochs : int
        Every epoch the run will train, refinement included (training may stop earlier).
    init, n_init : int
        Which initialisation this is, shown when there are several.
    stream : file, optional
        Where to write (default: stderr).
    """

    def __init__(
        self, total_epochs: int, init: int = 0, n_init: int = 1, stream: TextIO | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.prefix = f"init {init + 1}/{n_init}: " if n_init > 1 else ""
        if init >= n_init:  # trained because every run so far left a cluster (nearly) empty
            self.prefix = f"restart {init - n_init + 1} after a collapse: "
        self.total = total_epochs
        self.done = 0
        self.phase = "starting"
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        if self.terminal:
            self.bar = tqdm(
                total=total_epochs, desc=self._label(), unit="epoch", leave=True, file=self.stream
            )

    def _label(self) -> str:
        return f"{self.prefix}{self.phase}"

    def __call__(self, event: dict[str, object]) -> None:
        """Handle one event of the fit."""
        if event["event"] == "resumed":
            # a fit continued from a checkpoint: the epochs it had trained count as done
            self.done = int(event["epochs"])  # type: ignore[call-overload]
            if self.bar is not None:
                self.bar.update(self.done - self.bar.n)
        elif event["event"] == "phase":
            self.phase = str(event["phase"])
            if self.bar is not None:
                self.bar.set_description(self._label())
            else:
                print(f"ganclust: {self._label()}", file=self.stream, flush=True)
        elif event["event"] == "epoch":
            self.done += 1
            shown = {k: f"{float(event[k]):.3f}" for k in SHOWN if k in event}  # type: ignore[arg-type]
            if self.bar is not None:
                self.bar.set_postfix(shown, refresh=False)
                self.bar.update(1)
            else:
                losses = " ".join(f"{k}={v}" for k, v in shown.items())
                print(
                    f"ganclust: {self._label()} epoch {self.done}/{self.total} {losses}",
                    file=self.stream,
                    flush=True,
                )

    def close(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
