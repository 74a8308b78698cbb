"""Stage `evaluate`: importance-weighted log p(x) of the VAE; decoded walks for every model."""

from __future__ import annotations

import argparse

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.tracking.stage_run import track_stage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="the preprocess stage's splits (.npz)")
    ap.add_argument("--models", required=True, nargs="+", metavar="MODEL=DIR",
                    help="each trained model's directory (model.pt, codes.npz)")
    ap.add_argument("--walks", required=True, help="decoded walks of every model (.npz)")
    ap.add_argument("--metrics", required=True, help="the VAE's log p(x) and gap (JSON)")
    ap.add_argument("--link", required=True, help="link file (stage, params hash, data sha256) "
                    "that traces these outputs to their MLflow run")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    p = params.load("evaluate", args.params)
    splits = io.read_npz(args.data, required=("x_test", "y_test"), optional=())  # not x_train
    model_dirs = dict(pair.split("=", 1) for pair in args.models)
    with track_stage("evaluate", p, "evaluate", data=args.data,
                     params_file=args.params, link=args.link) as run:
        import torch

        from latentlab.analysis import evaluate
        from latentlab.train import device, trainer

        torch.set_num_threads(p.num_threads)
        on = device.resolve(p.device, "evaluate")
        arrays, metrics = {"pair": evaluate.pick_pair(splits["y_test"])}, {}
        for name, directory in model_dirs.items():
            model, config = trainer.load_model(f"{directory}/model.pt")
            model = model.to(on)
            z_test = io.read_npz(f"{directory}/codes.npz", required=("z_test",),
                                 optional=())["z_test"]
            for key, value in evaluate.walks(model, z_test, splits["y_test"], p).items():
                arrays[f"{key}_{name}"] = value
            if config["kind"] == "vae":
                metrics[name] = evaluate.vae_log_px(model, config, splits["x_test"], p)
        io.atomic_write_npz(args.walks, **arrays)
        io.atomic_write_metrics(args.metrics, metrics)
        run.log_metrics({f"{m}/{k}": v for m, row in metrics.items() for k, v in row.items()})
        run.log_artifact(args.metrics)
    for name, row in metrics.items():
        print(f"evaluate: {name}: log p(x) ≈ {row['log_px_nats']:.4g} "
              f"± {row['log_px_se_nats']:.2g} nats (SE; K={p.iwae_samples}, "
              f"{row['n_images']} of {row['n_test']} test images), "
              f"ELBO {row['elbo_k_nats']:.4g}, gap {row['gap_nats']:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
