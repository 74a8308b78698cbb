"""Training progress a person can follow: a tqdm bar in a terminal, plain log lines elsewhere.

In a terminal (stderr is a TTY) each epoch advances a fixed-width bar whose
postfix shows the validation number early stopping follows and its best so
far. Under DVC, CI or a redirected log, a bar would be a stream of carriage
returns, so the same numbers go to stdout as one line every ``total // 10``
epochs (and on the first and the last one seen). Nothing goes to stderr then:
stderr is reserved for the one-line error a failing stage prints.
"""

from __future__ import annotations

import sys
from typing import TextIO


def format_row(row: dict[str, float]) -> str:
    """``train/recon 12.3 train/kl 4.56 ...`` (4 significant digits, the epoch left out)."""
    return " ".join(f"{key} {value:.4g}" for key, value in row.items() if key != "epoch")


# What a bar's postfix shows, first match wins: the number early stopping follows. The whole
# row did not fit: at 80-120 columns tqdm squeezed the bar to one character and cut the
# validation numbers off, the ones a person watches.
WATCHED = ("val/elbo", "val/loss", "val/recon")


def compact_row(row: dict[str, float], best: tuple[int, float] | None) -> str:
    """``val/elbo -24.06 (best -24.03 @ 163)``: the watched number and its best so far."""
    key = next((k for k in WATCHED if k in row), None)
    if key is None:
        return format_row(row)
    text = f"{key} {row[key]:.4g}"
    if best is not None:
        text += f" (best {best[1]:.4g} @ {best[0]})"
    return text


class EpochProgress:
    """``progress(epoch, row)`` after each epoch; ``close()`` when training stops."""

    def __init__(self, label: str, total_epochs: int, *, terminal: TextIO | None = None,
                 log: TextIO | None = None):
        self.label, self.total = label, total_epochs
        self.terminal = sys.stderr if terminal is None else terminal
        self.log = sys.stdout if log is None else log
        self.every = max(1, total_epochs // 10)
        self.bar = None
        self.last: tuple[int, dict[str, float]] | None = None
        self.best: tuple[int, float] | None = None
        if self.terminal.isatty():
            from tqdm import tqdm

            # the bar keeps a fixed width; the postfix (one watched number) never squeezes it
            self.bar = tqdm(total=total_epochs, desc=label, unit="epoch", file=self.terminal,
                            dynamic_ncols=True, leave=True,
                            bar_format="{desc} {percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}<{remaining}] {postfix}")

    def __call__(self, epoch: int, row: dict[str, float]) -> None:
        self._track_best(epoch, row)
        if self.bar is not None:
            self.bar.set_postfix_str(compact_row(row, self.best), refresh=False)
            self.bar.update(1)
            return
        self.last = (epoch, row)
        if epoch == 1 or epoch % self.every == 0:
            self._line(epoch, row)

    def _track_best(self, epoch: int, row: dict[str, float]) -> None:
        """The best watched value so far (the ELBO is maximised, the losses minimised)."""
        key = next((k for k in WATCHED if k in row), None)
        if key is None:
            return
        better = max if key.endswith("elbo") else min
        if self.best is None or better(row[key], self.best[1]) != self.best[1]:
            self.best = (epoch, row[key])

    def close(self) -> None:
        """Close the bar, or log the last epoch if its line was skipped (early stopping)."""
        if self.bar is not None:
            self.bar.close()
        elif self.last is not None and not (self.last[0] == 1 or self.last[0] % self.every == 0):
            self._line(*self.last)

    def _line(self, epoch: int, row: dict[str, float]) -> None:
        print(f"{self.label}: epoch {epoch}/{self.total} {format_row(row)}", file=self.log,
              flush=True)
