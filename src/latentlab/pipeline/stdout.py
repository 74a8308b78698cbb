"""Print a command's answer to stdout; a reader that stops early ends it quietly.

``python -m latentlab.pipeline.rerun_status --json | head -1``: ``head`` exits
after one line and the rest of the write hits a closed pipe. Python ignores
SIGPIPE, so that write raises BrokenPipeError; :func:`emit` turns it into exit
141 (128 + SIGPIPE, what a shell tool killed by SIGPIPE returns) with no
traceback, and points stdout at /dev/null so the interpreter's own flush at
exit raises nothing more.
"""

from __future__ import annotations

import os
import signal
import sys


def emit(text: str) -> int:
    """Print ``text`` and flush; 0, or 141 when the reader of stdout went away."""
    try:
        print(text)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no real file descriptor behind stdout
            pass
        return 128 + signal.SIGPIPE
    return 0
