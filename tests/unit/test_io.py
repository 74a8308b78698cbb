"""Atomic writes and checked reads."""

import json
import os

import numpy as np
import pytest

from latentlab import io
from latentlab.io import DataFileError


def test_json_is_canonical_and_rejects_nan(tmp_path):
    path = tmp_path / "m.json"
    io.atomic_write_json(path, {"b": 1, "a": np.float32(0.5)})
    assert path.read_text() == '{\n  "a": 0.5,\n  "b": 1\n}\n'
    with pytest.raises(ValueError):
        io.atomic_write_json(path, {"a": float("nan")})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": 1}  # old file intact


def test_failed_write_leaves_no_temp_file(tmp_path):
    with pytest.raises(TypeError):
        io.atomic_write_json(tmp_path / "x.json", {"a": object()})
    assert os.listdir(tmp_path) == []


def test_npz_round_trip_and_required_keys(tmp_path):
    path = tmp_path / "a.npz"
    io.atomic_write_npz(path, x=np.arange(6).reshape(2, 3))
    assert io.read_npz(path, required=["x"])["x"].shape == (2, 3)
    with pytest.raises(DataFileError, match="lacks array"):
        io.read_npz(path, required=["y"])


def test_truncated_npz_is_a_clear_error(tmp_path):
    path = tmp_path / "a.npz"
    io.atomic_write_npz(path, x=np.zeros((100, 100)))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataFileError, match="corrupt or truncated.*dvc repro"):
        io.read_npz(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataFileError, match="missing; run `dvc repro`"):
        io.read_json(tmp_path / "none.json")


def test_array_checksum_depends_on_content_not_order():
    a, b = np.zeros(3), np.ones(2)
    assert io.sha256_arrays({"a": a, "b": b}) == io.sha256_arrays({"b": b, "a": a})
    assert io.sha256_arrays({"a": a}) != io.sha256_arrays({"a": a + 1})


def test_csv_has_header_and_full_precision(tmp_path):
    path = tmp_path / "h.csv"
    io.atomic_write_csv(path, ["epoch", "loss"], [[1, 0.1 + 0.2]])
    assert io.read_csv(path) == [{"epoch": "1", "loss": repr(0.1 + 0.2)}]


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    stale = tmp_path / ".m.json.abc123.tmp"
    stale.write_text('{"half": ')
    io.atomic_write_json(tmp_path / "m.json", {"a": 1})
    assert sorted(os.listdir(tmp_path)) == ["m.json"]


def test_an_array_changed_inside_a_valid_npz_is_a_checksum_error(tmp_path):
    import zipfile

    path = tmp_path / "a.npz"
    io.atomic_write_npz(path, x=np.zeros(10), y=np.ones(3))
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buffer = __import__("io").BytesIO()
    np.save(buffer, np.ones(10))  # same shape and dtype, other values
    members["x.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as zf:  # a well-formed zip: only the checksum can tell
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(DataFileError, match="checksum mismatch"):
        io.read_npz(path)


def _replace_member(path, name, data):
    import zipfile

    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[name] = data
    with zipfile.ZipFile(path, "w") as zf:  # a well-formed zip
        for member, content in members.items():
            zf.writestr(member, content)


def _npy_bytes(array):
    buffer = __import__("io").BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_reader_loads_and_checks_only_the_arrays_it_asks_for(tmp_path):
    path = tmp_path / "splits.npz"
    io.atomic_write_npz(path, x_train=np.zeros((50, 4), np.float32),
                        x_test=np.arange(8, dtype=np.float32).reshape(2, 4), y_test=np.arange(2))
    _replace_member(path, "x_train.npy", b"not an array at all")  # never read below
    arrays = io.read_npz(path, required=("x_test",), optional=("y_test", "grey_test"))
    assert sorted(arrays) == ["x_test", "y_test"]
    assert arrays["x_test"].dtype == np.float32 and arrays["x_test"][1, 3] == 7
    with pytest.raises(DataFileError, match="checksum mismatch"):
        io.read_npz(path)  # every array: the damaged one too
    _replace_member(path, "x_test.npy", _npy_bytes(np.ones((2, 4), np.float32)))
    with pytest.raises(DataFileError, match="checksum mismatch.*dvc repro"):
        io.read_npz(path, required=("x_test",), optional=())
    assert sorted(io.read_npz(path, required=("y_test",), optional=())) == ["y_test"]


def test_a_file_with_one_checksum_over_all_arrays_is_still_read_whole_and_checked(tmp_path):
    path = tmp_path / "old.npz"
    arrays = {"x": np.zeros(10), "y": np.ones(3)}
    np.savez(path, **arrays, **{io.CHECKSUM_KEY: np.array(io.sha256_arrays(arrays))})
    got = io.read_npz(path, required=("y",), optional=())
    assert sorted(got) == ["x", "y"] and got["y"].sum() == 3
    _replace_member(path, "x.npy", _npy_bytes(np.ones(10)))
    with pytest.raises(DataFileError, match="checksum mismatch"):
        io.read_npz(path, required=("y",), optional=())


CAPPED_WRITER = r"""
import resource, sys
from latentlab import io
from latentlab.cli import run_stage
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # files above 4 KiB: EFBIG
def main(argv):
    io.atomic_write_bytes(sys.argv[1], b"x" * 100_000)
raise SystemExit(run_stage(main))
"""


def test_a_write_the_file_system_refuses_is_one_line_and_keeps_the_old_file(tmp_path):
    """A real OS fault (the process's file-size limit, so no root is needed): one line naming
    the file and the fix, exit 1, the old output untouched and no temp file left behind."""
    import subprocess
    import sys

    target = tmp_path / "model.pt"
    target.write_bytes(b"old")
    result = subprocess.run([sys.executable, "-c", CAPPED_WRITER, str(target)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {target}: file too large")
    assert "raise the limit and rerun" in line and "outputs already in place are whole" in line
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_an_os_error_outside_the_atomic_writers_is_one_line_too(tmp_path):
    """A library writing its own file (not through latentlab.io) onto a full disk: /dev/full
    answers every write with ENOSPC."""
    from latentlab.cli import run_stage

    def main(argv):
        with open("/dev/full", "wb", buffering=0) as fh:
            fh.write(b"x")

    import contextlib
    import io as stdio

    err = stdio.StringIO()
    with contextlib.redirect_stderr(err):
        assert run_stage(main) == 1
    assert err.getvalue().startswith("error: cannot write an output (the OS named no file): no "
                                     "space left on the device: free space there")
