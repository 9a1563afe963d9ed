"""A tqdm progress bar fed by the training callback."""

from __future__ import annotations

from tqdm.auto import tqdm

# losses worth showing in the bar, in this order, when a method logs them
SHOWN = ("d_adv", "g_adv", "inversion", "info", "cond_entropy", "consistency")


class ProgressCallback:
    """Show epochs as a progress bar with the latest losses and the ETA.

    Parameters
    ----------
    max_epochs : int
        Length of the bar (training may stop earlier).
    init, n_init : int
        Which initialisation this is, shown in the description when there are several.
    """

    def __init__(self, max_epochs: int, init: int = 0, n_init: int = 1) -> None:
        label = f"init {init + 1}/{n_init}" if n_init > 1 else "training"
        self.bar = tqdm(total=max_epochs, desc=label, unit="epoch", leave=True)

    def __call__(self, event: dict[str, object]) -> None:
        """Advance the bar on every epoch event."""
        if event["event"] != "epoch":
            return
        shown = {k: f"{float(event[k]):.3f}" for k in SHOWN if k in event}  # type: ignore[arg-type]
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
