"""Item 3 of issue 7: each stage's wall time, CPU time, peak memory and import share.

In a throwaway copy of the repository (:class:`latentlab.pipeline.sandbox.Sandbox`: the working
tree as a fresh clone would have it, its own DVC cache and MLflow database) this runs

1. a full `dvc repro` from scratch (empty cache, no outputs, a fresh MLflow store),
2. a no-op `dvc repro`,
3. `dvc repro` after one `train.vae.beta` change,

with a ``python`` shim first on the PATH of the stage commands (dvc.yaml's ``cmd``
lines call ``python``): it starts the real interpreter with ``PYTHONPROFILEIMPORTTIME``,
waits for it with ``os.wait4`` and logs, per stage process, the wall seconds, the user
and system CPU seconds, the peak RSS and the cumulative import time of the heavy
libraries (torch, mlflow, sklearn, scipy, matplotlib, pandas). Nothing in the
repository changes: the shim lives in a temporary folder.

Also measured, each in fresh processes: the import cost of each heavy library alone
(one run each, less a bare interpreter start), the start-up floor of each stage script
(``python stages/<s>.py --help``), the whole cost of an MLflow stage run with an empty
body (``tracking.stage_run``: import mlflow, open the store, create the run, log the
params and tags, end it), and `dvc --version` (DVC's own start-up, the floor of any
`dvc repro`).

Run: ``.venv/bin/python benchmarks/stage_profile.py [--epochs N] [--out X.json]``
(``--epochs`` overrides train.common.epochs for a quick look; the goal is on defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from pipeline_timing import import_seconds  # noqa: E402

from latentlab.pipeline.sandbox import Sandbox, set_params  # noqa: E402

HEAVY = ("torch", "mlflow", "sklearn", "scipy", "matplotlib", "pandas")
SHOWN = ("torch", "mlflow", "sklearn", "matplotlib")

SHIM = '''#!{base} -SI
# latentlab benchmark shim: runs the real interpreter, logs time, memory and imports.
import json, os, sys, time
REAL, LOG = {real!r}, {log!r}
env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
r, w = os.pipe()
started = time.perf_counter()
pid = os.posix_spawn(REAL, [REAL] + sys.argv[1:], env,
                     file_actions=[(os.POSIX_SPAWN_DUP2, w, 2), (os.POSIX_SPAWN_CLOSE, r)])
os.close(w)
imports = []
with os.fdopen(r, "rb") as pipe:
    for line in pipe:
        if line.startswith(b"import time:"):
            imports.append(line[12:].decode(errors="replace"))
        else:
            os.write(2, line)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - started
heavy = {{}}
for line in imports:
    parts = line.split("|")
    if len(parts) != 3 or not parts[1].strip().isdigit():
        continue
    name = parts[2].rstrip("\\n")
    depth = (len(name) - len(name.lstrip(" "))) // 2
    name = name.strip()
    if name in {heavy!r} and name not in heavy:
        heavy[name] = {{"s": int(parts[1]) / 1e6, "depth": depth}}
record = {{"stage": os.environ.get("DVC_STAGE", ""), "argv": sys.argv[1:4], "wall_s": wall,
          "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "max_rss_mb": ru.ru_maxrss / 1024,
          "heavy_imports": heavy, "exit": os.waitstatus_to_exitcode(status)}}
with open(LOG, "a") as f:
    f.write(json.dumps(record) + "\\n")
code = record["exit"]
sys.exit(code if code >= 0 else 128 - code)
'''

TRACKING_NOOP = """
import time
started = time.perf_counter()
from latentlab.tracking.stage_run import stage_run
with stage_run("bench@noop", {"bench.x": 1}, {"dvc.stage": "bench@noop"}) as run:
    pass
print(time.perf_counter() - started)
"""


def install_shim(folder: Path, log: Path) -> None:
    base = getattr(sys, "_base_executable", None) or sys.executable
    base = os.path.realpath(base)
    shim = folder / "python"
    shim.write_text(SHIM.format(base=base, real=sys.executable, log=str(log), heavy=HEAVY))
    shim.chmod(0o755)


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def best_of(args: list[str], cwd: Path, env: dict, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def phase(box: Sandbox, log: Path, name: str) -> dict:
    """One `dvc repro`: its wall seconds, the stages that ran and each stage's record."""
    if log.exists():
        log.unlink()
    before = time.perf_counter()
    ran, seconds = box.repro()
    records = read_log(log)
    total_stage = sum(r["wall_s"] for r in records)
    print(f"  {name}: {seconds:.1f} s, {len(ran)} stage(s)", file=sys.stderr, flush=True)
    del before
    return {"wall_s": seconds, "stages_run": sorted(ran), "stages": records,
            "sum_stage_wall_s": total_stage, "dvc_overhead_s": seconds - total_stage}


def run(epochs: int | None) -> dict:
    env = dict(os.environ)
    result: dict = {"imports_alone_s": {}}
    for module in ("numpy", "torch", "sklearn.manifold", "mlflow", "matplotlib.pyplot"):
        result["imports_alone_s"][module] = import_seconds(module, repeats=1)  # make bench < 10 min
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        box = Sandbox(benchlib.REPO, tmp / "latentlab")
        if epochs:
            set_params(box.root / "params.yaml", {("train", "common", "epochs"): epochs})
            box.commit("epochs override")
        shim_dir, log = tmp / "shim", tmp / "stages.jsonl"
        shim_dir.mkdir()
        install_shim(shim_dir, log)
        box.run(sys.executable, "-m", "latentlab.tracking", "init")
        result["startup_floor_s"] = {
            script.stem: best_of([sys.executable, str(script), "--help"], box.root, box.env)
            for script in sorted((box.root / "stages").glob("*.py"))}
        result["startup_floor_s"]["bare python"] = best_of([sys.executable, "-c", "pass"],
                                                           box.root, box.env)
        result["dvc_version_s"] = best_of(["dvc", "--version"], box.root, box.env)
        result["shim_overhead_s"] = (
            best_of([str(shim_dir / "python"), "-c", "pass"], box.root, box.env, 3)
            - best_of([sys.executable, "-c", "pass"], box.root, box.env, 3))

        box.env["PATH"] = f"{shim_dir}{os.pathsep}{box.env['PATH']}"
        result["full"] = phase(box, log, "full repro from scratch")
        result["noop"] = phase(box, log, "no-op repro")
        beta = 0.5 if "beta: 1.0" in (box.root / "params.yaml").read_text() else 1.0
        set_params(box.root / "params.yaml", {("train", "vae", "beta"): beta})
        result["after_vae_change"] = phase(box, log, f"repro after train.vae.beta={beta}")
        box.env["PATH"] = box.env["PATH"].split(os.pathsep, 1)[1]
        out = box.run(sys.executable, "-c", TRACKING_NOOP).stdout
        result["tracking_empty_run_s"] = float(out.strip().splitlines()[-1])
        fit = {}
        for path in sorted((box.root / "timings").glob("*.json")):
            fit[path.stem] = json.loads(path.read_text())["fit_seconds"]
        result["fit_seconds"] = fit
    del env
    result["epochs_override"] = epochs
    return result


def critical_import_s(heavy: dict) -> float:
    """Seconds the stage's main thread spends importing torch, sklearn and matplotlib.

    mlflow (and pandas, which it imports) load in the stage's tracking worker, a process
    of its own that shares the stage's stderr (so its import log lands in the same
    record) and runs on the other core; scipy counts on its own only where sklearn, which
    imports it, is absent. (The nesting depth in the import log is not used: two
    processes write to it.)
    """
    names = ["torch", "sklearn", "matplotlib"] + ([] if "sklearn" in heavy else ["scipy"])
    return sum(heavy[k]["s"] for k in names if k in heavy)


def stage_rows(result: dict) -> list[list]:
    rows = []
    tracking_s = result["tracking_empty_run_s"]
    for r in result["full"]["stages"]:
        heavy = r["heavy_imports"]
        top = {k: v["s"] for k, v in heavy.items() if k in SHOWN}
        import_s = critical_import_s(heavy)
        tracked = "mlflow" in heavy
        rows.append([r["stage"] or " ".join(r["argv"]), r["wall_s"], r["user_s"] + r["sys_s"],
                     r["max_rss_mb"], *(top.get(k) for k in SHOWN),
                     100 * import_s / r["wall_s"],
                     100 * tracking_s / r["wall_s"] if tracked else None])
    return rows


def render(result: dict) -> str:
    full, noop, after = result["full"], result["noop"], result["after_vae_change"]
    stages = benchlib.table(
        ["stage (full repro)", "wall s", "CPU s", "peak RSS MB",
         *(f"{k} s" for k in SHOWN), "% importing", "% tracking"],
        stage_rows(result),
        "3. stages of a full `dvc repro` from scratch (import seconds as measured inside the "
        "stage; mlflow loads in the tracking worker process)")
    summary = benchlib.table(
        ["measurement", "value"],
        [["full repro from scratch, s", full["wall_s"]],
         ["  stages run", len(full["stages_run"])],
         ["  sum of stage wall times, s", full["sum_stage_wall_s"]],
         ["  DVC's own time (repro - stages), s", full["dvc_overhead_s"]],
         ["  max peak RSS of a stage, MB", max(r["max_rss_mb"] for r in full["stages"])],
         ["no-op repro, s", noop["wall_s"]],
         ["  `dvc --version` (DVC start-up), s", result["dvc_version_s"]],
         ["repro after train.vae.beta change, s", after["wall_s"]],
         ["  stages rerun", ", ".join(after["stages_run"])],
         ["MLflow stage run with an empty body, s", result["tracking_empty_run_s"]],
         *[[f"import {k} alone, s", v] for k, v in result["imports_alone_s"].items()],
         *[[f"start-up `{k} --help`, s" if k != "bare python" else "bare python start, s", v]
           for k, v in result["startup_floor_s"].items()],
         ["shim overhead per stage, s", result["shim_overhead_s"]]],
        "3b. pipeline wall times")
    return stages + "\n\n" + summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, help="override train.common.epochs (quick runs)")
    ap.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = ap.parse_args()
    result = run(args.epochs)
    return benchlib.publish(result, render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
