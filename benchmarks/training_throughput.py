"""Item 2 of issue 7: AE / DAE / VAE training throughput against the matmul peak.

Trains the project's own models (``latentlab.models.build_model``) with the project's
own loop (``latentlab.train.loop.fit``: index-sliced batches of one in-memory tensor,
Adam, per-epoch validation and early-stopping bookkeeping) and objectives, for a
fixed number of epochs, at the pipeline's thread count (``train.common.num_threads``)
and at every core, for two shapes:

* ``digits``: the default data (64 inputs, hidden 128-64, latent 8; 1257 training rows,
  as the default 70/15/15 split gives);
* ``28x28``: the MNIST-sized models (784 inputs, hidden 512-256, latent 8) on 3000
  synthetic digit-like images, with dynamic binarisation as ``data.name: custom`` trains
  them (throughput per sample does not depend on the number of rows).

Reported per configuration:

* ``samples/s``: training examples per wall second of ``fit`` (validation included);
* ``GFLOP/s``: samples/s x 3 x sum(2 * in * out) over the Linear layers (forward,
  and ~2x that for the backward pass);
* ``% peak``: that over the large-matmul peak measured in the same run at the same
  thread count (``matmul_peak.measure_peak``), both per wall second;
* ``% peak CPU``: the same ratio per CPU-second (FLOPs / process CPU time x threads, for
  the training and for the peak): other jobs' share of the cores taken out, which the
  wall-clock ratio cannot do when the load changes between the two measurements;
* ``step``: the bare inner step (slice, corrupt, forward, backward, Adam) without the
  per-epoch work, best of 5 windows: what the epoch loop adds is the difference;
* ``2b``: the bare step with fit's Adam (``latentlab.train.optim.Adam`` on the CPU) against
  ``torch.optim.Adam``'s three implementations (for-loop, ``foreach=True``,
  ``fused=True``), timed in interleaved windows.

Run: ``.venv/bin/python benchmarks/training_throughput.py [--seconds 1.0] [--out X.json]``
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
import matmul_peak  # noqa: E402

SHAPES = {"digits": (128, 64), "28x28": (512, 256)}
LATENT_DIM = 8
DEFAULT_BATCH = 128  # train.common.batch_size
BATCHES = (128, 256, 1024)


def data(shape: str, seed: int = 0):
    """(x_train, x_val, dynamic) float32 tensors in [0, 1] for ``shape``."""
    import numpy as np
    import torch

    if shape == "digits":
        from sklearn.datasets import load_digits

        x = load_digits().data.astype(np.float32) / 16.0
        order = np.random.default_rng(seed).permutation(len(x))
        n_train, n_val = 1257, 270  # the default split's sizes
        x = torch.from_numpy(x[order])
        return x[:n_train].contiguous(), x[n_train:n_train + n_val].contiguous(), False
    images, _ = benchlib.synthetic_images(3500, seed)
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    x_val = torch.bernoulli(x[3000:], generator=torch.Generator().manual_seed(seed))
    return x[:3000].contiguous(), x_val, True


def make(kind: str, shape: str, input_dim: int):
    from latentlab.data.noise import make_corruption
    from latentlab.models import build_model
    from latentlab.train.loop import autoencoder_objective, vae_training_objective

    model = build_model(kind, input_dim, SHAPES[shape], LATENT_DIM, "relu")
    if kind == "vae":
        return model, vae_training_objective("bernoulli", 0.1, 1.0), "-elbo", None
    corrupt = make_corruption("masking", 0.25) if kind == "dae" else None
    return model, autoencoder_objective("bernoulli", 0.1), "loss", corrupt


def bare_steps(model, objective, corrupt, x_train, batch: int, seconds: float,
               optimizer=None) -> "Stepper":
    """A :class:`Stepper` of fit's inner step timed for ``seconds`` in 5 windows."""
    stepper = Stepper(model, objective, corrupt, x_train, batch, optimizer)
    for _ in range(WINDOWS):
        stepper.window(seconds / WINDOWS)
    return stepper


WINDOWS = 5


class Stepper:
    """Fit's inner step alone (slice, corrupt, forward, backward, Adam), timed in windows.

    The best window counts: on a machine whose cores other jobs share, the least
    disturbed window is the closest to what the code itself costs.
    """

    def __init__(self, model, objective, corrupt, x_train, batch: int, optimizer=None):
        import torch

        self.model, self.objective, self.corrupt = model, objective, corrupt
        self.x_train, self.batch = x_train, batch
        if optimizer is None:  # what training.fit uses on this device
            from latentlab.train import device as devices

            optimizer = devices.adam(model.parameters(), 1e-3, torch.device("cpu"))
        self.optimizer = optimizer
        self.generator = torch.Generator().manual_seed(0)
        self.order = torch.randperm(len(x_train), generator=self.generator)
        self.starts = range(0, len(x_train), batch)
        self.steps = 0
        self.best_wall = self.best_cpu = float("inf")  # seconds per sample
        model.train()
        self._step(0)  # warm-up

    def _step(self, start: int) -> int:
        x = self.x_train[self.order[start:start + self.batch]]
        x_in = self.corrupt(x, self.generator) if self.corrupt is not None else x
        loss, _ = self.objective(self.model, x_in, x)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return len(x)

    def window(self, seconds: float) -> None:
        samples = steps = 0
        with benchlib.Clock() as clock:
            while steps < 2 or time.perf_counter() - clock.started < seconds:
                samples += self._step(self.starts[self.steps % len(self.starts)])
                self.steps += 1
                steps += 1
        self.best_wall = min(self.best_wall, clock.wall / samples)
        self.best_cpu = min(self.best_cpu, max(clock.cpu, 1e-9) / samples)

    def result(self) -> dict:
        return {"step_samples_per_s": 1 / self.best_wall,
                "step_samples_per_cpu_s": 1 / self.best_cpu,
                "step_us": self.best_wall * min(self.batch, len(self.x_train)) * 1e6,
                "steps": self.steps}


def time_fit(kind, shape, batch, tensors, seconds: float, full: bool = True) -> dict:
    """Samples per second of ``fit`` for enough epochs to fill ``seconds`` (``full``), and of
    the bare inner step (always)."""
    import torch

    from latentlab.data.binarize import DynamicBinarizer
    from latentlab.train.loop import fit

    x_train, x_val, dynamic = tensors
    torch.manual_seed(0)
    model, objective, monitor, corrupt = make(kind, shape, x_train.shape[1])
    result: dict = {}
    if full:
        train_inputs = DynamicBinarizer(x_train, 3) if dynamic else None

        def run_fit(epochs: int) -> benchlib.Clock:
            with benchlib.Clock() as clock:
                fit(model, x_train, x_val, objective, epochs=epochs, batch_size=batch,
                    learning_rate=1e-3, patience=epochs + 1, seed=0, monitor=monitor,
                    corrupt=corrupt, train_inputs=train_inputs)
            return clock

        warm = run_fit(1)  # also the first-call costs: allocator, kernels
        epochs = max(2, min(200, math.ceil(seconds / max(warm.wall, 1e-3))))
        clock = run_fit(epochs)
        samples = epochs * len(x_train)
        result = {"epochs": epochs, "samples": samples, "wall_s": clock.wall,
                  "cpu_s": clock.cpu, "samples_per_s": samples / clock.wall,
                  "samples_per_cpu_s": samples / clock.cpu}
    result.update(bare_steps(model, objective, corrupt, x_train, batch, seconds / 2).result())
    return result


def optimizer_variants(tensors, seconds: float) -> list[dict]:
    """The bare step at batch 256 with fit's Adam and with torch's three implementations.

    ``training.fit`` uses :class:`latentlab.train.optim.Adam` on the CPU: bitwise the update
    of torch's per-tensor for-loop implementation (the one ``torch.optim.Adam(params,
    lr)`` picks on the CPU), in a few ``torch._foreach_*`` calls and without the
    optimizer's dynamo wrapper. ``foreach=True`` and ``fused=True`` give the same
    update (fused: within float rounding). All four are timed in interleaved windows so
    that other jobs' load falls on all alike.
    """
    import torch

    from latentlab.train.optim import Adam

    variants = {
        "latentlab (fit's)": lambda params: Adam(params, lr=1e-3),
        "torch for-loop": lambda params: torch.optim.Adam(params, lr=1e-3, foreach=False),
        "torch foreach": lambda params: torch.optim.Adam(params, lr=1e-3, foreach=True),
        "torch fused": lambda params: torch.optim.Adam(params, lr=1e-3, fused=True),
    }
    rows = []
    for shape in SHAPES:
        x_train = tensors[shape][0]
        for kind in ("vae", "ae"):
            steppers = {}
            for name, build in variants.items():
                torch.manual_seed(0)
                model, objective, _, corrupt = make(kind, shape, x_train.shape[1])
                steppers[name] = Stepper(model, objective, corrupt, x_train, 256,
                                         build(model.parameters()))
            for _ in range(WINDOWS):
                for stepper in steppers.values():
                    stepper.window(seconds / WINDOWS / len(variants))
            rows += [{"shape": shape, "model": kind, "adam": name, **stepper.result()}
                     for name, stepper in steppers.items()]
    return rows


def run(seconds: float, quick: bool = False) -> dict:
    import torch

    pipeline = benchlib.pipeline_threads()
    threads_list = sorted({pipeline, os.cpu_count() or 1})
    results = {"pipeline_threads": pipeline, "peak": {}, "rows": []}
    tensors = {shape: data(shape) for shape in SHAPES}
    for threads in threads_list:
        torch.set_num_threads(threads)
        peak = matmul_peak.measure_peak(threads, n=2048, repeats=5)
        results["peak"][str(threads)] = peak
        for shape in SHAPES:
            input_dim = tensors[shape][0].shape[1]
            for kind in ("vae", "ae", "dae"):
                for batch in BATCHES:
                    # every core: the bare step of VAE and AE at batch 256 only (with other
                    # jobs on the cores, 2 threads can be 100x slower: a whole fit would not
                    # fit the time budget)
                    if threads != pipeline and (kind == "dae" or batch != 256):
                        continue
                    if quick and (kind == "dae" or batch == 1024):
                        continue
                    flops = 3 * benchlib.linear_flops(  # per sample, forward + backward
                        benchlib.model_linear_shapes(make(kind, shape, input_dim)[0]))
                    r = time_fit(kind, shape, batch, tensors[shape], seconds,
                                 full=threads == pipeline)
                    r.update({"model": kind, "shape": shape, "batch": batch, "threads": threads,
                              "flops_per_sample": flops,
                              "step_gflops": r["step_samples_per_s"] * flops / 1e9})
                    # per CPU-second x threads against the peak's: other jobs' share taken out
                    cpu_peak = peak["gflops_cpu"]
                    r["step_pct_peak"] = 100 * r["step_gflops"] / peak["gflops_best"]
                    r["step_pct_peak_cpu"] = (100 * r["step_samples_per_cpu_s"] * threads
                                              * flops / 1e9 / cpu_peak)
                    if "samples_per_s" in r:
                        r["gflops"] = r["samples_per_s"] * flops / 1e9
                        r["pct_peak"] = 100 * r["gflops"] / peak["gflops_best"]
                        r["pct_peak_cpu"] = (100 * r["samples_per_cpu_s"] * threads * flops
                                             / 1e9 / cpu_peak)
                    results["rows"].append(r)
                    print(f"  {shape:6s} {kind:3s} batch {batch:4d} threads {threads}: "
                          f"{r.get('samples_per_s', r['step_samples_per_s']):9.0f} samples/s",
                          file=sys.stderr, flush=True)
    torch.set_num_threads(pipeline)
    results["adam_variants_batch256"] = optimizer_variants(tensors, seconds / 2)
    for r in results["adam_variants_batch256"]:
        flops = next(x["flops_per_sample"] for x in results["rows"]
                     if x["shape"] == r["shape"] and x["model"] == r["model"])
        r["step_pct_peak_cpu"] = (100 * r["step_samples_per_cpu_s"] * flops / 1e9
                                  / results["peak"][str(pipeline)]["gflops_cpu"])
    return results


def render(result: dict) -> str:
    rows = [[r["shape"], r["model"], r["batch"], r["threads"], r.get("samples_per_s"),
             r.get("gflops"), r.get("pct_peak"), r.get("pct_peak_cpu"), r["step_samples_per_s"],
             r["step_pct_peak_cpu"]] for r in result["rows"]]
    peaks = ", ".join(f"{t} thread(s) {p['gflops_best']:.1f} GFLOP/s wall, "
                      f"{p['gflops_cpu']:.1f} per CPU-s" for t, p in result["peak"].items())
    main_table = benchlib.table(
        ["data", "model", "batch", "thr", "fit samples/s", "GFLOP/s", "% peak",
         "% peak CPU", "step samples/s", "step % peak CPU"], rows,
        f"2. training throughput (latentlab.train.loop.fit); same-run matmul peak: {peaks}")
    adam = benchlib.table(
        ["data", "model", "Adam", "step us", "step samples/s", "step % peak CPU"],
        [[r["shape"], r["model"], r["adam"], r["step_us"], r["step_samples_per_s"],
          r["step_pct_peak_cpu"]] for r in result["adam_variants_batch256"]],
        f"2b. bare step at batch 256, {result['pipeline_threads']} thread(s), by Adam "
        "implementation (what-if)")
    return main_table + "\n\n" + adam


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="timed fit per configuration")
    ap.add_argument("--quick", action="store_true", help="VAE and AE at batch 128/256 only")
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    result = run(args.seconds, args.quick)
    return benchlib.publish(result, render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
