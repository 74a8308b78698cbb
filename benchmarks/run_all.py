"""`make bench`: every issue 7 measurement in one run; JSON plus a printed table.

Runs, each in its own process (clean imports, its own thread settings), in this order:

1. ``matmul_peak.py``          the practical float32 matmul peak
2. ``training_throughput.py``  AE / DAE / VAE training throughput against that peak
3. ``stage_profile.py``        per-stage wall, CPU, peak RSS, import share; full, no-op and
                               after-change `dvc repro` in a throwaway copy (default params)
4. ``tsne_compare.py``         scikit-learn Barnes-Hut against openTSNE FFT, time-boxed to
                               what is left of ``--budget``

then checks each goal of the issue against the numbers and writes everything to
``--out`` (benchmarks/results.json). If ``benchmarks/results_large.json`` exists (from
`make bench-large`), its 70 000-image figures are included in the goal check.

Run: ``.venv/bin/python benchmarks/run_all.py [--budget 570] [--out benchmarks/results.json]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

HERE = Path(__file__).resolve().parent
GOAL_FULL_S, GOAL_NOOP_S, GOAL_PEAK_PCT = 30.0, 1.5, 50.0
GOAL_LARGE_S, GOAL_LARGE_RSS_MB = 360.0, 3072.0
MIN_TSNE_S = 240.0  # the digits and 10k comparisons always run; the 70k ones if time is left
TRACKED_STAGES = ("train", "dae_sweep", "baseline", "evaluate", "latent_stats", "report")
TORCH_FREE_STAGES = ("download", "preprocess", "baseline", "latent_stats", "report")


def run_script(name: str, args: list[str], out: Path) -> tuple[dict | None, float]:
    started = time.perf_counter()
    print(f"\n=== {name} {' '.join(args)}", flush=True)
    code = subprocess.run([sys.executable, str(HERE / name), *args, "--out", str(out)]).returncode
    seconds = time.perf_counter() - started
    if code != 0 or not out.exists():
        print(f"{name} failed (exit {code})", file=sys.stderr)
        return None, seconds
    return json.loads(out.read_text()), seconds


def goals(results: dict) -> list[list]:
    rows = []
    stages = results.get("stages")
    if stages:
        full, noop = stages["full"]["wall_s"], stages["noop"]["wall_s"]
        rows.append(["full default pipeline from scratch <= 30 s", f"{full:.1f} s",
                     full <= GOAL_FULL_S])
        rows.append(["no-op `dvc repro` <= 1.5 s", f"{noop:.2f} s", noop <= GOAL_NOOP_S])
        bad = []
        for r in stages["full"]["stages"]:
            family = (r["stage"] or "").split("@")[0]
            heavy = r["heavy_imports"]
            if "mlflow" in heavy and family not in TRACKED_STAGES:
                bad.append(f"{r['stage']} imports mlflow")
            if "torch" in heavy and family in TORCH_FREE_STAGES:
                bad.append(f"{r['stage']} imports torch")
        rows.append(["no stage imports what it does not use (mlflow only where runs are "
                     "logged; no torch in download, preprocess, PCA/t-SNE, latent_stats, "
                     "report)", "; ".join(bad) or "none found", not bad])
    training = results.get("training")
    if training:
        for shape in ("digits", "28x28"):
            picked = [r for r in training["rows"] if r["shape"] == shape and r["batch"] == 256
                      and r["threads"] == training["pipeline_threads"] and "pct_peak" in r
                      and r["model"] in ("vae", "ae")]
            if picked:
                wall = min(r["pct_peak"] for r in picked)
                cpu = min(r["pct_peak_cpu"] for r in picked)
                rows.append([f"training >= 50% of matmul peak at batch 256 ({shape}, VAE and "
                             "AE, the lower)", f"{wall:.0f}% wall, {cpu:.0f}% per CPU-s",
                             cpu >= GOAL_PEAK_PCT])
    tsne = results.get("tsne")
    if tsne:
        faster = []
        for data in dict.fromkeys(r["data"] for r in tsne["rows"]):
            timed = [r for r in tsne["rows"] if r["data"] == data and "wall_s" in r]
            if len(timed) == 2:
                best = min(timed, key=lambda r: r["wall_s"])
                faster.append(f"{data.split()[0]} {best['n']}: {best['method'].split()[0]}")
        uses = "openTSNE" in (benchlib.REPO / "src/latentlab/analysis/baselines.py").read_text()
        rows.append(["t-SNE uses the faster implementation when installed",
                     f"faster: {', '.join(faster) or 'n/a'}; pipeline uses openTSNE: "
                     f"{'yes' if uses else 'no'}", None])
    large = results.get("large")
    if large and "full" in large:
        rss = max(r["max_rss_mb"] for r in large["full"]["stages"])
        ok = large["full"]["wall_s"] <= GOAL_LARGE_S and rss <= GOAL_LARGE_RSS_MB
        rows.append(["70 000-image pipeline <= 6 min, peak RSS <= 3 GB (make bench-large)",
                     f"{large['full']['wall_s']:.0f} s, {rss:.0f} MB", ok])
    else:
        rows.append(["70 000-image pipeline <= 6 min, peak RSS <= 3 GB",
                     "not measured here: run `make bench-large`", None])
    total = results["bench_seconds"]
    rows.append(["`make bench` under 10 minutes", f"{total:.0f} s", total < 600])
    return [[g, v, "met" if ok else ("-" if ok is None else "NOT met")] for g, v, ok in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=570.0,
                    help="seconds for everything; t-SNE gets what is left (at least 240)")
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--epochs", type=int, help="train.common.epochs for the stage profile "
                    "(quick look only: the goals are on the default params)")
    args = ap.parse_args()
    started = time.perf_counter()
    results: dict = {"machine": benchlib.machine(), "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plan = [("peak", "matmul_peak.py", []),
                ("training", "training_throughput.py", ["--seconds", "0.5"]),
                ("stages", "stage_profile.py",
                 ["--epochs", str(args.epochs)] if args.epochs else [])]
        for key, script, extra in plan:
            results[key], results["seconds"][key] = run_script(script, extra, tmp / f"{key}.json")
        left = max(MIN_TSNE_S, args.budget - (time.perf_counter() - started))
        results["tsne"], results["seconds"]["tsne"] = run_script(
            "tsne_compare.py", ["--budget", f"{left:.0f}"], tmp / "tsne.json")
    large = HERE / "results_large.json"
    if large.exists():
        results["large"] = json.loads(large.read_text())
    results["bench_seconds"] = time.perf_counter() - started
    results["machine"]["load_average_end"] = benchlib.load_average()
    results["goals"] = goals(results)
    print()
    print(benchlib.table(["goal (issue 7)", "measured", "status"], results["goals"],
                         f"Goals, {benchlib.BENCH_DATE}, {results['machine']['cpu']}, "
                         f"{results['machine']['cores']} cores, load average at start "
                         f"{results['machine']['load_average']}, at end "
                         f"{results['machine']['load_average_end']}"))
    benchlib.write_json(args.out, results)
    print(f"\nwrote {args.out}")
    return 0 if all(results.get(k) for k in ("peak", "training", "stages", "tsne")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
