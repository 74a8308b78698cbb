"""`make repro`'s "[k/n, elapsed]" on DVC's stage lines: on recorded DVC output, against DVC's own
stage list, and on a real two-stage DVC repository run through the wrapper."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from latentlab.pipeline import progress

ROOT = Path(__file__).resolve().parents[2]

# DVC 3.67's stdout for a repro where one stage is unchanged, one restored, one ran.
RECORDED = """Stage 'download' didn't change, skipping
Stage 'preprocess' is cached - skipping run, checking out outputs
Running stage 'train@vae':
> python stages/train.py --model vae
train@vae: epoch 1/300 train/loss 40.1
Updating lock file 'dvc.lock'
Use `dvc push` to send your updates to remote storage.
"""


def _rewrite(text: str, total, drop_push_hint=True) -> str:
    ticks = iter([0.0, 1.0, 42.0, 3725.0])
    lines = progress.StageLines(total, drop_push_hint=drop_push_hint, clock=lambda: next(ticks))
    out = io.StringIO()
    progress.pump(io.StringIO(text), lines, out)
    return out.getvalue()


def test_stage_lines_get_their_number_and_the_elapsed_time():
    assert _rewrite(RECORDED, 14).splitlines() == [
        "[1/14, 0:01] Stage 'download' didn't change, skipping",
        "[2/14, 0:42] Stage 'preprocess' is cached - skipping run, checking out outputs",
        "[3/14, 1:02:05] Running stage 'train@vae':",
        "> python stages/train.py --model vae",
        "train@vae: epoch 1/300 train/loss 40.1",
        "Updating lock file 'dvc.lock'"]
    assert _rewrite(RECORDED, None, drop_push_hint=False).splitlines()[2::4] == [
        "[3, 1:02:05] Running stage 'train@vae':", RECORDED.splitlines()[-1]]


def test_the_stage_count_is_dvcs_own_stage_list(monkeypatch):
    monkeypatch.chdir(ROOT)
    listed = subprocess.run(["dvc", "stage", "list", "--name-only"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert sorted(progress.stage_names()) == sorted(listed)
    assert progress.visited_count([]) == len(listed)
    assert progress.visited_count(["train@vae"]) is None
    assert progress.visited_count(["--downstream", "report"]) is None
    assert progress.visited_count(["-S", "train.vae.beta=2"]) == len(listed)


def test_the_wrapper_numbers_a_real_dvc_repro_and_drops_the_push_hint(tmp_path):
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  a:\n    cmd: echo a > a.txt\n    outs:\n      - a.txt\n"
        "  b:\n    cmd: cat a.txt > b.txt\n    deps:\n      - a.txt\n    outs:\n      - b.txt\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT", "LATENTLAB_PARENT_RUN_FILE")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=tmp_path, check=True, env=env)
    out = subprocess.run([sys.executable, "-m", "latentlab.pipeline.run", "repro"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    stage_lines = [line for line in out.stdout.splitlines() if "stage '" in line.lower()]
    assert [line.split("] ", 1)[1] for line in stage_lines] == [
        "Running stage 'a':", "Running stage 'b':"]
    assert stage_lines[0].startswith("[1/2, 0:0") and stage_lines[1].startswith("[2/2, 0:")
    assert "dvc push" not in out.stdout
