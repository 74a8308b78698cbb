"""Issue 20: where the memory of a stage goes, measured inside the stage's own process.

Runs one stage of a pipeline copy (its ``cmd`` from that copy's ``dvc.yaml``, e.g. the
sandbox ``large_pipeline.py`` builds, kept with ``--keep``) in a child process whose
stage functions are wrapped: after each call of the functions in ``CHECKPOINTS`` it
records the call, the process's resident set (``/proc/self/statm``) and its peak
so far (``ru_maxrss``). The last line is the stage's whole peak RSS.

Run: ``python benchmarks/stage_memory.py --box DIR --stage evaluate [--code REPO]``
(``--code``: the checkout whose ``stages/`` and ``src/`` run, default the copy's own).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
from pathlib import Path

CHECKPOINTS = {  # module: functions wrapped, in this order (before a module that imports them)
    "latentlab.analysis.metrics": ("knn_correct", "probe_correct", "trustworthiness_of_rows",
                                   "distances_from_rows", "bernoulli_decomposition"),
    "latentlab.analysis.intervals": ("replicates",),
    "latentlab.io": ("read_npz",),
    "latentlab.data.preprocess": ("read_representation_splits",),
    "latentlab.train.trainer": ("load_model",),
    "latentlab.analysis.evaluate": ("walks", "vae_log_px"),
    "latentlab.analysis.latent_stats": ("representation_splits", "compare_methods"),
    "latentlab.analysis.sweep": ("sweep_scores",),
}

DRIVER = r"""
import functools, importlib, json, os, resource, runpy, sys
def mb():
    return (int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
def record(label):
    rss, peak = mb()
    print("MEM " + json.dumps({"after": label, "rss_mb": round(rss), "peak_mb": round(peak)}),
          file=sys.stderr, flush=True)
def wrap(module, name):
    fn = getattr(module, name)
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        what = name
        if name == "read_npz":
            what += f"({os.path.relpath(str(args[0]))}: {sorted(out)})"
        record(what)
        return out
    setattr(module, name, wrapped)
record("start")
for module_name, names in json.loads(sys.argv[1]).items():
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        continue
    for name in names:
        if hasattr(module, name):
            wrap(module, name)
record("imports")
sys.argv = sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    record("end")
"""


def stage_command(box: Path, stage: str) -> list[str]:
    import yaml

    cmd = yaml.safe_load((box / "dvc.yaml").read_text())["stages"][stage]["cmd"]
    return shlex.split(" ".join(cmd.split()))


def measure(box: Path, stage: str, code: Path | None) -> tuple[list[dict], float]:
    """The checkpoints, and the peak RSS of the stage's largest process (its tracking worker
    included), as ``wait4`` and the benchmarks' shim see it."""
    argv = stage_command(box, stage)
    assert argv[0] == "python", argv
    code = code or box
    env = dict(os.environ, PYTHONPATH=str(code / "src"), DVC_ROOT=str(box))
    child = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(CHECKPOINTS),
                              str(code / argv[1]), *argv[2:]],
                             cwd=box, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    out, err = child.communicate()
    if child.returncode:
        raise SystemExit(f"{stage} failed:\n{out[-3000:]}\n{err[-3000:]}")
    rows = [json.loads(line[4:]) for line in err.splitlines() if line.startswith("MEM ")]
    return rows, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # one child


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--box", type=Path, required=True, help="the pipeline copy to run in")
    ap.add_argument("--stage", required=True, help="a stage of its dvc.yaml, e.g. evaluate")
    ap.add_argument("--code", type=Path, help="run this checkout's stages/ and src/")
    args = ap.parse_args()
    rows, peak = measure(args.box.resolve(), args.stage,
                         args.code.resolve() if args.code else None)
    for row in rows:
        print(f"{row['rss_mb']:6d} MB now, {row['peak_mb']:6d} MB peak  after {row['after']}")
    print(f"{args.stage}: peak RSS {peak:.0f} MB (its largest process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
