"""Issue 20: the early-stopping tolerance, chosen by what it moves and what it saves.

``train.common.min_rel_improvement`` lets training stop once the validation loss has not
improved by more than that fraction of itself for ``patience`` epochs
(:func:`latentlab.train.loop.patience_counts`). A tolerance saves epochs, but a model
stopped sooner is a different model: the tolerance is acceptable only where it moves no
number the report compares beyond its noise.

For each candidate tolerance this trains AE, DAE and VAE at every training seed of
``params.yaml`` (``train.common.replicates``), on the pipeline's own splits
(``data/processed/splits.npz``, from ``dvc repro``), with every other setting as in
``params.yaml``, and scores each model on the test images as latent_stats does (grey
levels): kNN and linear-probe accuracy, trustworthiness, reconstruction MSE, and the VAE's
test ELBO. Against the same model and seed trained with tolerance 0 it reports

* the shift of each number, in units of half its 95% bootstrap interval (the noise
  threshold "What changed" uses, :mod:`latentlab.report.changes`); > 1 moves the number
  beyond its noise;
* whether the paired 95% interval of the difference (same resampled test images)
  excludes 0;
* the same shift against the spread across training seeds (max - min at tolerance 0);
* epochs run and fit seconds, summed over the models and seeds, and their ratio to
  tolerance 0 measured in the same run.

Because the tolerance only decides when to stop, a run with a tolerance is the run without
one cut short (same weights up to its stop; tests/unit/test_training.py checks it).

Run: ``python benchmarks/early_stopping.py [--tolerances 0 1e-4 3e-4 1e-3 3e-3]
[--out benchmarks/results_early_stopping.json]`` (~6 minutes on 2 cores for digits).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

MODELS = ("ae", "dae", "vae")


def per_item_scores(trained, splits: dict, stats_params) -> dict[str, np.ndarray]:
    """Each compared number of one trained model as per-test-image scores (their mean is it):
    the per-image statistics latent_stats ranks (:func:`method_statistics`), and the VAE's
    test ELBO."""
    import torch

    from latentlab.analysis.intervals import MeanOf
    from latentlab.analysis.latent_stats import method_statistics, representation_splits
    from latentlab.train.loop import vae_training_objective

    stats = method_statistics(representation_splits(splits), trained.arrays,
                              knn_neighbors=stats_params.knn_neighbors,
                              trustworthiness_neighbors=stats_params.trustworthiness_neighbors,
                              seed=stats_params.seed)
    out = {key: stat.per_item for key, stat in stats.items() if isinstance(stat, MeanOf)}
    if trained.config["kind"] == "vae":
        x = torch.as_tensor(np.asarray(splits["x_test"], dtype=np.float32))
        objective = vae_training_objective(trained.config["likelihood"],
                                           trained.config["gaussian_std"], 1.0)
        torch.manual_seed(0)  # the same posterior samples for every tolerance: a paired score
        with torch.no_grad():
            _, terms = objective(trained.model.eval(), x, x)
        out["test_elbo"] = terms["elbo"].double().numpy()
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def shift_record(base: np.ndarray, other: np.ndarray, rows: np.ndarray, confidence: float,
                 seed_spread: float) -> dict:
    """How far ``other``'s mean moved from ``base``'s, against the noise of the comparison."""
    from latentlab.analysis.intervals import percentile_interval

    base_low, base_high = percentile_interval(base[rows].mean(axis=1), confidence)
    diff_low, diff_high = percentile_interval((other - base)[rows].mean(axis=1), confidence)
    shift = float(other.mean() - base.mean())
    half = (base_high - base_low) / 2.0
    return {"shift": shift, "half_interval": half,
            "shift_in_half_intervals": abs(shift) / half if half > 0 else float(abs(shift) > 0),
            "paired_excludes_zero": bool(diff_low > 0 or diff_high < 0),
            "shift_in_seed_spreads": abs(shift) / seed_spread if seed_spread > 0 else None}


def measure(tolerances: list[float], splits_path: Path, params_path: Path) -> dict:
    import torch

    from latentlab import io, params
    from latentlab.analysis.intervals import resamples
    from latentlab.train import trainer
    from latentlab.train.replicates import replicate_seeds

    splits = io.read_npz(splits_path, required=("x_train", "x_val", "x_test"))
    stats_params = params.load("latent_stats", params_path)
    rows = resamples(len(splits["x_test"]), stats_params.bootstrap_samples, stats_params.seed)
    torch.set_num_threads(1)

    scores, runs = {}, []
    for model in MODELS:
        p = params.load(f"train.{model}", params_path)
        for seed in replicate_seeds(p.seed, p.replicates):
            for tol in tolerances:
                q = dataclasses.replace(p, seed=seed, replicates=1, min_rel_improvement=tol)
                started = time.perf_counter()
                trained = trainer.train_and_encode(q, splits)
                wall = time.perf_counter() - started
                scores[model, seed, tol] = per_item_scores(trained, splits, stats_params)
                runs.append({"model": model, "seed": seed, "tolerance": tol,
                             "epochs_run": trained.metrics["epochs_run"],
                             "best_epoch": trained.metrics["best_epoch"],
                             "stopped_early": trained.metrics["stopped_early"],
                             "fit_seconds": trained.fit_seconds, "wall_seconds": wall})
                print(f"{model} seed {seed} tolerance {tol:g}: "
                      f"{trained.metrics['epochs_run']} epochs, {trained.fit_seconds:.1f} s",
                      flush=True)

    shifts = []
    for model in MODELS:
        seeds = sorted({s for m, s, _ in scores if m == model})
        for key in scores[model, seeds[0], tolerances[0]]:
            means = [scores[model, s, tolerances[0]][key].mean() for s in seeds]
            spread = float(max(means) - min(means))
            for seed in seeds:
                base = scores[model, seed, tolerances[0]][key]
                for tol in tolerances[1:]:
                    shifts.append({"model": model, "seed": seed, "tolerance": tol,
                                   "criterion": key,
                                   **shift_record(base, scores[model, seed, tol][key], rows,
                                                  stats_params.confidence, spread)})
    return {"tolerances": tolerances, "runs": runs, "shifts": shifts,
            "confidence": stats_params.confidence,
            "bootstrap_samples": stats_params.bootstrap_samples,
            "test_images": int(len(splits["x_test"])), "summary": summarise(tolerances, runs,
                                                                            shifts)}


def summarise(tolerances: list[float], runs: list[dict], shifts: list[dict]) -> list[dict]:
    """One row per tolerance: epochs and seconds against tolerance 0, and the worst shift."""
    base_epochs = sum(r["epochs_run"] for r in runs if r["tolerance"] == tolerances[0])
    base_seconds = sum(r["fit_seconds"] for r in runs if r["tolerance"] == tolerances[0])
    out = []
    for tol in tolerances:
        mine = [r for r in runs if r["tolerance"] == tol]
        moved = [s for s in shifts if s["tolerance"] == tol]
        worst = max(moved, key=lambda s: s["shift_in_half_intervals"], default=None)
        epochs = sum(r["epochs_run"] for r in mine)
        seconds = sum(r["fit_seconds"] for r in mine)
        out.append({
            "tolerance": tol, "epochs_run": epochs, "epochs_ratio": epochs / base_epochs,
            "fit_seconds": seconds, "seconds_ratio": seconds / base_seconds,
            "worst_shift_in_half_intervals": worst["shift_in_half_intervals"] if worst else 0.0,
            "worst": (f"{worst['model']} seed {worst['seed']} {worst['criterion']}"
                      if worst else "-"),
            "beyond_noise": sum(s["shift_in_half_intervals"] > 1 for s in moved),
            "paired_excludes_zero": sum(s["paired_excludes_zero"] for s in moved),
            "numbers": len(moved),
        })
    return out


def render(result: dict) -> str:
    headers = ["tolerance", "epochs", "x tol 0", "fit s", "x tol 0", "worst shift / half CI",
               "worst", "beyond noise", "paired CI excl. 0"]
    rows = [[s["tolerance"], s["epochs_run"], round(s["epochs_ratio"], 3),
             round(s["fit_seconds"], 1), round(s["seconds_ratio"], 3),
             round(s["worst_shift_in_half_intervals"], 3), s["worst"],
             f"{s['beyond_noise']}/{s['numbers']}",
             f"{s['paired_excludes_zero']}/{s['numbers']}"] for s in result["summary"]]
    return benchlib.table(headers, rows, title=(
        f"Early-stopping tolerance: AE, DAE, VAE at every training seed, "
        f"{result['test_images']} test images, shifts against tolerance 0 "
        f"({result['confidence']:.0%} intervals, {result['bootstrap_samples']} resamples)"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tolerances", type=float, nargs="+", default=[0.0, 1e-4, 3e-4, 1e-3, 3e-3])
    ap.add_argument("--splits", type=Path, default=benchlib.REPO / "data/processed/splits.npz")
    ap.add_argument("--params", type=Path, default=benchlib.REPO / "params.yaml")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tolerances = sorted(set(args.tolerances))
    if tolerances[0] != 0.0:
        tolerances.insert(0, 0.0)  # every shift is measured against no tolerance
    return benchlib.publish(measure(tolerances, args.splits, args.params), render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
