"""Wall time of the whole pipeline as a user meets it, in a throwaway copy of this repository.

Measures, on the default params.yaml (or --params-override for quick runs):
  1. the first full `dvc repro` (empty DVC cache, no outputs),
  2. a no-op `dvc repro`,
  3. `dvc repro` after one `train.vae.beta` change (reruns train@vae and downstream),
  4. `dvc repro` after setting it back (issue 20's run-cache goal: <= 10 % of step 3; the
     stages DVC restores from its run-cache run no code),
and the overhead ratio (issue 20: <= 1.3): step 1's wall time over the seconds of fitting the
stages record in timings/ (every model, replicates and sweep included, t-SNE, PCA). The IWAE,
the statistics and the figures are not in timings/, so the ratio is an upper bound.
For scale, the import time of the heavy libraries each stage process pays.
Prints a table and writes JSON (--out). Run: `.venv/bin/python benchmarks/pipeline_timing.py`.
"""

from __future__ import annotations

import argparse
import json
import re
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
        fits = [json.loads(path.read_text()) for path in (box.root / "timings").glob("*.json")]
        results["fit_seconds_total"] = round(sum(t.get("fit_seconds", 0) +
                                                 t.get("replicates_fit_seconds", 0)
                                                 for t in fits), 2)
        results["overhead_ratio"] = round(results["first_full_repro_s"] /
                                          results["fit_seconds_total"], 2)
        ran, results["noop_repro_s"] = box.repro()
        results["stages_run_noop"] = len(ran)
        was = 1.0 if "beta: 1.0" in (box.root / "params.yaml").read_text() else 0.5
        set_params(box.root / "params.yaml", {("train", "vae", "beta"): 1.5 - was})
        ran, results["after_train_vae_change_s"] = box.repro()
        results["stages_run_after_change"] = sorted(ran)
        set_params(box.root / "params.yaml", {("train", "vae", "beta"): was})
        ran, results["after_change_back_s"] = box.repro()
        results["stages_run_after_change_back"] = sorted(ran)
        results["stages_restored_after_change_back"] = sorted(
            re.findall(r"Stage '([^']+)' is cached - skipping run", box.last_output))
        results["change_back_ratio"] = round(results["after_change_back_s"] /
                                             results["after_train_vae_change_s"], 3)
        results["fit_seconds"] = {path.stem: json.loads(path.read_text())["fit_seconds"]
                                  for path in sorted((box.root / "timings").glob("*.json"))}
    for key in ("first_full_repro_s", "noop_repro_s", "after_train_vae_change_s",
                "after_change_back_s"):
        results[key] = round(results[key], 2)

    print(f"{'measurement':32s} value")
    for key, value in results.items():
        print(f"{key:32s} {value}")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
