"""MNIST through the real stages in a sandbox: offline failures, then the whole pipeline.

No internet here, so the sandbox gets a generated MNIST-layout folder (300
images in the four standard IDX files). The download stage runs as a user
runs it (a subprocess, the real registry with torchvision's published MD5s):
against a closed loopback port and against a loopback mirror whose files are
not the published ones; each time it must exit 1 with one line and leave no
file behind. Then `dvc repro` runs the whole pipeline on ``data.name: mnist``
from the good local folder. (Truncated files, local copies and reruns after a
fix run in-process, faster, in tests/unit/test_datasets_download.py.)
"""

from __future__ import annotations

import gzip
import http.server
import json
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from latentlab.data.idx import encode_idx
from latentlab.pipeline.sandbox import SMOKE_PARAMS, Sandbox, set_params

pytestmark = pytest.mark.e2e

TINY = SMOKE_PARAMS
N_TRAIN, N_TEST = 240, 60
PUBLISHED_TRAIN_IMAGES_MD5 = "f68b3c2dcbeaaa9fbdd348bbdeb94873"  # torchvision's, for MNIST


def write_mnist_layout(folder: Path, *, gzipped: bool, seed: int = 0) -> None:
    """The four standard MNIST files, small: each class a bright band at its own rows + noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 90, (n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label: 5 + 2 * label, 4:24] = 255
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = encode_idx(array)
            name = f"{prefix}-{kind}-ubyte"
            if gzipped:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
            else:
                (folder / name).write_bytes(data)


@pytest.fixture(scope="module")
def box(tmp_path_factory, repo_root):
    sandbox = Sandbox(repo_root, tmp_path_factory.mktemp("datasets") / "latentlab")
    local = tmp_path_factory.mktemp("mnist-files")
    write_mnist_layout(local, gzipped=False)
    set_params(sandbox.root / "params.yaml", {**TINY, ("data", "name"): "mnist",
                                              ("data", "local_dir"): str(local)})
    sandbox.commit("tiny params on mnist from a local folder")
    sandbox.local = local
    return sandbox


def _download(box, tmp_path, data: dict) -> subprocess.CompletedProcess:
    params = tmp_path / "params.yaml"
    params.write_text((box.root / "params.yaml").read_text())
    set_params(params, {("data", key): value for key, value in data.items()})
    return box.run(sys.executable, "stages/download.py", "--out", str(tmp_path / "images.npz"),
                   "--meta", str(tmp_path / "source.json"), "--download-dir", "data/downloads",
                   "--params", str(params), check=False)


def _assert_failed_cleanly(box, tmp_path, result, first_words: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {first_words}"), line
    assert not (tmp_path / "images.npz").exists() and not (tmp_path / "source.json").exists()
    raw = box.root / "data/downloads/MNIST/raw"
    assert not raw.exists() or list(raw.iterdir()) == [], list(raw.iterdir())  # no partial file
    return line


def test_no_mirror_reachable_fails_in_one_line(box, tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}/mnist/"
    result = _download(box, tmp_path, {"local_dir": None, "mirror": url})
    line = _assert_failed_cleanly(box, tmp_path, result, "train-images-idx3-ubyte.gz: could not "
                                  f"download it from any mirror ({url}train-images-idx3-ubyte.gz: "
                                  "connection refused)")
    assert "set data.local_dir" in line and "data/downloads/MNIST/raw/" in line


def test_files_that_are_not_the_published_ones_fail_their_checksum(box, tmp_path):
    served = tmp_path / "served"
    write_mnist_layout(served, gzipped=True)
    handler = partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        result = _download(box, tmp_path, {"local_dir": None, "mirror": url})
    finally:
        server.shutdown()
        server.server_close()
    line = _assert_failed_cleanly(box, tmp_path, result, "train-images-idx3-ubyte.gz: could not "
                                  "download it")
    assert "checksum mismatch" in line and f"the published md5 is {PUBLISHED_TRAIN_IMAGES_MD5}" \
        in line


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_the_pipeline_runs_end_to_end_on_mnist_from_a_local_folder(box):
    ran, _ = box.repro()
    assert {"download", "preprocess", "train@vae", "baseline@tsne", "report"} <= ran
    source = json.loads((box.root / "data/raw/source.json").read_text())
    assert (source["name"], source["n_examples"], source["image_shape"]) == (
        "mnist", N_TRAIN + N_TEST, [28, 28])
    assert source["official_test_split"] and source["n_test"] == N_TEST
    assert all(r["verified"].startswith("idx structure") for r in source["files"].values())
    meta = json.loads((box.root / "data/processed/meta.json").read_text())
    assert meta["test_split"] == "official" and meta["test"]["n"] == N_TEST
    assert meta["binarize"] == "dynamic" and meta["n_features"] == 784  # mnist's auto defaults
    vae = json.loads((box.root / "metrics/train/vae.json").read_text())
    assert (vae["binarize"], vae["likelihood"], vae["likelihood_is_relaxation"]) == (
        "dynamic", "bernoulli", False)
    tsne = json.loads((box.root / "metrics/baseline/tsne.json").read_text())
    assert tsne["perplexity"] == 50.0 and tsne["subsampled"] is False
    table = json.loads((box.root / "metrics/latent_stats.json").read_text())
    assert 0.0 <= table["vae"]["knn_accuracy"] <= 1.0
    assert (box.root / "reports/report.html").stat().st_size > 1000
