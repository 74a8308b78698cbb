"""A user's own data set (``data.name: custom``): an ``.npz`` or a folder of IDX files.

* ``.npz``: ``x`` of shape (N, H, W) or (N, D), uint8 (0..255) or float in
  [0, 1]; optional ``y`` (N,) integer labels; optional ``x_test`` / ``y_test``,
  an official test split kept as the test set.
* A folder of IDX files (gzipped or not) whose names ``data.custom`` gives:
  ``train_images`` (required), ``train_labels``, ``test_images``, ``test_labels``.

The SHA-256 of every file read is recorded in ``source.json`` (no published
value exists to check it against). Wrong shapes, dtypes or lengths are a
:class:`CustomDataError` naming the file, the array and what is expected.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from latentlab.data.idx import check_images, check_labels, read_idx
from latentlab.errors import DataFileError
from latentlab.io import sha256_file

NO_LABEL = -1  # the label of every example of a set without labels


class CustomDataError(DataFileError):
    """The user's data file has the wrong layout, shape or dtype."""


def image_shape_of(x: np.ndarray) -> tuple[int, int]:
    """(H, W) of (N, H, W) data; (s, s) for (N, s²) rows; else (1, D)."""
    if x.ndim == 3:
        return int(x.shape[1]), int(x.shape[2])
    side = math.isqrt(x.shape[1])
    return (side, side) if side * side == x.shape[1] else (1, int(x.shape[1]))


def check_pixels(x: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """Return the images as (N, H, W) and their ``pixel_max`` (255 for uint8, 1 for float).

    Raises CustomDataError for another rank or dtype, no examples, or floats
    outside [0, 1] (NaN included).
    """
    if x.ndim not in (2, 3) or x.shape[0] == 0 or 0 in x.shape:
        raise CustomDataError(f"{where}: shape {x.shape}; expected N x H x W images or N x D rows "
                              "with N >= 1")
    if x.dtype == np.uint8:
        pixel_max = 255.0
    elif x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise CustomDataError(f"{where}: float pixels must be finite and in [0, 1] (got "
                                  f"{int(np.sum(~np.isfinite(x)))} NaN or infinite values)")
        if x.min() < 0.0 or x.max() > 1.0:
            raise CustomDataError(f"{where}: float pixels must be finite and in [0, 1] (got min "
                                  f"{x.min():g}, max {x.max():g}); scale them, or store uint8 "
                                  "0..255")
        x, pixel_max = x.astype(np.float32), 1.0
    else:
        raise CustomDataError(f"{where}: dtype {x.dtype}; expected uint8 (0..255) or float in "
                              "[0, 1]")
    return x.reshape(len(x), *image_shape_of(x)), pixel_max


def check_label_array(y: np.ndarray, n: int, where: str) -> np.ndarray:
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise CustomDataError(f"{where}: shape {y.shape} of {y.dtype}; expected N integer labels")
    if len(y) != n:
        raise CustomDataError(f"{where}: {len(y)} labels for {n} images; expected one per image")
    if len(y) and y.min() < 0:
        raise CustomDataError(f"{where}: labels must be >= 0 (got {y.min()})")
    return y.astype(np.int64)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CustomDataError(f"{path}: not a readable .npz ({type(exc).__name__}); save it with "
                              "numpy.savez(path, x=..., y=...) (no object arrays)") from None


def load_npz(path: Path) -> dict:
    """Images, labels and split of a user's ``.npz``; see the module docstring."""
    arrays = _read_npz(path)
    unknown = sorted(set(arrays) - {"x", "y", "x_test", "y_test"})
    if "x" not in arrays or unknown:
        raise CustomDataError(f"{path}: holds {sorted(arrays)}; expected x, optional y, x_test, "
                              "y_test")
    x, pixel_max = check_pixels(arrays["x"], f"{path}: x")
    parts_x, parts_y = [x], []
    has_labels = "y" in arrays
    if has_labels:
        parts_y.append(check_label_array(arrays["y"], len(x), f"{path}: y"))
    n_test = 0
    if "x_test" in arrays:
        x_test, test_max = check_pixels(arrays["x_test"], f"{path}: x_test")
        if x_test.shape[1:] != x.shape[1:] or test_max != pixel_max:
            raise CustomDataError(f"{path}: x_test is {arrays['x_test'].shape} of "
                                  f"{arrays['x_test'].dtype}, x is {arrays['x'].shape} of "
                                  f"{arrays['x'].dtype}; they must agree but for N")
        if has_labels != ("y_test" in arrays):
            raise CustomDataError(f"{path}: give labels for both splits (y and y_test) or "
                                  "for neither")
        if has_labels:
            parts_y.append(check_label_array(arrays["y_test"], len(x_test), f"{path}: y_test"))
        parts_x.append(x_test)
        n_test = len(x_test)
    elif "y_test" in arrays:
        raise CustomDataError(f"{path}: y_test without x_test")
    return _assemble(parts_x, parts_y, n_test, pixel_max, has_labels,
                     {path.name: sha256_file(path)})


def load_idx_folder(folder: Path, files: dict[str, str | None]) -> dict:
    """Images, labels and split from IDX files in ``folder`` named by ``files``."""
    def read(role: str, required: bool = False):
        name = files.get(role)
        if name is None:
            if required:
                raise CustomDataError(f"data.custom.{role}: required for a folder of IDX files")
            return None
        path = folder / name
        if not path.is_file():
            raise CustomDataError(f"{path}: missing (data.custom.{role}); put the file there or "
                                  f"fix the name in params.yaml")
        checksums[name] = sha256_file(path)
        return read_idx(path), str(path)

    checksums: dict[str, str] = {}
    train_x, where = read("train_images", required=True)
    x, pixel_max = check_pixels(check_images(train_x, where), where)
    parts_x, parts_y, n_test = [x], [], 0
    labels = read("train_labels")
    has_labels = labels is not None
    if has_labels:
        parts_y.append(check_labels(labels[0], labels[1], len(x)))
    test = read("test_images")
    test_labels = read("test_labels")
    if test is not None:
        x_test, _ = check_pixels(check_images(test[0], test[1]), test[1])
        if x_test.shape[1:] != x.shape[1:]:
            raise CustomDataError(f"{test[1]}: images of {x_test.shape[1:]}, the training images "
                                  f"are {x.shape[1:]}")
        if has_labels != (test_labels is not None):
            raise CustomDataError("data.custom.train_labels and data.custom.test_labels: give "
                                  "both or neither")
        if has_labels:
            parts_y.append(check_labels(test_labels[0], test_labels[1], len(x_test)))
        parts_x.append(x_test)
        n_test = len(x_test)
    elif test_labels is not None:
        raise CustomDataError("data.custom.test_labels: given without data.custom.test_images")
    return _assemble(parts_x, parts_y, n_test, pixel_max, has_labels, checksums)


def _assemble(parts_x, parts_y, n_test: int, pixel_max: float, has_labels: bool,
              checksums: dict[str, str]) -> dict:
    images = np.concatenate(parts_x)
    labels = (np.concatenate(parts_y) if has_labels
              else np.full(len(images), NO_LABEL, dtype=np.int64))
    is_test = None
    if n_test:
        is_test = np.zeros(len(images), dtype=bool)
        is_test[-n_test:] = True
    return {"images": images, "labels": labels, "is_test": is_test, "pixel_max": pixel_max,
            "has_labels": has_labels, "sha256_files": checksums}


def load_custom(path: str | Path, files: dict[str, str | None]) -> dict:
    """Dispatch on ``path``: an ``.npz`` file or a folder of IDX files."""
    path = Path(path)
    if path.is_dir():
        return load_idx_folder(path, files)
    if path.is_file():
        return load_npz(path)
    raise CustomDataError(f"data.custom.path {path}: no such file or folder; give an .npz with x "
                          "(and optional y) or a folder of IDX files")
