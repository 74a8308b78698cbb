"""What git knows about a run: the commit it started from, and that commit's metrics.

"What changed" (``python -m latentlab.report.changes``, :mod:`latentlab.report.changes`)
reads git here, and only here (``git`` on the PATH, no library); the report itself reads
no git state, so it is a function of its DVC deps alone. The commit is HEAD: after
``dvc repro`` and before the results are committed, the commit the run started from.
Nothing here writes to the repository (``GIT_OPTIONAL_LOCKS=0``: even ``git status``
leaves the index alone).

What went into the committed results is read the same way: ``params.yaml`` with
``git show`` (:func:`committed_text`), and a DVC-tracked file such as
``data/raw/source.json``, which git does not hold, through the md5 that
``dvc.lock`` recorded at the commit and the local DVC cache
(:func:`committed_dvc_output`), read as files: no DVC process, so no repository lock
taken and no second wait for DVC to start.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

BASE_REV = "HEAD"
# Tracked inputs of the results whose uncommitted changes "What changed" reads
# (outputs such as metrics/ and reports/ are left out: a run always changes them).
SOURCE_PATHS = ("params.yaml", "dvc.yaml", "src", "stages")
GIT_TIMEOUT_S = 30.0
SHORT_SHA = 12  # hex digits of a commit shown in running text
DVC_LOCK = "dvc.lock"
DVC_CACHE = Path(".dvc/cache/files/md5")  # DVC 3's local cache, relative to the repo root


@dataclass(frozen=True)
class GitState:
    """The commit a run started from and the inputs that differed from it.

    Attributes
    ----------
    commit : str or None
        HEAD's full sha; None outside a git repository, before the first commit,
        or without ``git``.
    reason : str
        Why ``commit`` is None ("" when it is not).
    changed : tuple of str
        Paths under :data:`SOURCE_PATHS` that differed from ``commit`` (modified,
        staged, deleted or untracked), relative to the repository root, sorted.
    """

    commit: str | None
    reason: str = ""
    changed: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.commit[:SHORT_SHA] if self.commit else ""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess | None:
    """Run ``git args`` in ``cwd``; None when git is missing or times out."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def read_git_state(root: str | Path, source_paths: tuple[str, ...] = SOURCE_PATHS) -> GitState:
    """HEAD of the repository holding ``root`` and the source paths that differ from it."""
    root = Path(root)
    if not root.is_dir():
        return GitState(None, f"{root} is not a directory")
    head = _git(["rev-parse", "--verify", "--quiet", f"{BASE_REV}^{{commit}}"], root)
    if head is None:
        return GitState(None, "git is not installed")
    if head.returncode != 0:
        return GitState(None, "not a git repository, or no commit yet")
    status = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--",
                   *source_paths], root)
    changed: set[str] = set()
    if status is not None and status.returncode == 0:
        entries = status.stdout.decode("utf-8", "replace").split("\0")
        skip_next = False
        for entry in entries:
            if skip_next:  # the source path of a rename or copy
                skip_next = False
                continue
            if len(entry) > 3:
                changed.add(entry[3:])
                skip_next = entry[0] in "RC"
    return GitState(head.stdout.decode().strip(), "", tuple(sorted(changed)))


def committed_text(commit: str, path: str | Path) -> str | None:
    """The text that ``path`` held at ``commit``; None where git held no such file there."""
    path = Path(path)
    if not path.parent.is_dir():
        return None
    shown = _git(["show", f"{commit}:./{path.name}"], path.parent)
    if shown is None or shown.returncode != 0:
        return None
    try:
        return shown.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def committed_json(commit: str, path: str | Path) -> object | None:
    """The JSON that ``path`` held at ``commit``; None where it held no such (valid) file."""
    text = committed_text(commit, path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def committed_dvc_output(commit: str, root: str | Path,
                         relpath: str) -> tuple[str | None, bytes | None]:
    """The md5 that ``dvc.lock`` at ``commit`` records for the output ``relpath``, and the
    bytes of that version from the local DVC cache.

    Returns (None, None) where the commit holds no ``dvc.lock`` or it records no such
    output, and (md5, None) where the cache (:data:`DVC_CACHE`, DVC 3's default
    location) no longer holds that version.
    """
    import yaml  # local: only "What changed" reads dvc.lock

    root = Path(root)
    text = committed_text(commit, root / DVC_LOCK)
    try:
        lock = yaml.safe_load(text) if text is not None else None
    except yaml.YAMLError:
        lock = None
    stages = lock.get("stages") if isinstance(lock, dict) else None
    md5s = [out.get("md5") for stage in (stages.values() if isinstance(stages, dict) else ())
            if isinstance(stage, dict) for out in (stage.get("outs") or ())
            if isinstance(out, dict) and out.get("path") == relpath]
    md5 = next((m for m in md5s if isinstance(m, str) and len(m) > 2), None)
    if md5 is None:
        return None, None
    try:
        return md5, (root / DVC_CACHE / md5[:2] / md5[2:]).read_bytes()
    except OSError:
        return md5, None
