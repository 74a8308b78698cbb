"""t-SNE's OpenMP threads when the other core is busy: spinning (ACTIVE) against sleeping
(PASSIVE) waits, same embedding bits (issue 20).

The Barnes-Hut gradient runs on ``baselines.tsne.num_threads`` (2) OpenMP threads. By
default libgomp lets a thread that waits at a barrier spin for a while; when another
process holds one of the two cores, the spinning thread burns the time slice the working
one needs. ``OMP_WAIT_POLICY=PASSIVE`` makes waiting threads sleep. The policy must be set
before libgomp loads, so each configuration runs in a fresh process, with and without a
busy-looping competitor process pinned to nothing (the OS places it).

Prints one line per run and a JSON summary: wall seconds, and whether the embedding's
bytes equal the ACTIVE quiet run's.

Run: ``.venv/bin/python benchmarks/tsne_wait_policy.py [--repeats 2] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

EMBED = r"""
import hashlib, json, time
import numpy as np
from sklearn.datasets import load_digits
from latentlab.analysis.baselines import embed_tsne
x = (load_digits().data / 16.0).astype(np.float32)
started = time.perf_counter()
out, _ = embed_tsne(x[:1400], x[1400:], perplexity=30.0, max_iter=500, early_exaggeration=12.0,
                    init="pca", learning_rate="auto", seed=0, num_threads=2)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "sha256": hashlib.sha256(out["z_train"].tobytes()
                                           + out["z_test"].tobytes()).hexdigest()}))
"""


def busy(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def run(policy: str | None) -> dict:
    env = {**os.environ}
    env.pop("OMP_WAIT_POLICY", None)
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", EMBED], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    results = []
    reference = None
    for contended in (False, True):
        for policy in ("ACTIVE", "PASSIVE"):
            for _ in range(args.repeats):
                competitor = None
                if contended:
                    competitor = multiprocessing.Process(target=busy, args=(time.time() + 600,))
                    competitor.start()
                try:
                    r = run(policy)
                finally:
                    if competitor is not None:
                        competitor.terminate()
                        competitor.join()
                reference = reference or r["sha256"]
                row = {"policy": policy, "other_core_busy": contended,
                       "seconds": round(r["seconds"], 2), "same_bits": r["sha256"] == reference}
                print(json.dumps(row), flush=True)
                results.append(row)
    summary = {}
    for contended in (False, True):
        for policy in ("ACTIVE", "PASSIVE"):
            times = [r["seconds"] for r in results
                     if r["policy"] == policy and r["other_core_busy"] == contended]
            summary[f"{policy.lower()}_{'busy' if contended else 'quiet'}_s"] = min(times)
    summary["all_same_bits"] = all(r["same_bits"] for r in results)
    summary["cpu_count"] = os.cpu_count()
    print(json.dumps(summary, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"runs": results, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
