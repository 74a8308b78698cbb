"""Issue 20: IWAE log p(x) and trustworthiness on a seeded subsample of a large test set.

Sizes the defaults of ``evaluate.iwae_max_images`` and
``latent_stats.trustworthiness_max_points``, and measures what they save:

* ``prepare``: synthetic MNIST-sized images (``benchlib.synthetic_images``), 10 000 to
  train and 10 000 to test (grey levels in [0, 1]); a 784-512-256-8 AE and two VAEs
  (seeds 0 and 1, the replicates the pipeline trains) fit for ``--epochs`` epochs, and PCA
  with 8 components; the test codes and the VAEs' weights are saved.
* ``trust --cap C --draw S``: trustworthiness (k = 5) of every method's test codes, on all
  test points (C = 0: the exact n × n computation the stage used before) or on the seeded
  subsample of C points drawn with seed S (``latentlab.analysis.subsample``); wall seconds,
  peak RSS, each method's value and the standard error of its mean and of the paired
  differences (sd / √m of the per-point values).
* ``iwae --cap C``: the VAEs' IWAE log p(x) with K = 1 000 on all (C = 0) or C test images;
  wall seconds, peak RSS, means and standard errors.
* ``stats --cap C``: the latent_stats comparison (``compare_methods``: kNN, probe,
  trustworthiness, 1 000 bootstrap resamples, the verdict; PCA, AE, VAE with the second VAE
  as its replicate) on the 10 000 test codes, with cap C; wall seconds and peak RSS.
* ``all``: ``prepare``, then each measurement in its own process (its own peak RSS), and
  the table for benchmarks/README.md.

Run: ``python benchmarks/subsample_estimates.py all --dir /tmp/sub [--full-iwae]``
(``--full-iwae``: also the IWAE over all 10 000 images, ~7 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

HIDDEN, LATENT, K_NEIGHBOURS, IWAE_K = (512, 256), 8, 5, 1000
METHODS = ("pca", "ae", "vae", "vae_seed1")


def prepare(out: Path, n: int, epochs: int) -> dict:
    import torch
    from sklearn.decomposition import PCA

    from latentlab.models import build_model
    from latentlab.train.loop import autoencoder_objective, fit, vae_training_objective

    torch.set_num_threads(1)
    images, labels = benchlib.synthetic_images(2 * n, seed=0)
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    x_train, x_test = x[:n], x[n:]
    xt = torch.as_tensor(x_train)
    xv = torch.as_tensor(x_test[:1000])
    codes = {"pca": PCA(LATENT, random_state=0).fit(x_train).transform(x_test)}
    fits = {"ae": ("ae", 0), "vae": ("vae", 0), "vae_seed1": ("vae", 1)}
    for name, (kind, seed) in fits.items():
        torch.manual_seed(seed)
        model = build_model(kind, x.shape[1], HIDDEN, LATENT, "relu")
        objective = (vae_training_objective("bernoulli", 0.1, 1.0) if kind == "vae"
                     else autoencoder_objective("bernoulli", 0.1))
        fit(model, xt, xv, objective, epochs=epochs, batch_size=128, learning_rate=1e-3,
            patience=epochs + 1, seed=seed, monitor="-elbo" if kind == "vae" else "loss")
        with torch.no_grad():
            encoded = model.encode(torch.as_tensor(x_test))  # the VAE's: (mu, logvar)
            codes[name] = (encoded[0] if kind == "vae" else encoded).numpy()
        if kind == "vae":
            torch.save(model, out / f"{name}.pt")
    np.savez(out / "data.npz", x_test=x_test, y_test=labels[n:], **codes)
    return {"n_train": n, "n_test": n, "epochs": epochs}


def trust(out: Path, cap: int, draw: int) -> dict:
    from latentlab.analysis.metrics import trustworthiness_of_rows, trustworthiness_per_point
    from latentlab.analysis.subsample import standard_error, subsample_rows

    data = dict(np.load(out / "data.npz"))
    x = data["x_test"]
    rows = subsample_rows(len(x), cap, draw)
    started, per_point = time.perf_counter(), {}
    for m in METHODS:
        per_point[m] = (trustworthiness_per_point(x, data[m], K_NEIGHBOURS) if not cap
                        else trustworthiness_of_rows(x, data[m], K_NEIGHBOURS, rows))
    wall = time.perf_counter() - started
    return {"cap": cap, "draw": draw, "n_points": int(len(rows)), "wall_s": wall,
            "wall_per_method_s": wall / len(METHODS), "peak_rss_mb": benchlib.peak_rss_mb(),
            "value": {m: float(v.mean()) for m, v in per_point.items()},
            "se": {m: standard_error(v) for m, v in per_point.items()},
            "paired_se": {f"{a}-{b}": standard_error(per_point[a] - per_point[b])
                          for i, a in enumerate(METHODS) for b in METHODS[i + 1:]}}


def iwae(out: Path, cap: int) -> dict:
    import torch

    from latentlab.analysis.evaluate import model_log_likelihood
    from latentlab.analysis.iwae import iwae_bound
    from latentlab.analysis.subsample import standard_error, subsample_rows

    torch.set_num_threads(1)
    x = np.load(out / "data.npz")["x_test"]
    rows = subsample_rows(len(x), cap, 0)
    res = {"cap": cap, "n_images": int(len(rows)), "k": IWAE_K}
    started = time.perf_counter()
    for name in ("vae", "vae_seed1"):
        model = torch.load(out / f"{name}.pt", weights_only=False)
        log_px, elbo = iwae_bound(model.encode, model_log_likelihood(model, "bernoulli", 0.1),
                                  torch.as_tensor(x[rows]), IWAE_K, seed=0, max_batch_mb=256)
        lp, gap = log_px.double().numpy(), (log_px - elbo).double().numpy()
        res[name] = {"log_px": float(lp.mean()), "log_px_se": standard_error(lp),
                     "log_px_sd": float(lp.std(ddof=1)), "gap": float(gap.mean()),
                     "gap_se": standard_error(gap), "per_image": lp.tolist()}
    diff = np.array(res["vae"]["per_image"]) - np.array(res["vae_seed1"]["per_image"])
    res["seed_difference"] = {"mean": float(diff.mean()), "paired_se": standard_error(diff)}
    for name in ("vae", "vae_seed1"):
        res[name].pop("per_image")
    res["wall_s"], res["peak_rss_mb"] = time.perf_counter() - started, benchlib.peak_rss_mb()
    res["wall_per_model_s"] = res["wall_s"] / 2
    return res


def stats(out: Path, cap: int) -> dict:
    """The latent_stats comparison (kNN, probe, trustworthiness, bootstrap 1 000, verdict,
    the second VAE as the VAE's replicate) as the stage runs it, with the cap."""
    from latentlab.analysis.latent_stats import compare_methods

    data = dict(np.load(out / "data.npz"))
    rng = np.random.default_rng(0)
    n = len(data["x_test"])
    train_rows = rng.choice(n, 2000, replace=False)  # a training side for kNN and the probe
    splits = {"x_test": data["x_test"], "y_test": data["y_test"],
              "x_train": data["x_test"][train_rows], "y_train": data["y_test"][train_rows]}
    # the VAE's codes under another name: its own columns need the training stage's metrics
    codes = {m: {"z_train": data[s][train_rows], "z_test": data[s]}
             for m, s in (("pca", "pca"), ("ae", "ae"), ("vae_codes", "vae"))}
    replicate = {"vae_codes": [{"z_train": data["vae_seed1"][train_rows],
                                "z_test": data["vae_seed1"]}]}
    started = time.perf_counter()
    table, verdict = compare_methods(splits, codes, {}, {}, knn_neighbors=5,
                                     trustworthiness_neighbors=K_NEIGHBOURS,
                                     active_unit_threshold=0.01, collapse_min_active_fraction=0.5,
                                     seed=0, replicate_codes=replicate,
                                     trustworthiness_max_points=cap)
    return {"cap": cap, "wall_s": time.perf_counter() - started,
            "peak_rss_mb": benchlib.peak_rss_mb(),
            "trustworthiness": {m: [table[m]["trustworthiness"], table[m]["trustworthiness_se"],
                                    table[m]["trustworthiness_ci_low"],
                                    table[m]["trustworthiness_ci_high"]] for m in codes},
            "verdict": {k: v["leaders"] for k, v in verdict.items()}}


def child(out: Path, *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args, "--dir", str(out)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_all(out: Path, full_iwae: bool, caps: list[int], iwae_caps: list[int]) -> dict:
    result = {"machine": benchlib.machine(), "load_before": benchlib.load_average()}
    result["prepare"] = child(out, "prepare")
    result["trust"] = [child(out, "trust", "--cap", "0")]
    for cap in caps:
        result["trust"] += [child(out, "trust", "--cap", str(cap), "--draw", str(d))
                            for d in range(5)]
    result["stats"] = [child(out, "stats", "--cap", str(c)) for c in (0, 2000)]
    result["iwae"] = [child(out, "iwae", "--cap", str(c)) for c in iwae_caps]
    if full_iwae:
        result["iwae"].append(child(out, "iwae", "--cap", "0"))
    result["load_after"] = benchlib.load_average()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("prepare", "trust", "iwae", "stats", "all"))
    ap.add_argument("--dir", type=Path, required=True, help="working folder (codes, models)")
    ap.add_argument("--cap", type=int, default=0)
    ap.add_argument("--draw", type=int, default=0, help="the subsample's seed")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--caps", default="1000,2000,4000", help="trustworthiness caps (all mode)")
    ap.add_argument("--iwae-caps", default="500,1000,2000", help="IWAE caps (all mode)")
    ap.add_argument("--full-iwae", action="store_true")
    ap.add_argument("--out", type=Path, help="all mode: write the JSON here")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.mode == "prepare":
        res = prepare(args.dir, args.n, args.epochs)
    elif args.mode == "trust":
        res = trust(args.dir, args.cap, args.draw)
    elif args.mode == "stats":
        res = stats(args.dir, args.cap)
    elif args.mode == "iwae":
        res = iwae(args.dir, args.cap)
    else:
        res = run_all(args.dir, args.full_iwae, [int(c) for c in args.caps.split(",")],
                      [int(c) for c in args.iwae_caps.split(",")])
        if args.out:
            benchlib.write_json(args.out, res)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
