"""The errors a stage reports as one line and a non-zero exit, never as a traceback.

Every error a user can cause or fix (a bad param, a missing or corrupt file, a
diverging loss, an unreachable tracking server) derives from
:class:`LatentlabError`; :func:`latentlab.cli.run_stage` prints its message.
"""

import errno
from pathlib import Path


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


class OutputWriteError(LatentlabError):
    """The file system refused an output (full disk, quota, read-only, permissions)."""

    def __init__(self, message: str, errno_: int):
        super().__init__(message)
        self.errno = errno_


# The OSErrors a user fixes outside latentlab, with what to do about each.
WRITE_FAULTS = {
    errno.ENOSPC: "no space left on the device: free space there (`df -h {where}`) and rerun",
    errno.EDQUOT: "disk quota exceeded: free space within your quota and rerun",
    errno.EFBIG: "file too large for the file system or `ulimit -f`: raise the limit and rerun",
    errno.EROFS: "the file system is read-only: make it writable or work in a writable clone",
    errno.EACCES: "permission denied: make {where} writable for this user and rerun",
}


def write_fault(exc: OSError, where: str) -> str | None:
    """One line for an OSError a user fixes outside latentlab (full disk, ...), else None.

    Says which file could not be written and what is left: an atomic write (:mod:`latentlab.io`)
    leaves the old file or none, never part of one, so nothing is half-written.
    """
    advice = WRITE_FAULTS.get(exc.errno)
    if advice is None:
        return None
    what = where or "an output (the OS named no file)"
    return (f"cannot write {what}: {advice.format(where=Path(where).parent if where else '.')}"
            "; outputs already in place are whole (each is written to a temp file, then renamed)")


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
