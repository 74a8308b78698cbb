"""Helpers shared by the benchmark scripts: timers, machine facts, synthetic data, tables.

Not a test helper and not part of the package: the scripts in ``benchmarks/`` run as
``python benchmarks/<name>.py`` and import this module from their own folder.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
BENCH_DATE = datetime.date.today().isoformat()  # benchmark JSON only, never a DVC output


def pipeline_threads(params_file: Path = REPO / "params.yaml") -> int:
    """``train.common.num_threads``: the torch thread count every training stage sets."""
    raw = yaml.safe_load(params_file.read_text())
    return int(raw["train"]["common"].get("num_threads", 1))


@dataclass
class Clock:
    """Wall and process-CPU seconds of a block (``with Clock() as c: ...; c.wall, c.cpu``).

    The CPU time counts every thread of this process; on a machine shared with other
    jobs ``cpu / wall`` below the thread count says how much of the time was stolen.
    """

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> "Clock":
        self.started, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.started
        self.cpu = time.process_time() - self._cpu


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other jobs on this machine show up here)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict:
    """CPU model, core count, Python and library versions, current load."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = " ".join(f for f in ("avx512f", "avx2", "fma") if f" {f} " in text)
    except OSError:
        pass
    return {"cpu": model, "cpu_flags": flags, "cores": os.cpu_count(),
            "python": platform.python_version(), "load_average": load_average(),
            "date": BENCH_DATE}


def peak_rss_mb() -> float:
    """This process's peak resident set, MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float) + "\n")


def publish(result: dict, render, out: Path | None) -> int:
    """A benchmark's ending: record the machine, print ``render(result)``, write JSON to ``out``."""
    result["machine"] = machine()
    print(render(result))
    if out:
        write_json(out, result)
    return 0


def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    """A plain fixed-width table (numbers right-aligned), for the terminal and the README."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for row, raw in zip(cells, rows):
        lines.append("  ".join(c.rjust(w) if isinstance(v, (int, float)) else c.ljust(w)
                               for c, w, v in zip(row, widths, raw)))
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.2f}"
    return str(value)


def linear_flops(sizes: list[tuple[int, int]]) -> int:
    """FLOPs of one sample's forward pass through Linear layers: 2 * in * out each."""
    return sum(2 * n_in * n_out for n_in, n_out in sizes)


def model_linear_shapes(model) -> list[tuple[int, int]]:
    """(in_features, out_features) of every ``torch.nn.Linear`` in ``model``."""
    import torch

    return [(m.in_features, m.out_features) for m in model.modules()
            if isinstance(m, torch.nn.Linear)]


def synthetic_images(n: int, seed: int = 0, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST-shaped uint8 images (n, side, side) with labels 0..9, made from the digits.

    Each image is one of scikit-learn's 1797 bundled 8x8 digits, enlarged (bilinear) to
    20x20, placed at a random offset on a ``side`` x ``side`` canvas, scaled by a random
    contrast in [0.6, 1] and given a little noise: class structure like MNIST's, so
    t-SNE, trustworthiness and the models behave as on real images, at any ``n``,
    offline. Deterministic in ``seed``.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    base = zoom(digits.images.astype(np.float32) / 16.0, (1, 2.5, 2.5), order=1)  # (1797, 20, 20)
    base = np.clip(base, 0.0, 1.0)
    inner = base.shape[1]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), n)
    labels = digits.target[pick].astype(np.int64)
    offsets = rng.integers(0, side - inner + 1, (n, 2))
    contrast = rng.uniform(0.6, 1.0, n).astype(np.float32)
    canvas = np.zeros((n, side, side), np.float32)
    for dy in range(side - inner + 1):
        for dx in range(side - inner + 1):
            rows = np.flatnonzero((offsets[:, 0] == dy) & (offsets[:, 1] == dx))
            if len(rows):
                canvas[rows, dy:dy + inner, dx:dx + inner] = base[pick[rows]]
    canvas *= contrast[:, None, None]
    canvas += rng.normal(0.0, 0.03, canvas.shape).astype(np.float32)
    images = np.clip(np.rint(canvas * 255.0), 0, 255).astype(np.uint8)
    return images, labels
