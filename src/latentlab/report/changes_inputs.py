"""What "What changed" compares: today's params, data set and metrics, and HEAD's.

:func:`load_changes` reads, under a repository root, what went into the results and what
came out of them, now and as committed at HEAD (through :mod:`latentlab.report.gitstate`),
into a :class:`ChangesInputs`: ``params.yaml``, the data set's ``source.json`` and the
metrics files the report reads. Those paths come from dvc.yaml's ``report`` stage
(:func:`report_files`: its ``--source`` flag and its deps under ``metrics/``), so the
compared set is written in one place. :mod:`latentlab.report.sections_changes` words it
and :mod:`latentlab.report.changes` prints it. None of this is part of the report, which
reads no git state (a fresh clone at any commit re-renders the committed report).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentlab.io import DataFileError, read_json
from latentlab.params import DEFAULT_PARAMS_FILE, flatten, read_params_file
from latentlab.report.gitstate import (
    GitState,
    committed_dvc_output,
    committed_json,
    committed_text,
    read_git_state,
)

DVC_YAML = "dvc.yaml"
REPORT_STAGE = "report"
METRICS_DIR = "metrics/"  # the report stage's deps under it are the compared metrics files
SOURCE_FLAG = "--source"  # the report stage's flag naming the data set's source.json
SOURCE_KEYS = ("name", "sha256")


@dataclass(frozen=True)
class DataAtCommit:
    """The data set the compared commit's results came from, as far as it can be read.

    Attributes
    ----------
    source : dict or None
        ``data/raw/source.json`` at the commit: from git where git tracks it, else the
        version ``dvc.lock`` recorded there, read from the local DVC cache; None where
        neither holds it.
    same_file : bool or None
        Whether today's ``source.json`` has the md5 ``dvc.lock`` recorded at the commit;
        None where it recorded none.
    """

    source: dict | None
    same_file: bool | None


@dataclass(frozen=True)
class ChangesInputs:
    """Today's inputs and metrics, and the same at the commit a run started from.

    Attributes
    ----------
    git : GitState
        HEAD (the commit the run started from, until its results are committed) and the
        source paths that differ from it.
    source : dict
        Today's ``source.json`` (at least ``name`` and ``sha256``).
    metrics_now : dict of path -> dict
        The compared metrics files (every metrics file the report reads; no wall time),
        keyed by their path relative to the repository root, as ``dvc metrics diff`` names
        them.
    metrics_before : dict of path -> dict or None, or None
        The same files at ``git.commit`` (None for a file it lacks); None without a commit.
    params_now : dict
        ``params.yaml`` flattened to dotted keys (``train.vae.beta``).
    params_before : dict or None
        The same at ``git.commit``; None without a commit or a ``params.yaml`` there.
    data_before : DataAtCommit or None
        The data set at ``git.commit``; None without a commit.
    """

    git: GitState
    source: dict
    metrics_now: dict[str, dict] = field(repr=False)
    metrics_before: dict[str, dict | None] | None = field(repr=False)
    params_now: dict[str, Any] = field(repr=False)
    params_before: dict[str, Any] | None = field(repr=False)
    data_before: DataAtCommit | None = field(repr=False)


def report_files(root: str | Path) -> tuple[str, list[str]]:
    """The report stage's ``source.json`` and metrics files, relative to ``root``, as
    ``root/dvc.yaml`` names them (the metrics in the order of its deps).

    Raises
    ------
    DataFileError
        No readable dvc.yaml, no ``report`` stage, or one without ``--source``.
    """
    import yaml  # local, as in latentlab.params

    path = Path(root) / DVC_YAML
    try:
        stage = (yaml.safe_load(path.read_text()) or {}).get("stages", {}).get(REPORT_STAGE)
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing; run from the repository root") from None
    except (yaml.YAMLError, AttributeError):
        raise DataFileError(f"{path}: not a dvc.yaml with stages") from None
    if not isinstance(stage, dict):
        raise DataFileError(f"{path}: no `{REPORT_STAGE}` stage")
    words = shlex.split(str(stage.get("cmd", "")))
    if SOURCE_FLAG not in words[:-1]:
        raise DataFileError(f"{path}: the `{REPORT_STAGE}` stage's cmd has no {SOURCE_FLAG}")
    metrics = [d for d in stage.get("deps") or () if isinstance(d, str)
               and d.startswith(METRICS_DIR)]
    return words[words.index(SOURCE_FLAG) + 1], metrics


def load_changes(root: str | Path) -> ChangesInputs:
    """Read today's params, data set and metrics under ``root`` and the same at HEAD.

    Raises
    ------
    DataFileError
        dvc.yaml names no report stage, or a compared file is missing (run ``dvc repro``)
        or unreadable; the message names the file.
    ParamsError
        ``params.yaml`` is missing or not valid YAML.
    """
    root = Path(root)
    source_rel, metrics = report_files(root)
    source = read_json(root / source_rel)
    if not isinstance(source, dict) or any(k not in source for k in SOURCE_KEYS):
        raise DataFileError(f"{root / source_rel}: expected an object with "
                            f"{' and '.join(SOURCE_KEYS)}; run `dvc repro`")
    git = read_git_state(root)
    params = root / DEFAULT_PARAMS_FILE
    return ChangesInputs(
        git=git,
        source=source,
        metrics_now={rel: read_json(root / rel) for rel in metrics},
        metrics_before=(None if git.commit is None else
                        {rel: committed_json(git.commit, root / rel) for rel in metrics}),
        params_now=flatten(read_params_file(params)),
        params_before=_committed_params(git, params),
        data_before=_committed_data(git, root, source_rel),
    )


def _committed_params(git: GitState, path: Path) -> dict[str, Any] | None:
    """``params.yaml`` at the commit, flattened; None without one (or unreadable)."""
    import yaml  # local, as in latentlab.params

    text = None if git.commit is None else committed_text(git.commit, path)
    try:
        raw = yaml.safe_load(text) if text is not None else None
    except yaml.YAMLError:
        return None
    return flatten(raw) if isinstance(raw, dict) else None


def _committed_data(git: GitState, root: Path, relpath: str) -> DataAtCommit | None:
    """``source.json`` at the commit: from git, else through dvc.lock and the DVC cache."""
    if git.commit is None:
        return None
    source = root / relpath
    md5, data = committed_dvc_output(git.commit, root, Path(relpath).as_posix())
    same = None if md5 is None else hashlib.md5(source.read_bytes()).hexdigest() == md5
    before = committed_json(git.commit, source)
    if before is None and data is not None:
        try:
            before = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            before = None
    return DataAtCommit(before if isinstance(before, dict) else None, same)
