"""``python -m latentlab.pipeline.compare``: the experiments side by side, in about 120 columns.

``dvc exp show`` prints every param and metric: hundreds of columns. This reads
the same data (``dvc exp show --json``, real DVC, any of its options passed on:
``-A`` for every commit, ``-n 3``, ``--rev``) and prints one row per
experiment or commit (the workspace, ``HEAD``, and ``HEAD``'s ``dvc exp``
experiments), in short blocks:

* **params that differ**: only the ``params.yaml`` keys whose values differ
  between the rows, each named by its shortest unambiguous dotted suffix;
* **one block per method** (PCA, t-SNE, AE, DAE, VAE) with the headline numbers
  of ``metrics/latent_stats.json``: kNN accuracy, reconstruction MSE and the
  KL of the codes' aggregate to the prior N(0, I), each as ``value (low–high)``
  with its bootstrap interval; for the VAE also the test ELBO and the
  importance-weighted log p(x), in nats.

A block wider than the width (``--width``, 120) is split into several, each
repeating the row names. ``--from-json FILE`` formats a saved
``dvc exp show --json`` output (``-`` for stdin) without running DVC.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

from latentlab.cli import run_stage
from latentlab.errors import LatentlabError
from latentlab.params import flatten
from latentlab.pipeline.stdout import emit

PARAMS_FILE = "params.yaml"
METRICS_FILE = "metrics/latent_stats.json"
METHODS = ("pca", "tsne", "ae", "dae", "vae")
# (metric key, heading, number format): every method; the VAE adds VAE_ONLY
HEADLINE = (("knn_accuracy", "kNN accuracy ↑", "fixed3"),
            ("recon_mse", "recon MSE ↓", "sig3"),
            ("latent_kl_to_prior_nats", "KL to N(0,I) ↓", "sig3"))
VAE_ONLY = (("test_elbo_nats", "ELBO ↑", "fixed2"),
            ("test_log_px_nats", "log p(x) ↑", "fixed2"))
WIDTH = 120
MAX_CELL = 28  # a param value longer than this is cut, ending in …
MISSING = "—"
LEGEND = ("value (low–high): the 95 % bootstrap interval over the test images; ↑ higher is better, "
          "↓ lower; ELBO and log p(x) in nats per image; — not measured. Everything else: "
          "dvc exp show, metrics/latent_stats.json.")


class CompareError(LatentlabError):
    """``dvc exp show`` failed or printed something that is not its JSON."""


@dataclass
class Row:
    """One experiment or commit: its name, flattened params and latent_stats table."""

    label: str
    params: dict[str, Any] | None = None
    metrics: dict[str, dict] | None = None
    note: str = ""  # queued, running, failed, or DVC's error


def _file_data(files: dict | None, name: str) -> dict | None:
    entry = (files or {}).get(name) or {}
    return entry.get("data") if isinstance(entry.get("data"), dict) else None


def _row(label: str, state: dict, note: str = "") -> Row:
    data = state.get("data") or {}
    params = _file_data(data.get("params"), PARAMS_FILE)
    error = (state.get("error") or {}).get("msg")
    return Row(label=label, params=flatten(params) if params is not None else None,
               metrics=_file_data(data.get("metrics"), METRICS_FILE),
               note=note or (f"error: {error.splitlines()[0]}" if error else ""))


def rows_from_show(show: list[dict]) -> list[Row]:
    """The rows of ``dvc exp show --json``: each commit, then its experiments (newest first)."""
    rows = []
    for baseline in show:
        rev = baseline.get("rev", "")
        if rev == "workspace":
            label = "workspace"
        else:
            label = " ".join(filter(None, (rev[:7], baseline.get("name"))))
        rows.append(_row(label, baseline))
        ranges = baseline.get("experiments") or []
        for i, exp_range in enumerate(ranges):
            revs = exp_range.get("revs") or [{}]
            state = revs[0]
            name = exp_range.get("name") or state.get("name") or state.get("rev", "")[:7]
            executor = (exp_range.get("executor") or {}).get("state", "")
            note = executor if executor in ("queued", "running", "failed") else ""
            branch = "└" if i == len(ranges) - 1 else "├"
            rows.append(_row(f"{branch} {name}", state, note))
    return rows


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"))
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def short_names(keys: list[str]) -> dict[str, str]:
    """Each dotted key's shortest unambiguous suffix of at least two parts (or the key)."""
    names = {}
    for key in keys:
        parts = key.split(".")
        for n in range(min(2, len(parts)), len(parts) + 1):
            suffix = ".".join(parts[-n:])
            if sum(k == suffix or k.endswith("." + suffix) for k in keys) == 1:
                names[key] = suffix
                break
        else:
            names[key] = key
    return names


def differing_params(rows: list[Row]) -> list[str]:
    """The params keys (in params.yaml order) whose values differ between rows that have params."""
    with_params = [r.params for r in rows if r.params is not None]
    keys: dict[str, None] = {}
    for params in with_params:
        keys.update(dict.fromkeys(params))
    return [k for k in keys
            if len({json.dumps(p.get(k, MISSING), sort_keys=True) for p in with_params}) > 1]


def number(value: Any, style: str) -> str:
    """``fixed3``: 0.948; ``fixed2``: -24.06; ``sig3``: three significant digits (0.0278)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING if value is None else str(value)
    if not math.isfinite(value):
        return str(value)
    if style == "fixed3":
        return f"{value:.3f}"
    if style == "fixed2":
        return f"{value:.2f}"
    if value == 0:
        return "0"
    digits = 2 - math.floor(math.log10(abs(value)))
    if abs(value) < 1e-4 or digits < 0:
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def metric_cell(stats: dict | None, key: str, style: str) -> str:
    """``0.948 (0.922–0.970)``; the value alone without an interval; ``—`` when absent."""
    if not stats or stats.get(key) is None:
        return MISSING
    text = number(stats[key], style)
    low, high = stats.get(f"{key}_ci_low"), stats.get(f"{key}_ci_high")
    if low is not None and high is not None:
        text += f" ({number(low, style)}–{number(high, style)})"
    return text


def block(corner: str, headers: list[str], rows: list[tuple[str, list[str]]],
          width: int = WIDTH) -> list[str]:
    """A text table; columns that do not fit ``width`` go to further tables, names repeated."""
    label_width = max([len(corner)] + [len(label) for label, _ in rows])
    widths = [max([len(h)] + [len(cells[i]) for _, cells in rows]) for i, h in enumerate(headers)]
    chunks, current, used = [], [], label_width
    for i, w in enumerate(widths):
        if current and used + 2 + w > width:
            chunks.append(current)
            current, used = [], label_width
        current.append(i)
        used += 2 + w
    chunks.append(current)
    lines = []
    for n, chunk in enumerate(chunks):
        if n:
            lines.append("")
        lines.append("  ".join([corner.ljust(label_width)]
                               + [headers[i].rjust(widths[i]) for i in chunk]).rstrip())
        for label, cells in rows:
            lines.append("  ".join([label.ljust(label_width)]
                                   + [cells[i].rjust(widths[i]) for i in chunk]).rstrip())
    return lines


def format_table(rows: list[Row], width: int = WIDTH) -> str:
    """The params block (or one line saying none differ), then one block per method."""
    if not rows:
        return "no experiments: dvc exp show found no commit (is this a git repository?)"
    labels = [f"{r.label} ({r.note})" if r.note else r.label for r in rows]
    out = []
    keys = differing_params(rows)
    if keys:
        names = short_names(keys)
        cells = [[MISSING if r.params is None else _value_text(r.params.get(k, MISSING))
                  for k in keys] for r in rows]
        out += block("params that differ", [names[k] for k in keys], list(zip(labels, cells)),
                     width)
    else:
        out.append(f"params: the same {PARAMS_FILE} in every row")
    for method in METHODS:
        columns = HEADLINE + (VAE_ONLY if method == "vae" else ())
        if not any(r.metrics and method in r.metrics for r in rows):
            continue
        cells = [[metric_cell((r.metrics or {}).get(method), key, style)
                  for key, _, style in columns] for r in rows]
        out.append("")
        out += block(method.upper() if method != "tsne" else "t-SNE",
                     [heading for _, heading, _ in columns], list(zip(labels, cells)), width)
    if not any(r.metrics for r in rows):
        out += ["", f"no {METRICS_FILE} in any row: run the pipeline (make repro) first"]
    out += ["", *textwrap.wrap(LEGEND, width)]
    return "\n".join(out)


def dvc_exp_show(args: list[str]) -> list[dict]:
    """Run ``dvc exp show --json ARGS`` (this interpreter's DVC); its parsed output."""
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise CompareError(f"`dvc exp show --json {' '.join(args)}` failed: "
                           f"{said[-1] if said else f'exit {done.returncode}'}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise CompareError(f"`dvc exp show --json` printed no JSON: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m latentlab.pipeline.compare", description=__doc__.splitlines()[0],
        epilog="Other options go to `dvc exp show` (e.g. -A: every commit; -n 3).")
    ap.add_argument("--from-json", metavar="FILE",
                    help="a saved `dvc exp show --json` output (- for stdin) instead of running it")
    ap.add_argument("--width", type=int, default=WIDTH, help="columns per block (default 120)")
    args, dvc_args = ap.parse_known_args(argv)
    if args.from_json:
        try:
            text = sys.stdin.read() if args.from_json == "-" else open(args.from_json).read()
            show = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CompareError(f"cannot read {args.from_json}: {exc}") from None
    else:
        show = dvc_exp_show(dvc_args)
    return emit(format_table(rows_from_show(show), args.width))


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
