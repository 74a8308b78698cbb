"""A user's own data (data.name: custom): .npz or IDX folder, checksums recorded, clear errors."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from latentlab.cli import run_stage
from latentlab.data.custom import CustomDataError, load_custom
from latentlab.data.idx import encode_idx
from latentlab.io import read_npz

REPO = Path(__file__).resolve().parents[2]
NO_FILES = {"train_images": None, "train_labels": None, "test_images": None, "test_labels": None}


def _run_download(tmp_path, capsys, custom: dict):
    import importlib.util

    spec = importlib.util.spec_from_file_location("download_stage", REPO / "stages/download.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["data"]["name"] = "custom"
    raw["data"]["custom"].update(custom)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    code = run_stage(stage.main, ["--out", str(tmp_path / "out/images.npz"),
                                  "--meta", str(tmp_path / "out/source.json"),
                                  "--download-dir", str(tmp_path / "dl"), "--params", str(params)])
    return code, capsys.readouterr().err.strip()


def test_npz_with_labels_is_materialised_with_its_checksum(tmp_path, capsys):
    x = np.random.default_rng(0).integers(0, 256, (30, 6, 5), dtype=np.uint8)
    y = np.arange(30) % 3
    path = tmp_path / "mine.npz"
    np.savez(path, x=x, y=y)
    code, err = _run_download(tmp_path, capsys, {"path": str(path)})
    assert code == 0, err
    arrays = read_npz(tmp_path / "out/images.npz")
    np.testing.assert_array_equal(arrays["images"], x)
    np.testing.assert_array_equal(arrays["labels"], y)
    assert "is_test" not in arrays
    meta = json.loads((tmp_path / "out/source.json").read_text())
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["files"]["mine.npz"] == {"sha256": sha,
                                         "verified": "recorded only (no published checksum)"}
    assert (meta["name"], meta["has_labels"], meta["n_classes"], meta["pixel_max"]) == (
        "custom", True, 3, 255.0)


def test_npz_rows_without_labels_are_square_images_and_flagged_unlabelled(tmp_path):
    x = np.random.default_rng(1).random((12, 49)).astype(np.float64)
    path = tmp_path / "rows.npz"
    np.savez(path, x=x)
    loaded = load_custom(path, NO_FILES)
    assert loaded["images"].shape == (12, 7, 7) and loaded["images"].dtype == np.float32
    assert loaded["pixel_max"] == 1.0 and not loaded["has_labels"]
    assert (loaded["labels"] == -1).all() and loaded["is_test"] is None


def test_npz_rows_that_are_not_square_become_one_row_images(tmp_path):
    path = tmp_path / "rows.npz"
    np.savez(path, x=np.zeros((4, 10), np.uint8), y=np.arange(4))
    assert load_custom(path, NO_FILES)["images"].shape == (4, 1, 10)


def test_npz_official_test_split_is_kept(tmp_path):
    path = tmp_path / "split.npz"
    np.savez(path, x=np.zeros((8, 4, 4), np.uint8), y=np.arange(8) % 2,
             x_test=np.ones((3, 4, 4), np.uint8), y_test=np.array([0, 1, 1]))
    loaded = load_custom(path, NO_FILES)
    assert loaded["is_test"].tolist() == [False] * 8 + [True] * 3
    assert loaded["labels"].tolist()[-3:] == [0, 1, 1]


BAD_NPZ = [
    ({"x": np.zeros((5, 4, 4), np.int64)}, "dtype int64; expected uint8 (0..255) or float"),
    ({"x": np.full((5, 4), 2.0)}, "float pixels must be finite and in [0, 1] (got min 2, max 2)"),
    ({"x": np.full((5, 4), np.nan)}, "float pixels must be finite"),
    ({"x": np.zeros((5,), np.uint8)}, "shape (5,); expected N x H x W images or N x D rows"),
    ({"x": np.zeros((5, 2, 2, 3), np.uint8)}, "shape (5, 2, 2, 3)"),
    ({"x": np.zeros((5, 4), np.uint8), "y": np.arange(4)}, "y: 4 labels for 5 images"),
    ({"x": np.zeros((5, 4), np.uint8), "y": np.zeros(5)}, "y: shape (5,) of float64; expected N "
                                                          "integer labels"),
    ({"x": np.zeros((5, 4), np.uint8), "y": -np.ones(5, int)}, "labels must be >= 0"),
    ({"images": np.zeros((5, 4), np.uint8)}, "holds ['images']; expected x, optional y"),
    ({"x": np.zeros((5, 4), np.uint8), "x_test": np.zeros((2, 5), np.uint8)}, "x_test is (2, 5)"),
    ({"x": np.zeros((5, 4), np.uint8), "y": np.arange(5), "x_test": np.zeros((2, 4), np.uint8)},
     "give labels for both splits"),
]


@pytest.mark.parametrize("arrays,message", BAD_NPZ, ids=[b[1][:30] for b in BAD_NPZ])
def test_wrong_shapes_and_dtypes_are_one_clear_line(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(CustomDataError) as info:
        load_custom(path, NO_FILES)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_not_an_npz_and_a_missing_path(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CustomDataError, match="not a readable .npz"):
        load_custom(junk, NO_FILES)
    with pytest.raises(CustomDataError, match="no such file or folder"):
        load_custom(tmp_path / "absent.npz", NO_FILES)


def _idx_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "idx"
    folder.mkdir()
    rng = np.random.default_rng(2)
    (folder / "a.idx").write_bytes(encode_idx(rng.integers(0, 256, (20, 5, 5), dtype=np.uint8)))
    (folder / "a-labels.gz").write_bytes(gzip.compress(encode_idx(np.arange(20, dtype=np.uint8)
                                                                  % 4)))
    (folder / "b.idx").write_bytes(encode_idx(np.zeros((6, 5, 5), np.uint8)))
    (folder / "b-labels").write_bytes(encode_idx(np.arange(6, dtype=np.uint8) % 4))
    return folder


def test_an_idx_folder_with_names_from_params(tmp_path, capsys):
    folder = _idx_folder(tmp_path)
    code, err = _run_download(tmp_path, capsys, {
        "path": str(folder), "train_images": "a.idx", "train_labels": "a-labels.gz",
        "test_images": "b.idx", "test_labels": "b-labels"})
    assert code == 0, err
    arrays = read_npz(tmp_path / "out/images.npz")
    assert arrays["images"].shape == (26, 5, 5) and arrays["is_test"].sum() == 6
    meta = json.loads((tmp_path / "out/source.json").read_text())
    assert sorted(meta["files"]) == ["a-labels.gz", "a.idx", "b-labels", "b.idx"]
    assert meta["official_test_split"] and meta["n_test"] == 6


def test_an_idx_folder_without_labels_and_its_errors(tmp_path, capsys):
    folder = _idx_folder(tmp_path)
    loaded = load_custom(folder, {**NO_FILES, "train_images": "a.idx"})
    assert not loaded["has_labels"] and loaded["images"].shape == (20, 5, 5)
    with pytest.raises(CustomDataError, match="data.custom.train_images: required"):
        load_custom(folder, NO_FILES)
    with pytest.raises(CustomDataError, match=r"missing \(data.custom.train_labels\)"):
        load_custom(folder, {**NO_FILES, "train_images": "a.idx", "train_labels": "nope"})
    code, err = _run_download(tmp_path, capsys, {"path": str(folder), "train_images": "a.idx",
                                                 "train_labels": "b-labels"})
    assert code == 1 and err == f"error: {folder / 'b-labels'}: 6 labels for 20 images; the " \
                                "images and labels files do not belong together"
