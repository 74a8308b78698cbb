"""What every stage entry point shares: one-line errors and exit codes.

``raise SystemExit(run_stage(main))`` runs a stage's ``main``; a
:class:`~latentlab.errors.LatentlabError` becomes ``error: <message>`` on
stderr and its exit code (2 for bad params, 1 otherwise), so DVC stops the
pipeline with a message a user can act on.
"""

from __future__ import annotations

import signal
import sys
from typing import Callable

from latentlab.errors import LatentlabError, StageTerminated, write_fault

MMAP_THRESHOLD_BYTES = 1 << 20
"""glibc serves each allocation of this size or more by its own ``mmap``, unmapped on free."""

_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>


def return_large_blocks_to_the_os() -> None:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD_BYTES` (elsewhere: nothing).

    By default glibc raises the threshold (up to 32 MiB) each time a large block is
    freed, so later blocks of a few MiB to 32 MiB (the IWAE's decoder activations,
    27 MiB a chunk) come from the heap, which fragments and is not given back: on the
    70 000-image set (``benchmarks/stage_memory.py``) `evaluate` peaked at 1.5–3.0 GB,
    varying from run to run, with 0.6 GB live; with the threshold fixed, 0.87 GB.
    Allocators change no number a stage computes.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def run_stage(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Call ``main(argv)``; turn a LatentlabError into one line on stderr and its exit code."""
    return_large_blocks_to_the_os()
    try:
        return main(argv) or 0
    except LatentlabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a write outside latentlab.io (a library's own file) hit a full disk
        line = write_fault(exc, exc.filename or "")
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: one line, not the traceback of wherever it landed
        print("error: interrupted (Ctrl-C); outputs already renamed into place are whole, the "
              "rest were not written; the MLflow run is marked KILLED", file=sys.stderr)
        return 128 + signal.SIGINT
    except StageTerminated as exc:
        name = signal.Signals(exc.signum).name
        print(f"error: stopped by {name}; outputs already renamed into place are whole, the "
              "rest were not written; the MLflow run is marked KILLED", file=sys.stderr)
        return 128 + exc.signum
