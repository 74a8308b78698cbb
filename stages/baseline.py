"""Stage `baseline@<method>`: scikit-learn PCA or t-SNE on the grey levels of the splits."""

from __future__ import annotations

import argparse
import os

# t-SNE's OpenMP threads wait asleep, not spinning: with the other core busy, a spinning
# waiter burns the time slice the working thread needs (46.6 s against 7.1 s on digits,
# same embedding bits: benchmarks/tsne_wait_policy.py). Set before libgomp loads; a value
# the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.tracking.stage_run import track_stage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--method", required=True, choices=params.BASELINES)
    ap.add_argument("--data", required=True, help="the preprocess stage's splits (.npz)")
    ap.add_argument("--out", required=True, help="codes (.npz)")
    ap.add_argument("--metrics", required=True, help="metrics JSON")
    ap.add_argument("--timing", required=True,
                    help="JSON with the wall seconds of the fit: git-ignored, not a DVC output "
                         "(a wall time is not a result; MLflow gets it too, as fit_seconds)")
    ap.add_argument("--link", required=True, help="link file (stage, params hash, data sha256) "
                    "that traces these outputs to their MLflow run")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    p = params.load(f"baselines.{args.method}", args.params)
    splits = io.read_npz(args.data, required=("x_train", "x_val", "x_test", "y_train", "y_test"))
    stage = f"baseline@{args.method}"
    with track_stage(stage, p, f"baselines.{args.method}", data=args.data,
                     params_file=args.params, link=args.link) as run:
        from latentlab.analysis.baselines import fit_baseline

        if args.method == "tsne":  # up to a minute of silence otherwise
            print(f"{stage}: embedding {len(splits['y_train']) + len(splits['y_test'])} points "
                  f"(at most {p.max_points}; perplexity {p.perplexity:g}, {p.max_iter} "
                  f"iterations, {p.num_threads} threads)...", flush=True)
        codes, metrics, fit_seconds = fit_baseline(args.method, splits, p)  # on grey levels
        io.atomic_write_npz(args.out, **codes)
        io.atomic_write_metrics(args.metrics, metrics)
        io.atomic_write_json(args.timing, {"fit_seconds": round(fit_seconds, 3)})
        run.log_metrics({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
        run.log_metrics({"fit_seconds": fit_seconds})
        run.log_artifact(args.metrics)
    print(f"{stage}: {summary_line(metrics)} in {fit_seconds:.1f} s")
    return 0


def summary_line(metrics: dict) -> str:
    """What the fit gave, in words (not the metrics dict)."""
    if "n_components" in metrics:
        return (f"{metrics['n_components']} components explain "
                f"{metrics['explained_variance_ratio_sum']:.1%} of the training variance")
    kl = metrics["kl_divergence"]
    objective = "no KL (max_iter 250)" if kl is None else f"KL divergence {kl:.4g}"
    return (f"{metrics['n_points_embedded']} points embedded in 2-D, {objective} after "
            f"{metrics['n_iter']} iterations")


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
