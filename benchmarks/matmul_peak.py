"""Item 1 of issue 7: the practical float32 peak of this machine, as torch reaches it.

A large square float32 matmul (``torch.mm``, n x n, 2 n^3 FLOPs) at the pipeline's
thread count (``train.common.num_threads`` in params.yaml) and at every core, best of
several repeats: the most any training step could reach. Also the same measure for
the matmul shapes of one training step of the models (batch 256 through each Linear
layer of the digits and the 28x28 MLPs), which shows how far small matrices fall short
of the peak before any Python overhead.

Prints a table; ``--out`` writes JSON. Run:
``.venv/bin/python benchmarks/matmul_peak.py [--n 2048] [--out benchmarks/out/matmul.json]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

# (batch, in, out) of the forward matmuls of one step at batch 256 (encoder, then decoder).
MODEL_SHAPES = {
    "digits 64-128-64-8": [(256, 64, 128), (256, 128, 64), (256, 64, 16),
                           (256, 8, 64), (256, 64, 128), (256, 128, 64)],
    "28x28 784-512-256-8": [(256, 784, 512), (256, 512, 256), (256, 256, 16),
                            (256, 8, 256), (256, 256, 512), (256, 512, 784)],
}


def measure_peak(threads: int, n: int = 2048, repeats: int = 5) -> dict:
    """Best and median GFLOP/s of an n x n float32 ``torch.mm`` with ``threads`` threads.

    ``gflops_cpu`` divides by the process CPU time instead of the wall time: with one
    thread it estimates the uncontended speed when other jobs share the cores.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=gen)
        b = torch.randn(n, n, generator=gen)
        out = torch.empty(n, n)
        torch.mm(a, b, out=out)  # warm-up: page in, pick the kernel
        flops = 2.0 * n ** 3
        walls, cpus = [], []
        for _ in range(repeats):
            with benchlib.Clock() as c:
                torch.mm(a, b, out=out)
            walls.append(c.wall)
            cpus.append(c.cpu)
    finally:
        torch.set_num_threads(previous)
    walls.sort()
    return {"threads": threads, "n": n, "repeats": repeats,
            "gflops_best": flops / walls[0] / 1e9,
            "gflops_median": flops / walls[len(walls) // 2] / 1e9,
            "gflops_cpu": flops / max(min(cpus), 1e-9) / 1e9 * threads}


def measure_shapes(threads: int, min_seconds: float = 0.3) -> dict:
    """GFLOP/s of ``torch.addmm`` (a Linear layer's forward) at each model shape."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    results = {}
    try:
        for name, shapes in MODEL_SHAPES.items():
            tensors = [(torch.randn(m, k), torch.randn(n, k), torch.randn(n))
                       for m, k, n in shapes]
            flops_per_pass = sum(2.0 * m * k * n for m, k, n in shapes)
            for x, w, bias in tensors:  # warm-up
                torch.addmm(bias, x, w.t())
            passes, wall = 0, 0.0
            while wall < min_seconds:
                with benchlib.Clock() as c:
                    for _ in range(20):
                        for x, w, bias in tensors:
                            torch.addmm(bias, x, w.t())
                passes += 20
                wall += c.wall
            results[name] = {"gflops": flops_per_pass * passes / wall / 1e9,
                             "us_per_layer": wall / passes / len(shapes) * 1e6}
    finally:
        torch.set_num_threads(previous)
    return results


def run(n: int, repeats: int) -> dict:
    threads = sorted({benchlib.pipeline_threads(), os.cpu_count() or 1})
    return {"pipeline_threads": benchlib.pipeline_threads(),
            "peak": {str(t): measure_peak(t, n, repeats) for t in threads},
            "model_shapes_batch256": {str(t): measure_shapes(t) for t in threads}}


def render(result: dict) -> str:
    rows = []
    for t, peak in result["peak"].items():
        rows.append([f"{peak['n']}x{peak['n']} matmul", int(t), peak["gflops_best"],
                     peak["gflops_median"], peak["gflops_cpu"]])
        for name, shape in result["model_shapes_batch256"][t].items():
            rows.append([f"{name} layers, batch 256", int(t), shape["gflops"], None, None])
    return benchlib.table(["float32 matmul", "threads", "GFLOP/s best", "median",
                           "per CPU-s"], rows, "1. practical matmul peak (torch)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2048, help="matrix side (default 2048)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    result = run(args.n, args.repeats)
    return benchlib.publish(result, render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
