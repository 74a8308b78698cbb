"""Progress: a tqdm bar on a terminal, sparse log lines on stdout otherwise, never stderr."""

import io

from latentlab.train.progress import EpochProgress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rows(n):
    return [(e, {"epoch": e, "train/recon": 100.0 / e, "train/kl": 2.0}) for e in range(1, n + 1)]


def test_without_a_terminal_it_logs_every_tenth_epoch_and_the_last_to_stdout():
    terminal, log = io.StringIO(), io.StringIO()
    progress = EpochProgress("train@vae", 40, terminal=terminal, log=log)
    for epoch, row in _rows(23):  # early stopping at 23 of 40
        progress(epoch, row)
    progress.close()
    lines = log.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == ["1/40", "4/40", "8/40", "12/40", "16/40",
                                                   "20/40", "23/40"]
    assert lines[0] == "train@vae: epoch 1/40 train/recon 100 train/kl 2"
    assert terminal.getvalue() == ""  # stderr stays free for the one-line error


def test_on_a_terminal_it_draws_a_bar_with_the_loss_terms():
    terminal, log = FakeTerminal(), io.StringIO()
    progress = EpochProgress("train@ae", 5, terminal=terminal, log=log)
    for epoch, row in _rows(5):
        progress(epoch, row)
    progress.close()
    drawn = terminal.getvalue()
    assert "train@ae" in drawn and "5/5" in drawn and "train/recon 20" in drawn
    assert log.getvalue() == ""
