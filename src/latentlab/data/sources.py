"""Fetching the files of an image set (MNIST, Fashion-MNIST, KMNIST): mirrors, local copies, checks.

The sets and their files are in :mod:`latentlab.data.registry` (torchvision's
values, and any a test registers); ``torchvision.datasets.MNIST(root)`` reads
what this module puts in place and vice versa.

:func:`fetch` materialises the files of one set in ``<root>/<folder>/raw/``,
from the first source that applies:

1. ``local_dir`` (param ``data.local_dir``): a folder that already holds the
   files, gzipped (checked against the published MD5) or not (checked as IDX:
   no checksum is published for the uncompressed files). Nothing else is
   contacted.
2. Files already in place from an earlier run (a ``.gz`` whose MD5 matches):
   nothing is fetched twice.
3. ``mirror`` (param ``data.mirror``), else torchvision's mirrors in order.

A download streams into a temporary file in the target directory and is renamed
only after its MD5 matches; on any failure the temporary file is deleted, so the
directory never holds a partial file and a rerun after the fix succeeds. Every
failure is a :class:`FetchError`: one line naming the file, what went wrong, and
which files to put where.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from latentlab.data.idx import IdxFormatError, gunzip, is_gzip, parse_idx
from latentlab.data.registry import ImageSet
from latentlab.errors import DataFileError

USER_AGENT = "latentlab (torchvision-compatible download)"
TIMEOUT_SECONDS = 30.0
CHUNK = 1 << 20


class FetchError(DataFileError):
    """A data-set file could not be obtained or failed its checks."""


def plain_name(file_name: str) -> str:
    """``train-images-idx3-ubyte.gz`` -> ``train-images-idx3-ubyte``."""
    return file_name[:-3] if file_name.endswith(".gz") else file_name


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------


@dataclass
class FileRecord:
    """How one file was obtained and checked (written to ``source.json``)."""

    file: str
    md5: str | None  # of the .gz (the published checksum's file); None for a plain copy
    verified: str  # "published md5" | "idx structure (no checksum is published for it)"
    origin: str  # a URL, a local path, or "already downloaded"
    fetched: bool  # False: already in place, nothing transferred

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def raw_dir(spec: ImageSet, root: str | Path) -> Path:
    """Where torchvision keeps the files: ``<root>/<folder>/raw``."""
    return Path(root) / spec.folder / "raw"


def _how_to_fix(spec: ImageSet, root: Path) -> str:
    files = ", ".join(spec.file_names)
    return (f"put the files {files} (gzipped, or uncompressed without .gz) in a folder and set "
            f"data.local_dir to it, or copy them into {raw_dir(spec, root)}/, or set data.mirror "
            "to a base URL that serves them")


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _temp_in(directory: Path, name: str) -> Path:
    """A fresh temporary file next to its destination (same file system: atomic rename)."""
    for stale in directory.glob(f".{name}.*.part"):  # left by a run killed with SIGKILL
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    os.close(fd)
    return Path(tmp)


def _install(tmp: Path, dest: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)


def _download(url: str, tmp: Path, timeout: float) -> tuple[str, int]:
    """Stream ``url`` into ``tmp``; return its MD5 and size. Raises OSError-like errors."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest, size = hashlib.md5(usedforsecurity=False), 0
    with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "wb") as out:
        expected = response.headers.get("Content-Length")
        while chunk := response.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    if expected is not None and expected.isdigit() and size < int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - size)
    return digest.hexdigest(), size


def _reason(exc: BaseException) -> str:
    """A short, one-line reason for a failed request."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return "connection refused"
        if isinstance(reason, socket.gaierror):
            return f"host not found ({reason.strerror}); no network?"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return "timed out"
        return str(getattr(reason, "strerror", None) or reason)
    if isinstance(exc, http.client.IncompleteRead):
        return f"truncated download (connection closed {exc.expected} bytes early)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")


def _from_mirrors(spec: ImageSet, file_name: str, md5: str, dest: Path, mirrors: tuple[str, ...],
                  timeout: float) -> FileRecord:
    problems = []
    for base in mirrors:
        url = base + file_name
        tmp = _temp_in(dest.parent, dest.name)
        try:
            got_md5, size = _download(url, tmp, timeout)
            if got_md5 != md5:
                problems.append(f"{url}: checksum mismatch (got {size} bytes with md5 {got_md5}, "
                                f"the published md5 is {md5})")
                continue
            _install(tmp, dest)
            return FileRecord(file_name, md5, "published md5", url, fetched=True)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            problems.append(f"{url}: {_reason(exc)}")
        finally:
            tmp.unlink(missing_ok=True)
    raise FetchError(f"{file_name}: could not download it from any mirror ({'; '.join(problems)})"
                     f"; {_how_to_fix(spec, dest.parent.parent.parent)}")


def _candidates(spec: ImageSet, local_dir: Path, file_name: str) -> list[Path]:
    folders = (local_dir, local_dir / "raw", local_dir / spec.folder / "raw")
    return [folder / name for folder in folders for name in (file_name, plain_name(file_name))]


def _from_local(spec: ImageSet, file_name: str, md5: str, dest: Path,
                local_dir: Path) -> FileRecord:
    found = [path for path in _candidates(spec, local_dir, file_name) if path.is_file()]
    if not found:
        raise FetchError(f"{file_name}: not in data.local_dir {local_dir} (looked for "
                         f"{file_name} and {plain_name(file_name)} there, in raw/ and in "
                         f"{spec.folder}/raw/); {_how_to_fix(spec, dest.parent.parent.parent)}")
    source = found[0]
    data = source.read_bytes()
    if source.name == file_name and is_gzip(data):  # the published file: its MD5 must match
        got = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if got != md5:
            raise FetchError(f"{source}: checksum mismatch (got {len(data)} bytes with md5 {got}, "
                             f"the published md5 of {file_name} is {md5}); replace it with the "
                             f"published file, or {_how_to_fix(spec, dest.parent.parent.parent)}")
        target, record = dest, FileRecord(file_name, md5, "published md5", str(source), True)
    else:  # uncompressed (or gzipped under the plain name): no published checksum applies
        parse_idx(data, str(source))
        target = dest.with_name(plain_name(file_name))
        record = FileRecord(file_name, None, "idx structure (no checksum is published for it)",
                            str(source), True)
    tmp = _temp_in(target.parent, target.name)
    try:
        tmp.write_bytes(data if target == dest or not is_gzip(data) else gunzip(data, str(source)))
        _install(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return record


def _already_there(file_name: str, md5: str, dest: Path) -> FileRecord | None:
    if dest.is_file():
        if md5_file(dest) == md5:
            return FileRecord(file_name, md5, "published md5", "already downloaded", False)
        dest.unlink()  # not the published file (e.g. replaced by hand): fetch it again
    plain = dest.with_name(plain_name(file_name))
    if plain.is_file():  # an uncompressed copy put in place from data.local_dir earlier
        try:
            parse_idx(plain.read_bytes(), str(plain))
        except IdxFormatError:
            plain.unlink()
            return None
        return FileRecord(file_name, None, "idx structure (no checksum is published for it)",
                          "already in place", False)
    return None


def _decompress(gz: Path) -> None:
    """Write ``<name>`` from ``<name>.gz`` (atomically), the file torchvision reads."""
    plain = gz.with_name(plain_name(gz.name))
    data = gunzip(gz.read_bytes(), str(gz))
    tmp = _temp_in(plain.parent, plain.name)
    try:
        tmp.write_bytes(data)
        _install(tmp, plain)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(spec: ImageSet, root: str | Path, *, mirror: str | None = None,
          local_dir: str | Path | None = None, timeout: float = TIMEOUT_SECONDS,
          on_file: Callable[[FileRecord], None] | None = None) -> list[FileRecord]:
    """Put every file of ``spec`` in ``<root>/<folder>/raw``, checked; see the module docstring.

    Returns
    -------
    list of FileRecord, one per file of ``spec.resources``.

    Raises
    ------
    FetchError
        A file is missing from ``local_dir``, fails its checksum, or no mirror
        delivered it; the message names the file and says where to put it.
    """
    root = Path(root)
    folder = raw_dir(spec, root)
    folder.mkdir(parents=True, exist_ok=True)
    if local_dir is not None and not Path(local_dir).is_dir():
        raise FetchError(f"data.local_dir {local_dir}: not a directory; "
                         f"{_how_to_fix(spec, root)}")
    mirrors = (mirror if mirror.endswith("/") else mirror + "/",) if mirror else spec.mirrors
    records = []
    for file_name, md5 in spec.resources:
        dest = folder / file_name
        if local_dir is not None:
            record = _from_local(spec, file_name, md5, dest, Path(local_dir))
        else:
            record = (_already_there(file_name, md5, dest)
                      or _from_mirrors(spec, file_name, md5, dest, mirrors, timeout))
        if record.md5 is not None:
            _decompress(dest)
        records.append(record)
        if on_file is not None:
            on_file(record)
    return records

