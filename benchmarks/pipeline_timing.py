"""Wall time of the whole pipeline as a user meets it, in a throwaway copy of this repository.

Measures, on the default params.yaml (or --params-override for quick runs):
  1. the first full `dvc repro` (empty DVC cache, no outputs),
  2. a no-op `dvc repro`,
  3. `dvc repro` after one `train.vae.beta` change (reruns train@vae and downstream),
and, for scale, the import time of the heavy libraries each stage process pays.
Prints a table and writes JSON (--out). Run: `.venv/bin/python benchmarks/pipeline_timing.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentlab.pipeline.sandbox import Sandbox, set_params

REPO = Path(__file__).resolve().parents[1]


def import_seconds(module: str, repeats: int = 3) -> float:
    """Best-of-n wall seconds of `python -c "import <module>"` minus a bare interpreter start."""
    def best(code: str) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append(time.perf_counter() - started)
        return min(times)
    return best(f"import {module}") - best("pass")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    ap.add_argument("--epochs", type=int, help="override train.common.epochs (quick runs)")
    args = ap.parse_args()

    results: dict = {"imports_s": {m: round(import_seconds(m), 2)
                                   for m in ("numpy", "torch", "sklearn.manifold", "mlflow",
                                             "matplotlib.pyplot")}}
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(REPO, Path(tmp) / "latentlab")
        if args.epochs:
            set_params(box.root / "params.yaml", {("train", "common", "epochs"): args.epochs})
            box.commit("epochs override")
        box.run(sys.executable, "-m", "latentlab.tracking", "init")
        ran, results["first_full_repro_s"] = box.repro()
        results["stages_run_first"] = len(ran)
        ran, results["noop_repro_s"] = box.repro()
        results["stages_run_noop"] = len(ran)
        beta = 0.5 if "beta: 1.0" in (box.root / "params.yaml").read_text() else 1.0
        set_params(box.root / "params.yaml", {("train", "vae", "beta"): beta})
        ran, results["after_train_vae_change_s"] = box.repro()
        results["stages_run_after_change"] = sorted(ran)
        results["fit_seconds"] = {path.stem: json.loads(path.read_text())["fit_seconds"]
                                  for path in sorted((box.root / "timings").glob("*.json"))}
    for key in ("first_full_repro_s", "noop_repro_s", "after_train_vae_change_s"):
        results[key] = round(results[key], 2)

    print(f"{'measurement':32s} value")
    for key, value in results.items():
        print(f"{key:32s} {value}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
