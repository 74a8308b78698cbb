"""The errors a stage reports as one line and a non-zero exit, never as a traceback.

Every error a user can cause or fix (a bad param, a missing or corrupt file, a
diverging loss, an unreachable tracking server) derives from
:class:`LatentlabError`; :func:`latentlab.cli.run_stage` prints its message.
"""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 300 characters, for one-line errors."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class LatentlabError(Exception):
    """Base class: the message is one line that says what is wrong and how to fix it."""

    exit_code = 1


class ParamsError(LatentlabError, ValueError):
    """A value in ``params.yaml`` is missing, unknown, mistyped or out of range."""

    exit_code = 2


class DataFileError(LatentlabError):
    """An input file between stages is missing or unreadable."""


class UnknownDatasetError(ParamsError):
    """``data.name`` names no registered data set."""


class NonFiniteLossError(LatentlabError, FloatingPointError):
    """A loss term became NaN or infinite during training."""


class TrainingDivergedError(LatentlabError, FloatingPointError):
    """Training ended with a finite loss worse than the untrained model's: it diverged."""


class TrackingError(LatentlabError):
    """The tracking store could not be reached or refused a write."""


class StageTerminated(BaseException):
    """The stage received SIGTERM (``kill``, a cancelled ``dvc repro``, a scheduler).

    A BaseException, like KeyboardInterrupt, so no ``except Exception`` swallows
    it on the way out; the MLflow run is ended KILLED.
    """

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum
