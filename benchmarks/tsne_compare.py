"""Item 4 of issue 7: scikit-learn's Barnes-Hut t-SNE against openTSNE's FFT method.

The same data, seed and settings for both: the pipeline's (perplexity 30, early
exaggeration 12 for 250 iterations, 1000 iterations in all, PCA initialisation,
learning rate "auto"; ``baselines.tsne`` in params.yaml). scikit-learn runs through the
project's own ``latentlab.analysis.baselines.embed_tsne``; openTSNE through ``openTSNE.TSNE``
(``negative_gradient_method="fft"``). Both are limited to the same thread count
(``--threads``, default 1: comparable, and far less disturbed by other jobs on the
cores than two threads). The two methods of one data set run side by side, in two
processes on the machine's two cores, so each is timed on a core of its own and the
comparison costs the slower one's time, not the sum (``--one-at-a-time`` to run them in
turn); CPU seconds are reported beside wall seconds.

Data sets: the digits (1797 x 64), and the first 10 000 and all 70 000 of the synthetic
28x28 digit-like images of ``benchlib.synthetic_images`` (784-d, scaled to [0, 1]).

Reported: wall and CPU seconds, the final KL divergence, and the trustworthiness
(k = 5, scikit-learn's) of each embedding: on all points for the digits; on the same
seeded 2000-point subsample for both methods on the synthetic sets (the exact measure
needs n^2 memory). The digits and 10 000-point runs always run; the 70 000-point runs
are time-boxed by ``--budget``: one whose extrapolation from the method's 10 000-point
time (N log N for Barnes-Hut, N for FFT) does not fit what is left is reported as
skipped, with that extrapolation.

Run: ``.venv/bin/python benchmarks/tsne_compare.py [--budget 240] [--out X.json]``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

SETTINGS = {"perplexity": 30.0, "early_exaggeration": 12.0, "max_iter": 1000, "init": "pca",
            "learning_rate": "auto", "seed": 0}
EXAGGERATION_ITER = 250  # scikit-learn's fixed early-exaggeration phase
TRUST_POINTS = 2000
TRUST_K = 5
BOXED_ABOVE = 20000  # runs on more points than this are time-boxed by --budget


def datasets(sizes: tuple[int, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = {"digits 1797x64": (digits.data.astype(np.float32) / 16.0, digits.target)}
    images, labels = benchlib.synthetic_images(max(sizes), seed=0)
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    for n in sizes:
        out[f"synthetic {n}x784"] = (x[:n], labels[:n])
    return out


def run_sklearn(x: np.ndarray, threads: int) -> tuple[np.ndarray, dict]:
    from latentlab.analysis.baselines import embed_tsne

    with benchlib.Clock() as clock:
        result, _ = embed_tsne(x, x[:0], **SETTINGS, num_threads=threads)
    return result["z_train"], {"wall_s": clock.wall, "cpu_s": clock.cpu,
                               "kl_divergence": result["kl_divergence"]}


def run_opentsne(x: np.ndarray, threads: int) -> tuple[np.ndarray, dict]:
    from openTSNE import TSNE

    tsne = TSNE(n_components=2, perplexity=SETTINGS["perplexity"],
                early_exaggeration=SETTINGS["early_exaggeration"],
                early_exaggeration_iter=EXAGGERATION_ITER,
                n_iter=SETTINGS["max_iter"] - EXAGGERATION_ITER,
                initialization=SETTINGS["init"], learning_rate=SETTINGS["learning_rate"],
                negative_gradient_method="fft", random_state=SETTINGS["seed"], n_jobs=threads)
    with benchlib.Clock() as clock:
        embedding = tsne.fit(x)
    return np.asarray(embedding, dtype=np.float32), {
        "wall_s": clock.wall, "cpu_s": clock.cpu,
        "kl_divergence": float(embedding.kl_divergence)}


def trust(x: np.ndarray, z: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    if len(x) > TRUST_POINTS:
        rows = np.random.default_rng(0).choice(len(x), TRUST_POINTS, replace=False)
        x, z = x[rows], z[rows]
    return float(trustworthiness(x, z, n_neighbors=TRUST_K))


def opentsne_version() -> str | None:
    try:
        import openTSNE
    except ImportError:
        return None
    return openTSNE.__version__


def measure(method: str, x: np.ndarray, threads: int) -> dict:
    """One embedding by ``method`` with its timing, KL and trustworthiness (a worker's job)."""
    z, timing = METHODS[method](x, threads)
    return {**timing, "trustworthiness": trust(x, z)}


METHODS = {"sklearn barnes_hut": run_sklearn, "openTSNE fft": run_opentsne}


def run(budget: float, threads: int, sizes: tuple[int, ...], side_by_side: bool = True) -> dict:
    """Every data set by every method; with ``side_by_side`` the two methods of one data set
    run at the same time in two processes, one core each (``threads`` each), so the
    comparison takes the slower method's time instead of the sum."""
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    version = opentsne_version()
    methods = [m for m in METHODS if version or not m.startswith("openTSNE")]
    result: dict = {"threads": threads, "settings": SETTINGS, "opentsne": version,
                    "side_by_side": side_by_side,
                    "trustworthiness": f"k={TRUST_K}; synthetic sets: the same seeded "
                                       f"{TRUST_POINTS}-point subsample for both", "rows": []}
    base: dict[str, tuple[int, float]] = {}  # method -> (n, wall) of the largest run so far
    with ProcessPoolExecutor(max_workers=len(methods) if side_by_side else 1) as pool:
        for name, (x, _) in datasets(sizes).items():
            n, jobs = len(x), {}
            for method in methods:
                row = {"data": name, "n": n, "method": method}
                result["rows"].append(row)
                if method in base and n > BOXED_ABOVE:  # the 70k runs: time-boxed
                    n0, t0 = base[method]
                    scale = ((n / n0) * (math.log(n) / math.log(n0)) if "barnes" in method
                             else n / n0)
                    row["extrapolated_wall_s"] = t0 * scale
                    left = budget - (time.perf_counter() - started)
                    if row["extrapolated_wall_s"] > left:
                        row["skipped"] = (f"extrapolated {row['extrapolated_wall_s']:.0f} s "
                                          f"from {n0} points > {left:.0f} s left of the budget")
                        print(f"  {name} {method}: skipped ({row['skipped']})",
                              file=sys.stderr, flush=True)
                        continue
                jobs[method] = (row, pool.submit(measure, method, x, threads))
            for method, (row, job) in jobs.items():
                row.update(job.result())
                base[method] = (n, row["wall_s"])
                print(f"  {name} {method}: {row['wall_s']:.1f} s, trustworthiness "
                      f"{row['trustworthiness']:.4f}", file=sys.stderr, flush=True)
    for row in result["rows"]:
        ref = next((r for r in result["rows"] if r["data"] == row["data"]
                    and r["method"].startswith("sklearn") and "wall_s" in r), None)
        if ref and "wall_s" in row:
            row["speedup_vs_sklearn"] = ref["wall_s"] / row["wall_s"]
    result["seconds"] = time.perf_counter() - started
    return result


def render(result: dict) -> str:
    rows = [[r["data"], r["method"], r.get("wall_s"), r.get("cpu_s"),
             f"{r['trustworthiness']:.4f}" if "trustworthiness" in r else None,
             f"{r['kl_divergence']:.3f}" if "kl_divergence" in r else None,
             r.get("speedup_vs_sklearn"),
             ("skipped: " + r["skipped"]) if "skipped" in r else ""]
            for r in result["rows"]]
    note = "" if result["opentsne"] else " (openTSNE not installed: scikit-learn only)"
    return benchlib.table(
        ["data", "method", "wall s", "CPU s", "trust.", "KL", "x faster", "note"], rows,
        f"4. t-SNE, {result['threads']} thread(s) each, "
        f"{'side by side' if result.get('side_by_side') else 'one at a time'}, "
        f"openTSNE {result['opentsne']}{note}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=240.0,
                    help="seconds for the whole comparison; 70k runs that would not fit skip")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 70000],
                    help="synthetic set sizes (default 10000 70000)")
    ap.add_argument("--one-at-a-time", action="store_true",
                    help="run the methods one after the other instead of side by side (one "
                         "core each); for a machine with a single free core")
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    result = run(args.budget, args.threads, tuple(args.sizes), not args.one_at_a_time)
    return benchlib.publish(result, render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
