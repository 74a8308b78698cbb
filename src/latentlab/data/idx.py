"""The IDX file format of MNIST, Fashion-MNIST and KMNIST (LeCun et al.), read and written.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values in C order, big-endian. The data sets
ship gzipped (``train-images-idx3-ubyte.gz``); :func:`read_idx` accepts either,
telling them apart by the gzip magic bytes, not by the name.

torchvision's own reader (``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor``)
stops on an ``assert`` and reads a short file without complaint; this one
checks every field and raises :class:`IdxFormatError` with one line that names
the file and what is wrong, so a truncated or foreign file is reported before
anything is decoded from it.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from latentlab.errors import DataFileError

GZIP_MAGIC = b"\x1f\x8b"
# type byte -> big-endian numpy dtype (the IDX specification's table)
IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
TYPE_OF_DTYPE = {dtype.newbyteorder(">") if dtype.itemsize > 1 else dtype: code
                 for code, dtype in IDX_TYPES.items()}
MAX_DIMS = 4


class IdxFormatError(DataFileError):
    """A file is not a whole IDX file: wrong magic, a bad header, truncated, or bad gzip."""


def is_gzip(data: bytes) -> bool:
    return data[:2] == GZIP_MAGIC


def gunzip(data: bytes, name: str) -> bytes:
    """Decompress gzip bytes; a truncated or corrupt stream is an :class:`IdxFormatError`."""
    try:
        return gzip.decompress(data)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IdxFormatError(f"{name}: corrupt or truncated gzip ({type(exc).__name__}: "
                             f"{exc})") from None


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode the bytes of one IDX file (gzipped or not) into a native-endian array.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.

    Returns
    -------
    ndarray of the header's shape and dtype (uint8 for images and labels).

    Raises
    ------
    IdxFormatError
        Not IDX (magic), an unknown type code, no or too many dimensions, or
        fewer or more data bytes than the header announces (truncated).
    """
    if is_gzip(data):
        data = gunzip(data, name)
    if len(data) < 4:
        raise IdxFormatError(f"{name}: not an IDX file ({len(data)} bytes, shorter than the "
                             "4-byte magic number)")
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(f"{name}: not an IDX file (magic number {data[:4].hex()} does not "
                             "start with 0000)")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise IdxFormatError(f"{name}: not an IDX file (unknown type code 0x{type_code:02x})")
    if not 1 <= ndim <= MAX_DIMS:
        raise IdxFormatError(f"{name}: not an IDX file ({ndim} dimensions; expected 1 to "
                             f"{MAX_DIMS})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{name}: truncated IDX header ({len(data)} bytes, expected "
                             f"{header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got < expected:
        raise IdxFormatError(f"{name}: truncated IDX file (header says shape {shape}, "
                             f"{expected} data bytes; the file has {got})")
    if got > expected:
        raise IdxFormatError(f"{name}: not a valid IDX file ({got - expected} bytes after the "
                             f"{expected} the header announces for shape {shape})")
    array = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=header)
    return array.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file from disk (gzipped or not); see :func:`parse_idx`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    return parse_idx(data, str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (uint8, int8, int16, int32, float32 or float64).

    Inverse of :func:`parse_idx`; used to write small data sets in the MNIST
    layout (the test suite's mirror serves such files).
    """
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in TYPE_OF_DTYPE:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    if not 1 <= array.ndim <= MAX_DIMS:
        raise ValueError(f"IDX holds 1 to {MAX_DIMS} dimensions, got {array.ndim}")
    header = bytes([0, 0, TYPE_OF_DTYPE[big], array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=big).tobytes()


def check_images(array: np.ndarray, name: str) -> np.ndarray:
    """Images must be an IDX3 uint8 array ``(n, height, width)``."""
    if array.ndim != 3 or array.dtype != np.uint8:
        raise IdxFormatError(f"{name}: expected images (an IDX3 uint8 array n x height x width), "
                             f"got {array.ndim} dimension(s) of {array.dtype}")
    return array


def check_labels(array: np.ndarray, name: str, n_images: int) -> np.ndarray:
    """Labels must be an IDX1 integer array with one label per image."""
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise IdxFormatError(f"{name}: expected labels (an IDX1 integer array), got "
                             f"{array.ndim} dimension(s) of {array.dtype}")
    if len(array) != n_images:
        raise IdxFormatError(f"{name}: {len(array)} labels for {n_images} images; the images "
                             "and labels files do not belong together")
    return array.astype(np.int64)
