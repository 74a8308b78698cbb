"""What went wrong with the tracking store, in one line that names the cause and its fix.

MLflow wraps a SQLite failure in two layers (``MlflowException`` around
SQLAlchemy's ``OperationalError`` around ``sqlite3.OperationalError``), and the
outer message can be SQLAlchemy's "Query-invoked autoflush" note instead of
the cause. :func:`describe` walks the exception chain for the causes a user can
fix (a read-only database, a full disk, a lock held by another process) and
says so; :func:`failure_line` adds the advice that fits the store and the
``tracking.on_failure`` policy; :func:`retrying` waits out a store that is only
locked or briefly unreachable. mlflow is never imported here.
"""

from __future__ import annotations

import errno
import time
from typing import Any, Callable

from latentlab.errors import one_line

RETRY_SECONDS = 60.0  # how long a write waits for a locked or unreachable store
FIRST_DELAY, MAX_DELAY = 0.5, 8.0  # backoff between attempts, seconds

TRANSIENT = ("database is locked", "database table is locked", "database is busy",
             "Max retries exceeded", "Connection refused", "Connection reset",
             "Connection aborted", "Read timed out", "error code 502", "error code 503",
             "error code 504")
UNREACHABLE = ("Max retries exceeded", "timed out", "Connection reset", "Connection aborted",
               "Name or service not known", "Connection refused")  # least specific first
NO_ANSWER = "the server does not answer"


class RetriesExhausted(Exception):
    """A store still locked or unreachable after :data:`RETRY_SECONDS`; the cause is chained."""

    def __init__(self, seconds: float):
        super().__init__(f"still failing after {seconds:.0f} s of retries")
        self.seconds = seconds


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _database_name(uri: str) -> str:
    from latentlab.tracking.sqlite_store import sqlite_path

    path = sqlite_path(uri)
    return path.name if path is not None else "the tracking database"


def describe(exc: BaseException, uri: str) -> str:
    """One line for a store failure: the real cause and its fix where we know them, else
    :func:`~latentlab.errors.one_line` of the exception."""
    retried = next((e for e in _chain(exc) if isinstance(e, RetriesExhausted)), None)
    name = _database_name(uri)
    for link in _chain(exc):
        text = str(link)
        errno_ = getattr(link, "errno", None)
        if "readonly database" in text or errno_ == errno.EROFS:
            return (f"{name} is read-only ({_cause(text, 'attempt to write a readonly database')}"
                    f"): make it writable or set MLFLOW_TRACKING_URI")
        if "database or disk is full" in text or errno_ == errno.ENOSPC:
            return (f"the disk holding {name} is full ({_cause(text, 'database or disk is full')}"
                    "): free some space or set MLFLOW_TRACKING_URI")
        if "database is locked" in text or "database is busy" in text:
            waited = f" for {retried.seconds:.0f} s" if retried else ""
            return (f"{name} is locked by another process{waited} (database is locked): stop "
                    "the process holding it, or use a tracking server for many writers")
        if "file is not a database" in text:
            return (f"{name} is not an SQLite database (file is not a database): move it "
                    "away (a new one is made) or set MLFLOW_TRACKING_URI")
        if "unable to open database file" in text:
            return (f"{name} cannot be opened (unable to open database file): check that it "
                    "is a file in a writable folder, or set MLFLOW_TRACKING_URI")
        if uri.startswith(("http://", "https://")):
            seen = [marker for marker in UNREACHABLE if marker in text]
            if seen:
                waited = f", still after {retried.seconds:.0f} s" if retried else ""
                return f"{NO_ANSWER} ({seen[-1]}{waited})"
    first = next((e for e in _chain(exc) if not isinstance(e, RetriesExhausted)), exc)
    line = one_line(first)
    return f"{line} ({retried})"[:300] if retried else line


def _cause(text: str, phrase: str) -> str:
    return phrase if phrase in text else text.strip().splitlines()[0][:120]


def is_transient(exc: BaseException) -> bool:
    """Whether the store is only locked or briefly unreachable (worth trying again)."""
    for link in _chain(exc):
        if isinstance(link, (ConnectionError, TimeoutError)):
            return True
        if any(marker in str(link) for marker in TRANSIENT):
            return True
    return False


def retrying(call: Callable[..., Any], *args: Any, seconds: float = RETRY_SECONDS,
             **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, tried again with backoff (0.5 s doubling to 8 s) while the
    store is locked or unreachable, for up to ``seconds``; then :class:`RetriesExhausted`
    (chained to the last failure). Other failures are raised at once."""
    deadline = time.monotonic() + seconds
    delay = FIRST_DELAY
    while True:
        try:
            return call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted below
            left = deadline - time.monotonic()
            if not is_transient(exc):
                raise
            if left <= 0:
                raise RetriesExhausted(seconds) from exc
            time.sleep(min(delay, left))
            delay = min(2 * delay, MAX_DELAY)


def failure_line(uri: str, error: str, on_failure: str | None = None) -> str:
    """``MLflow tracking at <uri> failed: <error>`` and the advice that applies.

    "Start the server" only for an http(s) store that does not answer (a full
    disk or a read-only database is not fixed by a server); "set
    tracking.on_failure: warn" only where the policy is ``fail``.
    """
    advice = []
    if uri.startswith(("http://", "https://")) and error.startswith(NO_ANSWER):
        advice.append("start the server, or unset MLFLOW_TRACKING_URI to use the local mlflow.db")
    if on_failure == "fail":
        advice.append("set tracking.on_failure: warn")
    tail = "; " + ", or ".join(advice) if advice else ""
    if advice == ["set tracking.on_failure: warn"]:
        tail = "; or set tracking.on_failure: warn"  # after the fix the error itself names
    return f"MLflow tracking at {uri} failed: {error}{tail}"
