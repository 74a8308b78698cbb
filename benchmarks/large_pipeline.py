"""`make bench-large`: the whole pipeline on 70 000 MNIST-sized images (issue 7's goal:
<= 6 minutes, peak RSS <= 3 GB on this 2-core machine).

Writes a synthetic 70 000 x 28 x 28 uint8 ``.npz`` with labels (``x``, ``y``; digit-like
images from ``benchlib.synthetic_images``, class structure like MNIST's), points
``data.name: custom`` / ``data.custom.path`` of a throwaway copy of the repository at
it, and runs a full `dvc repro` there with the same per-stage shim as
``stage_profile.py`` (wall, CPU, peak RSS, heavy imports per stage). Everything else is
params.yaml as it stands (28x28 defaults: hidden 512-256, dynamic binarisation, t-SNE
on at most ``baselines.tsne.max_points`` points).

Run: ``.venv/bin/python benchmarks/large_pipeline.py [--n 70000] [--out X.json]``
(about 10+ minutes on 2 cores as of 2026-11-25; not part of `make bench`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import stage_profile  # noqa: E402

from latentlab.pipeline.sandbox import Sandbox, set_params  # noqa: E402


def run(n: int, epochs: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with benchlib.Clock() as clock:
            images, labels = benchlib.synthetic_images(n, seed=0)
            data = tmp / "synthetic_28x28.npz"
            np.savez(data, x=images, y=labels)
        print(f"  wrote {data} ({images.shape}, {data.stat().st_size / 2**20:.0f} MiB) in "
              f"{clock.wall:.1f} s", file=sys.stderr, flush=True)
        box = Sandbox(benchlib.REPO, tmp / "latentlab")
        updates = {("data", "name"): "custom", ("data", "custom", "path"): str(data)}
        if epochs:
            updates[("train", "common", "epochs")] = epochs
        set_params(box.root / "params.yaml", updates)
        box.commit("70k synthetic data")
        box.run(sys.executable, "-m", "latentlab.params", "validate", "params.yaml")
        shim_dir, log = tmp / "shim", tmp / "stages.jsonl"
        shim_dir.mkdir()
        stage_profile.install_shim(shim_dir, log)
        box.run(sys.executable, "-m", "latentlab.tracking", "init")
        box.env["PATH"] = f"{shim_dir}{os.pathsep}{box.env['PATH']}"
        started = time.perf_counter()
        full = stage_profile.phase(box, log, f"full repro on {n} synthetic 28x28 images")
        full["wall_s"] = time.perf_counter() - started
        return {"n": n, "epochs_override": epochs, "full": full}


def render(result: dict) -> str:
    full = result["full"]
    rows = [[r["stage"], r["wall_s"], r["user_s"] + r["sys_s"], r["max_rss_mb"],
             *(r["heavy_imports"].get(k, {}).get("s") for k in stage_profile.SHOWN)]
            for r in full["stages"]]
    rows.append(["TOTAL `dvc repro`", full["wall_s"], None,
                 max(r["max_rss_mb"] for r in full["stages"]), None, None, None, None])
    return benchlib.table(
        ["stage", "wall s", "CPU s", "peak RSS MB", *(f"{k} s" for k in stage_profile.SHOWN)],
        rows, f"whole pipeline on {result['n']} synthetic 28x28 images (goal: <= 360 s, "
              "peak RSS <= 3072 MB)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=70000, help="number of images (default 70000)")
    ap.add_argument("--epochs", type=int, help="override train.common.epochs (quick runs)")
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    result = run(args.n, args.epochs)
    return benchlib.publish(result, render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
