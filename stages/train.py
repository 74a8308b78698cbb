"""Stage `train@<model>`: fit the AE, DAE or VAE (at each replicate seed); write weights, codes,
metrics, history."""

from __future__ import annotations

import argparse

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.tracking.stage_run import track_stage

# Logging the VAE's encoder as an MLflow model costs ~7 s the first time in a process (imports,
# MLflow's requirements scan): the tracking worker pays them while the model trains, not after.
ENCODER_EXPORT_WARM_UP = ("latentlab.tracking.model_export:warm_up",)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, choices=params.MODELS)
    ap.add_argument("--data", required=True, help="the preprocess stage's splits (.npz)")
    ap.add_argument("--out-dir", required=True, help="weights (model.pt) and codes (codes.npz)")
    ap.add_argument("--metrics", required=True, help="final metrics JSON")
    ap.add_argument("--history", required=True, help="per-epoch CSV (a DVC plot)")
    ap.add_argument("--timing", required=True,
                    help="JSON with the wall seconds of the fit: git-ignored, not a DVC output "
                         "(a wall time is not a result; MLflow gets it too, as fit_seconds)")
    ap.add_argument("--sweep-level", type=float, help="train the DAE of the corruption sweep at "
                    "this level (dae_sweep.noise_type) instead of train.dae's")
    ap.add_argument("--link", required=True, help="link file (stage, params hash, data sha256) "
                    "that traces these outputs to their MLflow run")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    if args.sweep_level is None:
        p, stage = params.load(f"train.{args.model}", args.params), f"train@{args.model}"
    else:
        p = params.load_dae_sweep_member(args.sweep_level, args.params)
        stage = f"dae_sweep@{args.sweep_level}"
    splits = io.read_npz(args.data, required=("x_train", "x_val", "x_test"))
    exports_encoder = args.model == "vae" and args.sweep_level is None
    with track_stage(stage, p, f"train.{args.model}", data=args.data,
                     params_file=args.params, link=args.link,
                     warm=ENCODER_EXPORT_WARM_UP if exports_encoder else ()) as run:
        from latentlab.train import trainer  # torch loads while the tracking worker starts
        from latentlab.train.progress import EpochProgress

        progress = EpochProgress(stage, p.epochs)

        def on_epoch(epoch: int, row: dict[str, float]) -> None:
            run.log_epoch(epoch, row)
            progress(epoch, row)

        try:
            trained = trainer.train_and_encode(p, splits, on_epoch=on_epoch)
        finally:
            progress.close()
        others = []
        if args.sweep_level is None:  # the seeds after the first (train.common.replicates)
            from latentlab.train import replicates

            others = trainer.train_replicates(p, splits, on_start=lambda seed, k, n: print(
                f"{stage}: replicate {k}/{n}, seed {seed}", flush=True))
            trained.metrics["replicates"] = replicates.replicate_record(p, trained, others)
            io.atomic_write_npz(f"{args.out_dir}/replicates.npz",
                                **replicates.replicate_arrays(p, others))
        trainer.save_model(f"{args.out_dir}/model.pt", trained)
        io.atomic_write_npz(f"{args.out_dir}/codes.npz", **trained.arrays)
        io.atomic_write_metrics(args.metrics, trained.metrics)
        io.atomic_write_csv(args.history, *trainer.history_table(trained.history))
        io.atomic_write_json(args.timing, {"fit_seconds": round(trained.fit_seconds, 3),
                                           "replicates_fit_seconds": round(
                                               sum(t.fit_seconds for t in others), 3)})
        run.log_metrics({"fit_seconds": trained.fit_seconds + sum(t.fit_seconds for t in others)})
        seeds = trained.metrics.get("replicates", {}).get("seeds", [])[1:]
        for seed, other in zip(seeds, others):  # the replicates' test numbers, by seed
            run.log_metrics({f"seed{seed}/test/{k}": v for k, v in other.metrics["test"].items()
                             if isinstance(v, (int, float)) and not isinstance(v, bool)})
        run.log_metrics({f"test/{k}": v for k, v in trained.metrics["test"].items()},
                        step=trained.metrics["best_epoch"])
        run.log_artifact(args.history)
        run.log_artifact(args.metrics)
        if exports_encoder:  # mlflow.pyfunc embeds images
            run.log_encoder(trained.model)
    if "collapse_message" in trained.metrics["val"]:
        print(f"{stage}: {trained.metrics['val']['collapse_message']}")
    test = trained.metrics["test"]
    extra = (f" + {len(others)} more seeds {sum(t.fit_seconds for t in others):.1f} s"
             if others else "")
    print(f"{stage}: best epoch {trained.metrics['best_epoch']}/{trained.metrics['epochs_run']}, "
          + ", ".join(f"test {k} {v:.4g}" for k, v in sorted(test.items()))
          + f"; fit {trained.fit_seconds:.1f} s{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
