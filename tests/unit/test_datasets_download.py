"""The real download stage against a mirror on 127.0.0.1 and against local folders.

This machine has no internet, so the tests make small valid IDX files (a few
hundred images in MNIST's layout), register them with their own MD5s through
the registry the real sets use (:func:`latentlab.data.registry.register_image_set`),
serve them from a local HTTP server, and run the stage's ``main`` in-process.
Covered: good files (and nothing fetched twice), a wrong checksum, a truncated
file, no mirror reachable (a closed loopback port), local copies gzipped or
not, a missing local file; after each failure the directory holds no partial
file and a rerun after the fix succeeds.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib.util
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from latentlab.cli import run_stage
from latentlab.data import registry
from latentlab.data.idx import encode_idx

REPO = Path(__file__).resolve().parents[2]
NAME = "tiny_mnist"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
N_TRAIN, N_TEST = 200, 60


def make_mnist_files(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> dict:
    """The four gzipped IDX files of a small MNIST-layout set: ``{file name: bytes}``."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        images[:, labels[0]:labels[0] + 3] = 255  # something per class, not only noise
        out[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(encode_idx(images), mtime=0)
        out[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(encode_idx(labels), mtime=0)
    return out


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class Mirror:
    """A loopback HTTP server: ``files`` by name; counts requests; can cut a response short."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests, self.cut_short = dict(files), [], set()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                name = self.path.rsplit("/", 1)[-1]
                mirror.requests.append(name)
                if name not in mirror.files:
                    self.send_error(404)
                    return
                body = mirror.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # a connection that drops half way: fewer bytes than Content-Length announced
                self.wfile.write(body[: len(body) // 2] if name in mirror.cut_short else body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mnist/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def files():
    return make_mnist_files()


@pytest.fixture()
def mirror(files):
    server = Mirror(files)
    yield server
    server.close()


@pytest.fixture()
def registered(files, mirror):
    """The tiny set in the registry, with the md5s of the good files and the mirror as default."""
    spec = registry.ImageSet(name=NAME, folder="TinyMNIST", mirrors=(mirror.url,),
                            resources=tuple((f, md5(files[f])) for f in FILES),
                            train=FILES[:2], test=FILES[2:], classes=tuple("0123456789"))
    registry.register_image_set(spec)
    yield spec
    registry.unregister_image_set(NAME)


def load_stage():
    spec = importlib.util.spec_from_file_location("download_stage", REPO / "stages/download.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Run:
    """Run the download stage in ``tmp`` with ``data`` params; outputs under ``tmp/out``."""

    def __init__(self, tmp: Path, capsys):
        self.tmp, self.capsys, self.stage = tmp, capsys, load_stage()
        self.raw = tmp / "downloads" / "TinyMNIST" / "raw"

    def __call__(self, name=NAME, **data):
        raw = yaml.safe_load((REPO / "params.yaml").read_text())
        raw["data"].update({"name": name, **data})
        params = self.tmp / "params.yaml"
        params.write_text(yaml.safe_dump(raw))
        code = run_stage(self.stage.main, ["--out", str(self.tmp / "out/images.npz"),
                                           "--meta", str(self.tmp / "out/source.json"),
                                           "--download-dir", str(self.tmp / "downloads"),
                                           "--params", str(params)])
        return code, self.capsys.readouterr().err.strip()

    def outputs(self):
        return sorted(p.name for p in (self.tmp / "out").glob("*")) \
            if (self.tmp / "out").exists() else []

    def leftovers(self):
        """Everything in the download folder that is not a finished, named file."""
        return sorted(p.name for p in self.raw.iterdir() if p.name.startswith(".")) \
            if self.raw.exists() else []


@pytest.fixture()
def run(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    return Run(tmp_path, capsys)


def _expected_arrays(files):
    from latentlab.data.idx import parse_idx

    get = {f: parse_idx(files[f], f) for f in FILES}
    return (np.concatenate([get[FILES[0]], get[FILES[2]]]),
            np.concatenate([get[FILES[1]], get[FILES[3]]]))


def test_good_files_from_the_mirror_are_checked_decoded_and_never_fetched_twice(
        run, registered, mirror, files):
    code, err = run()
    assert code == 0, err
    assert sorted(mirror.requests) == sorted(FILES)
    from latentlab.io import read_npz

    arrays = read_npz(run.tmp / "out/images.npz")
    images, labels = _expected_arrays(files)
    np.testing.assert_array_equal(arrays["images"], images)
    np.testing.assert_array_equal(arrays["labels"], labels)
    assert arrays["is_test"].sum() == N_TEST and not arrays["is_test"][:N_TRAIN].any()
    meta = json.loads((run.tmp / "out/source.json").read_text())
    assert meta["name"] == NAME and meta["n_examples"] == N_TRAIN + N_TEST
    assert (meta["n_train"], meta["n_test"], meta["image_shape"]) == (N_TRAIN, N_TEST, [28, 28])
    assert meta["pixel_max"] == 255.0 and meta["has_labels"] and meta["official_test_split"]
    for f in FILES:
        record = meta["files"][f]
        assert record["md5"] == md5(files[f]) and record["verified"] == "published md5"
        assert record["origin"] == mirror.url + f and record["fetched"]
    # torchvision's layout: the .gz and the decompressed file side by side
    assert sorted(p.name for p in run.raw.iterdir()) == sorted(
        FILES + tuple(f[:-3] for f in FILES))

    mirror.requests.clear()
    code, err = run()
    assert code == 0, err
    assert mirror.requests == []  # nothing fetched twice
    again = json.loads((run.tmp / "out/source.json").read_text())
    assert all(r["origin"] == "already downloaded" and not r["fetched"]
               for r in again["files"].values())


def test_a_wrong_checksum_is_one_line_leaves_nothing_and_a_rerun_after_the_fix_works(
        run, registered, mirror, files):
    mirror.files["t10k-images-idx3-ubyte.gz"] = gzip.compress(b"\x00\x00\x08\x03 something else")
    code, err = run()
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("error: t10k-images-idx3-ubyte.gz: could not download it")
    assert "checksum mismatch" in line and md5(files["t10k-images-idx3-ubyte.gz"]) in line
    assert "data.local_dir" in line and str(run.raw) in line  # which files to put where
    assert run.leftovers() == [] and run.outputs() == []
    assert not (run.raw / "t10k-images-idx3-ubyte.gz").exists()

    mirror.files = dict(files)  # the fix: the mirror serves the published file
    code, err = run()
    assert code == 0, err
    assert sorted(mirror.requests[-1:]) == ["t10k-labels-idx1-ubyte.gz"]
    assert run.outputs() == ["images.npz", "source.json"]


def test_a_truncated_file_fails_its_checksum(run, registered, mirror, files):
    name = "train-images-idx3-ubyte.gz"
    mirror.files[name] = files[name][: len(files[name]) // 3]
    code, err = run()
    assert code == 1
    assert f"error: {name}: could not download it" in err and "checksum mismatch" in err
    assert f"got {len(files[name]) // 3} bytes" in err
    assert run.leftovers() == [] and not (run.raw / name).exists()


def test_a_connection_cut_short_is_reported_as_a_truncated_download(run, registered, mirror):
    mirror.cut_short.add("train-labels-idx1-ubyte.gz")
    code, err = run()
    assert code == 1
    assert "error: train-labels-idx1-ubyte.gz" in err and "truncated download" in err
    assert run.leftovers() == [] and not (run.raw / "train-labels-idx1-ubyte.gz").exists()
    mirror.cut_short.clear()
    assert run()[0] == 0


def test_no_mirror_reachable_names_the_file_and_the_way_out(run, registered, closed_port):
    url = f"http://127.0.0.1:{closed_port}/"
    code, err = run(mirror=url)
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("error: train-images-idx3-ubyte.gz: could not download it from any "
                           f"mirror ({url}train-images-idx3-ubyte.gz: connection refused)")
    assert "data.local_dir" in line and "data.mirror" in line
    assert run.leftovers() == [] and run.outputs() == []


def test_a_mirror_replaces_the_default_mirrors(run, registered, mirror, files):
    other = Mirror(files)
    try:
        code, err = run(mirror=other.url.rstrip("/"))  # a missing trailing slash is fine
        assert code == 0, err
        assert sorted(other.requests) == sorted(FILES) and mirror.requests == []
    finally:
        other.close()


def test_local_gzipped_files_are_checked_and_nothing_is_contacted(run, registered, mirror, files,
                                                                    tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    for name, data in files.items():
        (local / name).write_bytes(data)
    code, err = run(local_dir=str(local))
    assert code == 0, err
    assert mirror.requests == []
    meta = json.loads((run.tmp / "out/source.json").read_text())
    assert {r["verified"] for r in meta["files"].values()} == {"published md5"}
    assert meta["origin"].endswith(f"(data.local_dir {local})")


def test_local_uncompressed_files_in_torchvision_layout_are_read(run, registered, mirror, files,
                                                                  tmp_path):
    local = tmp_path / "torchvision-root"
    raw = local / "TinyMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, data in files.items():
        (raw / name[:-3]).write_bytes(gzip.decompress(data))
    code, err = run(local_dir=str(local))
    assert code == 0, err
    assert mirror.requests == []
    meta = json.loads((run.tmp / "out/source.json").read_text())
    assert all(r["md5"] is None and r["verified"].startswith("idx structure")
               for r in meta["files"].values())
    from latentlab.io import read_npz

    np.testing.assert_array_equal(read_npz(run.tmp / "out/images.npz")["images"],
                                  _expected_arrays(files)[0])


def test_a_missing_local_file_says_which_files_to_put_where(run, registered, mirror, files,
                                                            tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    for name in FILES[:3]:
        (local / name).write_bytes(files[name])
    code, err = run(local_dir=str(local))
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"error: t10k-labels-idx1-ubyte.gz: not in data.local_dir {local}")
    assert all(name in line for name in FILES) and mirror.requests == []
    assert run.outputs() == []
    (local / FILES[3]).write_bytes(files[FILES[3]])
    assert run(local_dir=str(local))[0] == 0


def test_local_files_with_a_wrong_checksum_or_truncated_are_refused(run, registered, files,
                                                                    tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    for name, data in files.items():
        (local / name).write_bytes(data)
    bad = local / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(encode_idx(np.zeros(N_TRAIN, np.uint8))))
    code, err = run(local_dir=str(local))
    assert code == 1 and f"error: {bad}: checksum mismatch" in err
    assert "replace it with the published file" in err
    assert run.leftovers() == []

    bad.unlink()
    plain = local / "train-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress(files["train-labels-idx1-ubyte.gz"])[:-20])
    code, err = run(local_dir=str(local))
    assert code == 1 and f"error: {plain}: truncated IDX file" in err
    assert run.leftovers() == []


def test_mirror_and_local_dir_together_are_a_params_error(run, registered, tmp_path):
    code, err = run(mirror="http://127.0.0.1:1/", local_dir=str(tmp_path))
    assert code == 2 and err.startswith("error: data.mirror and data.local_dir: both set")


def test_the_real_sets_are_torchvisions_and_load_through_its_classes(run, files, mirror,
                                                                     tmp_path):
    import torchvision.datasets as tvd

    for name, cls in (("mnist", tvd.MNIST), ("fashion_mnist", tvd.FashionMNIST),
                      ("kmnist", tvd.KMNIST)):
        spec = registry.image_set(name)
        assert spec.mirrors == tuple(cls.mirrors) and spec.folder == cls.__name__
        assert spec.resources == tuple(tuple(r) for r in cls.resources)
        assert spec.torchvision_class == cls.__name__ and len(spec.classes) == 10
    assert dict(registry.image_set("mnist").resources)["train-images-idx3-ubyte.gz"] == \
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"  # the published MD5, untouched

    # The same code path with test checksums: torchvision's MNIST class decodes the files.
    spec = registry.ImageSet(name="tiny_tv", folder="MNIST", mirrors=(mirror.url,),
                            resources=tuple((f, md5(files[f])) for f in FILES), train=FILES[:2],
                            test=FILES[2:], classes=tuple("0123456789"), torchvision_class="MNIST")
    registry.register_image_set(spec)
    try:
        code, err = run(name="tiny_tv")
    finally:
        registry.unregister_image_set("tiny_tv")
    assert code == 0, err
    from latentlab.io import read_npz

    arrays = read_npz(run.tmp / "out/images.npz")
    images, labels = _expected_arrays(files)
    np.testing.assert_array_equal(arrays["images"], images)
    np.testing.assert_array_equal(arrays["labels"], labels)
    assert tvd.MNIST(root=str(run.tmp / "downloads"), train=False).data.shape == (N_TEST, 28, 28)
