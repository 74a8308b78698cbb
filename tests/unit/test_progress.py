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


def test_the_bar_shows_the_watched_validation_number_and_its_best_whatever_the_width():
    terminal = FakeTerminal()
    progress = EpochProgress("train@vae", 300, terminal=terminal, log=io.StringIO())
    for epoch, elbo in enumerate([-30.0, -25.0, -26.0], start=1):
        progress(epoch, {"epoch": epoch, "train/recon": 20.123456, "train/kl": 3.2,
                         "train/elbo": elbo, "train/beta": 1.0, "val/recon": 20.9,
                         "val/kl": 3.1, "val/elbo": elbo - 0.5})
    progress.close()
    last = terminal.getvalue().rstrip().split("\r")[-1]
    assert "val/elbo -26.5 (best -25.5 @ 2)" in last
    assert "|" + " " * 20 + "|" not in last and last.count("|") == 2  # a 20-character bar
    assert len(last) < 100  # fits an 80-120 column terminal with the numbers intact
