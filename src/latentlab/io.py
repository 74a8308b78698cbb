"""Atomic writers and checked readers for the files stages exchange.

Every output is written to a temporary file in the destination directory and
renamed into place (``os.replace`` is atomic on POSIX), so a stage killed at any
moment leaves the old file or none, never a truncated one. Readers turn a
missing or corrupt file into a :class:`DataFileError` with a one-line message
that says how to fix it, instead of a numpy traceback.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
from latentlab.errors import DataFileError  # re-exported for callers
from latentlab.errors import OutputWriteError, write_fault


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def _atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path next to ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp*"):  # left by a writer killed -9
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException as exc:
        tmp_path.unlink(missing_ok=True)
        line = write_fault(exc, str(path)) if isinstance(exc, OSError) else None
        if line is not None:  # a full disk, a quota, ...: one line naming the file and the fix
            raise OutputWriteError(line, exc.errno) from exc
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with _atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def to_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no NaN, a trailing newline (stable byte for byte)."""
    return json.dumps(obj, sort_keys=True, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, to_json(obj))


METRIC_DIGITS = 8
"""Significant digits of every number in a metrics file.

Finer than any interval the report shows (its values carry 4 digits), coarser
than the noise of floating-point summation order and of the CPU's BLAS kernels
(AVX2 and AVX-512 differ in the last bits of PCA and trustworthiness): such noise
must not churn git or ``dvc metrics diff``.
"""

CROSS_KERNEL_RTOL = 1e-5
"""How far a metric may move between CPU vector kernels (AVX-512, AVX2, AVX, SSE BLAS).

Measured on digits with OpenBLAS forced to each kernel (``OPENBLAS_CORETYPE``): PCA's
explained variance, reconstruction MSE and KL to the prior moved by at most 3e-7 of
their size; kNN, probe and trustworthiness were identical. A metric that differs by
less than this fraction (or, for a share of test images, by at most one image) is
the same result; ``tests/unit/test_blas_kernels.py`` checks it. t-SNE is the exception
(a different kernel gives a different embedding, as a different seed would): its numbers
are compared by their intervals, not by this tolerance.
"""


def at_precision(obj: Any, digits: int = METRIC_DIGITS) -> Any:
    """``obj`` with every float rounded to ``digits`` significant digits (ints and text kept)."""
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return float(f"{value:.{digits}g}") if np.isfinite(value) else value
    if isinstance(obj, Mapping):
        return {key: at_precision(value, digits) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [at_precision(value, digits) for value in obj]
    return obj


def atomic_write_metrics(path: str | Path, obj: Any) -> None:
    """A metrics file: JSON with every float at :data:`METRIC_DIGITS` significant digits."""
    atomic_write_json(path, at_precision(obj))


CHECKSUM_KEY = "_sha256"
"""Where files written before per-array checksums hold one checksum over all their arrays."""

ARRAY_CHECKSUMS_KEY = "_sha256_per_array"
"""Where an ``.npz`` records one ``name:sha256`` line per array (:func:`sha256_arrays` of it)."""


def atomic_write_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write arrays to an ``.npz`` atomically (uncompressed: fast and reproducible).

    The file also records the checksum of each array (:func:`sha256_arrays` of
    that array alone) under ``_sha256_per_array``; :func:`read_npz` recomputes
    it for each array it loads, so a file damaged between stages is reported as
    such instead of feeding wrong numbers downstream, and a reader that needs
    two arrays of a large file loads (and hashes) only those two.
    """
    lines = [f"{name}:{sha256_arrays({name: arrays[name]})}" for name in sorted(arrays)]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{ARRAY_CHECKSUMS_KEY: np.array(lines)})
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_csv(path: str | Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write a CSV with a header row; floats keep full precision via ``repr``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    atomic_write_text(path, buffer.getvalue())


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    """Checksum of array contents (name, dtype, shape, bytes), independent of file format."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.reshape(-1).view(np.uint8) if arr.size else b"")  # no copy
    return digest.hexdigest()


def read_npz(path: str | Path, required: Iterable[str] = (),
             optional: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` a stage needs, each checked against its checksum.

    Parameters
    ----------
    required : names the file must hold (else a :class:`DataFileError`).
    optional : None (the default) loads every array of the file; otherwise only
        ``required`` and those names of ``optional`` the file holds, so a stage
        that needs the test split of a large ``splits.npz`` does not read (or
        hold in memory) its training images.

    Each array loaded is verified against the checksum the writer recorded for it
    (:func:`atomic_write_npz`). A file from before per-array checksums holds one
    checksum over all its arrays: it is read whole and verified as before.
    """
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: missing; run `dvc repro` to produce it")
    required = tuple(required)
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = set(npz.files)
            missing = [key for key in required if key not in files]
            if missing:
                raise DataFileError(f"{path}: lacks array(s) {', '.join(missing)}; "
                                    "rerun the stage that writes it")
            per_array = ARRAY_CHECKSUMS_KEY in files
            data_keys = files - {ARRAY_CHECKSUMS_KEY, CHECKSUM_KEY}
            wanted = (data_keys if optional is None or not per_array  # an old file: whole
                      else {*required, *(key for key in optional if key in data_keys)})
            recorded = (dict(str(line).split(":", 1) for line in npz[ARRAY_CHECKSUMS_KEY])
                        if per_array else None)
            whole = str(npz[CHECKSUM_KEY]) if CHECKSUM_KEY in files else None
            arrays = {key: npz[key] for key in sorted(wanted)}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: corrupt or truncated ({type(exc).__name__}); "
            "delete it and run `dvc repro` to rebuild it"
        ) from None
    if recorded is not None:
        damaged = [key for key in arrays if recorded.get(key) != sha256_arrays({key: arrays[key]})]
    else:
        damaged = [] if whole is None or whole == sha256_arrays(arrays) else sorted(arrays)
    if damaged:
        raise DataFileError(f"{path}: checksum mismatch (the arrays changed after they were "
                            "written); delete it and run `dvc repro` to rebuild it")
    return arrays


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: missing; run `dvc repro` to produce it")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc}); "
                            "delete it and run `dvc repro`") from None


def read_csv(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    if not path.exists():
        raise DataFileError(f"{path}: missing; run `dvc repro` to produce it")
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
