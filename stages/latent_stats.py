"""Stage `latent_stats`: the comparison table of the five methods (and the raw pixels, for
reference) on the grey levels of the test split, its verdict, and the DAE sweep's scores."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.data.preprocess import read_representation_splits
from latentlab.tracking.stage_run import track_stage

CODE_KEYS = ("z_train", "z_test", "recon_test", "logvar_test", "index_train", "index_test")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="the preprocess stage's splits (.npz)")
    ap.add_argument("--codes", required=True, nargs="+", metavar="METHOD=PATH",
                    help="codes.npz of each method, e.g. vae=outputs/train/vae/codes.npz")
    ap.add_argument("--vae-metrics", required=True, help="the VAE's metrics JSON")
    ap.add_argument("--vae-log-px", required=True, help="the evaluate stage's metrics JSON")
    ap.add_argument("--metrics", required=True, help="the comparison table (JSON)")
    ap.add_argument("--verdict", required=True,
                    help="per criterion: the best method or the tied leaders (JSON)")
    ap.add_argument("--moments", required=True, help="per-dimension moments (CSV)")
    ap.add_argument("--kl-per-dim", required=True, help="the VAE's per-dimension KL (CSV)")
    ap.add_argument("--covariance", required=True,
                    help="each method's aggregate mean and covariance of its test codes (CSV)")
    ap.add_argument("--dae-sweep-dir", required=True, help="<level>/codes.npz per sweep level")
    ap.add_argument("--dae-sweep-scores", required=True, help="the sweep's scores (JSON)")
    ap.add_argument("--dae-sweep-plot", required=True, help="the sweep's scores (CSV)")
    ap.add_argument("--embeddings-dir", required=True, help="one 2-D CSV per method")
    ap.add_argument("--link", required=True, help="link file (stage, params hash, data sha256) "
                    "that traces these outputs to their MLflow run")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    p = params.load("latent_stats", args.params)
    sweep_p = params.load("dae_sweep", args.params)
    vae_p = params.load("train.vae", args.params)  # the thresholds of its collapse diagnosis
    splits = read_representation_splits(args.data)  # no binarised draw, no validation split
    code_paths = dict(pair.split("=", 1) for pair in args.codes)
    codes = {m: {k: v for k, v in io.read_npz(path, required=("z_train", "z_test"),
                                              optional=CODE_KEYS).items() if k in CODE_KEYS}
             for m, path in code_paths.items()}
    from latentlab.train.replicates import read_replicate_codes

    replicate_codes = {}
    for model in params.MODELS:  # the training-seed replicates beside each model's codes
        path = Path(code_paths[model]).parent / "replicates.npz"
        replicate_codes[model] = read_replicate_codes(io.read_npz(path, required=("seeds",)))
    sweep = {level: (stage, codes["dae"] if stage == "train@dae" else io.read_npz(
        Path(args.dae_sweep_dir) / str(level) / "codes.npz",
        required=("z_train", "z_test", "recon_test"), optional=()))
        for level, stage in sweep_p.members}
    with track_stage("latent_stats", p, "latent_stats", data=args.data,
                     params_file=args.params, link=args.link) as run:
        from latentlab.analysis import latent_stats
        from latentlab.analysis.sweep import sweep_rows, sweep_scores

        splits = latent_stats.representation_splits(splits)  # grey levels, never a binary draw
        table, verdict = latent_stats.compare_methods(
            splits, codes, io.read_json(args.vae_metrics)["test"],
            io.read_json(args.vae_log_px)["vae"], knn_neighbors=p.knn_neighbors,
            trustworthiness_neighbors=p.trustworthiness_neighbors,
            active_unit_threshold=vae_p.active_unit_threshold,
            collapse_min_active_fraction=vae_p.collapse_min_active_fraction, seed=p.seed,
            bootstrap_samples=p.bootstrap_samples, confidence=p.confidence,
            replicate_codes=replicate_codes,
            trustworthiness_max_points=p.trustworthiness_max_points)
        io.atomic_write_metrics(args.metrics, table)
        io.atomic_write_metrics(args.verdict, latent_stats.verdict_record(verdict, p, splits))
        io.atomic_write_csv(args.moments, ["method", "dim", "mean", "var"],
                            latent_stats.moment_rows(codes))
        scores = io.at_precision(  # the JSON and the CSV say the same numbers
            sweep_scores(splits, sweep, knn_neighbors=p.knn_neighbors, seed=p.seed,
                         bootstrap_samples=p.bootstrap_samples, confidence=p.confidence,
                         labelled=latent_stats.has_labels(splits)))
        io.atomic_write_metrics(args.dae_sweep_scores, scores)
        io.atomic_write_csv(args.dae_sweep_plot, *sweep_rows(scores))
        io.atomic_write_csv(args.covariance, ["method", "i", "j", "mean_i", "cov_ij"],
                            latent_stats.covariance_rows(codes))
        io.atomic_write_csv(args.kl_per_dim, ["dim", "kl_nats", "code_variance", "active"],
                            latent_stats.kl_per_dim_rows(codes["vae"], vae_p.active_unit_threshold))
        for method, arrays in codes.items():
            io.atomic_write_csv(Path(args.embeddings_dir) / f"{method}.csv",
                                ["index", "x", "y", "label"],
                                latent_stats.embedding_rows(arrays["z_test"], splits["y_test"],
                                                            p.plot_points, p.seed,
                                                            arrays.get("index_test")))
        run.log_metrics({f"{m}/{k}": v for m, row in table.items() for k, v in row.items()})
        run.log_metrics({f"dae_sweep/{key}/{k}": v for key, row in scores.items()
                         if "noise_level" in row for k, v in row.items()
                         if isinstance(v, (int, float))})
        run.log_artifact(args.metrics)
        run.log_artifact(args.verdict)
    for method, row in table.items():
        knn = f"knn {row['knn_accuracy']:.3f} " if "knn_accuracy" in row else "(no labels) "
        kl = (f" KL(fit||N(0,I)) {row['latent_kl_to_prior_nats']:.3g} nats"
              if "latent_kl_to_prior_nats" in row else " (the reference: raw pixels)")
        print(f"latent_stats: {method:6s} {knn}trust {row['trustworthiness']:.3f}{kl}")
    for criterion, v in verdict.items():
        lead = (f"best {v['top']}" if v["decided"] else
                f"tied: {', '.join(v['leaders'])}") if v["ranked"] else "nothing ranked"
        seeds = v.get("seeds", {})
        across = ("" if seeds.get("holds") is None else
                  f"; {'holds' if seeds['holds'] else 'does NOT hold'} across "
                  f"{seeds['n_seeds']} training seeds")
        print(f"latent_stats: {criterion}: {lead}{across}"
              + "".join(f"; {m} not ranked ({why})" for m, why in v["excluded"].items()))
    for score, v in scores["verdict"].items():
        lead = f"best {v['top']}" if v["decided"] else f"tied: {', '.join(v['leaders'])}"
        print(f"latent_stats: dae sweep by {score}: {lead}")
    vae = table["vae"]
    print(f"latent_stats: {vae['collapse_message']}")
    print(f"latent_stats: vae   log p(x) {vae['test_log_px_nats']:.4g} nats, ELBO "
          f"{vae['test_elbo_nats']:.4g}, active units {vae['active_units']}/{vae['latent_dim']}, "
          f"I(x;z) {vae['mutual_information_nats']:.3g} nats")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
