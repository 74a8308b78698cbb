"""Why will ``dvc repro`` run each stage? ``python -m latentlab.pipeline.rerun_status [--json]``.

DVC answers *whether* a stage changed (``dvc status``) but not *why* a stage
that did not change will run anyway, nor which leaf of a params section changed
(users ask for both: iterative/dvc#1164, #9913). This module is a thin layer over
DVC's Python API:

* DVC's own verdict per stage (``Repo.status()``: changed deps, outs, command);
* the params DVC recorded in ``dvc.lock`` against the current values, compared
  leaf by leaf (a stage that lists the section ``train.vae`` reports
  ``train.vae.beta``);
* the stage graph, to name, for a stage that only reruns because of upstream
  work, the nearest upstream stages that will run.

The explanation is a pure function of those three inputs (:func:`explain`), so it
is testable without DVC. Stages that are up to date are omitted; when nothing
will run the text form prints ``Data and pipelines are up to date.`` (DVC's own
words) and the JSON form prints ``{}``.

JSON schema (``--json``): one entry per stage that will run, upstream first::

    {
      "<stage>": {
        "deps":     {"<path>": "modified" | "new" | "deleted" | ...},
        "params":   {"<key.leaf>": {"old": <value>, "new": <value>}},
        "outs":     {"<path>": "modified" | "deleted" | "not in cache" | ...},
        "stage":    ["changed command" | "always changed" | "not in dvc.lock", ...],
        "upstream": ["<stage>", ...]
      }
    }

``deps``, ``outs`` and ``stage`` are DVC's own status words. In ``params``,
``old`` is the value in ``dvc.lock`` and ``new`` the one in the params file; a
side is omitted when the key is absent there. Keys from a params file other than
``params.yaml`` are written ``<file>:<key.leaf>``. ``upstream`` names the stage's
direct dependencies that will run (sorted); every stage that will run sits in an
unbroken chain of such stages, so the nearest ones are the direct ones. A stage
with empty ``deps``, ``params``, ``outs`` and ``stage`` runs only because of
``upstream``.

Limits: a downstream stage is predicted to run when an upstream stage runs,
which is what happens when the upstream rerun rewrites a file it reads. DVC
skips it (``didn't change, skipping``) if the upstream rerun happens to produce
byte-identical outputs, and restores rather than runs a stage whose exact
inputs it finds in its run cache. Frozen stages and stages without a command
(``dvc add`` data sources) never run and are left out.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from latentlab.cli import run_stage
from latentlab.errors import LatentlabError
from latentlab.params import flatten
from latentlab.pipeline.stdout import emit

UP_TO_DATE = "Data and pipelines are up to date."
DEFAULT_PARAMS_FILE = "params.yaml"
NOT_IN_LOCK = "not in dvc.lock"
ARROW = "→"


class RerunStatusError(LatentlabError):
    """DVC could not answer (a broken ``dvc.yaml``, a locked repository)."""


class NotInRepoError(RerunStatusError):
    """The working directory is inside no DVC repository."""

    exit_code = 2


# --------------------------------------------------------------------------
# Pure logic: no DVC below this line until ``collect``.
# --------------------------------------------------------------------------


def param_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The leaf params that differ between the lock and the params file.

    Parameters
    ----------
    old, new : mapping of str to Any
        Params keyed as a stage lists them (``"train.vae"``, ``"seed"``), with
        values as recorded in ``dvc.lock`` (``old``) and as read now (``new``);
        values may be nested sections.

    Returns
    -------
    dict of str to dict
        ``{"train.vae.beta": {"old": 1.0, "new": 0.5}}`` for each changed leaf,
        sorted by key; ``"old"`` or ``"new"`` is omitted where the leaf is absent.
        Lists and tuples with equal items are equal (DVC reads some as tuples).
    """
    before, after = flatten(dict(old)), flatten(dict(new))
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(before.keys() | after.keys()):
        sides = {side: values[key] for side, values in (("old", before), ("new", after))
                 if key in values}
        if len(sides) == 1 or _normal(sides["old"]) != _normal(sides["new"]):
            changes[key] = sides
    return changes


def _normal(value: Any) -> Any:
    """Tuples as lists, recursively, so YAML and DVC readings compare equal."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def downstream_of(upstream: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """Invert ``stage -> stages it depends on`` into ``stage -> stages that depend on it``."""
    dependents: dict[str, set[str]] = {stage: set() for stage in upstream}
    for stage, deps in upstream.items():
        for dep in deps:
            dependents.setdefault(dep, set()).add(stage)
    return dependents


def will_run(changed: Iterable[str], upstream: Mapping[str, Iterable[str]]) -> set[str]:
    """The changed stages and every stage downstream of one of them.

    Parameters
    ----------
    changed : iterable of str
        Stages whose own inputs, outputs or definition changed.
    upstream : mapping of str to iterable of str
        Each stage's direct dependencies (the stages whose outputs it reads).

    Returns
    -------
    set of str
    """
    dependents = downstream_of(upstream)
    running = set(changed)
    queue = deque(running)
    while queue:
        for stage in dependents.get(queue.popleft(), ()):
            if stage not in running:
                running.add(stage)
                queue.append(stage)
    return running


def topological_order(stages: Iterable[str], upstream: Mapping[str, Iterable[str]]) -> list[str]:
    """``stages`` with every stage after its dependencies; ties broken by name."""
    wanted = set(stages)
    waiting = {s: {d for d in upstream.get(s, ()) if d in wanted} for s in wanted}
    order: list[str] = []
    while waiting:
        ready = sorted(s for s, deps in waiting.items() if not deps)
        if not ready:  # a cycle: DVC rejects these, but never loop forever
            ready = sorted(waiting)
        for stage in ready:
            del waiting[stage]
            for deps in waiting.values():
                deps.discard(stage)
        order.extend(ready)
    return order


def explain(status: Mapping[str, list], params: Mapping[str, Mapping[str, dict]],
            upstream: Mapping[str, Iterable[str]]) -> dict[str, dict[str, Any]]:
    """Why each stage will run on the next ``dvc repro``.

    Parameters
    ----------
    status : mapping of str to list
        ``dvc status --json`` for the stages that can run: per stage, a list of
        ``{"changed deps": {path: word}}``, ``{"changed outs": {path: word}}`` and
        plain strings (``"changed command"``, ``"always changed"``). A params
        file's entry holds a dict of section-level keys; it is ignored here in
        favour of ``params``.
    params : mapping of str to mapping
        Per stage, the leaf changes of :func:`param_changes`. They explain a
        stage; they do not make it run: whether a stage changed is DVC's call,
        made in ``status``.
    upstream : mapping of str to iterable of str
        Each stage's direct dependencies, e.g. from ``repo.index.graph`` whose
        edges point from a stage to the stages it depends on.

    Returns
    -------
    dict of str to dict
        The JSON schema of the module docstring, in topological order; empty when
        nothing will run.
    """
    running = will_run(status, upstream)
    explanation: dict[str, dict[str, Any]] = {}
    for stage in topological_order(running, upstream):
        deps: dict[str, str] = {}
        outs: dict[str, str] = {}
        reasons: list[str] = []
        for entry in status.get(stage, []):
            if isinstance(entry, str):
                reasons.append(entry)
                continue
            deps.update({p: w for p, w in entry.get("changed deps", {}).items()
                         if isinstance(w, str)})
            outs.update(entry.get("changed outs", {}))
        explanation[stage] = {
            "deps": dict(sorted(deps.items())),
            "params": dict(sorted(params.get(stage, {}).items())),
            "outs": dict(sorted(outs.items())),
            "stage": reasons,
            "upstream": sorted(d for d in upstream.get(stage, ()) if d in running),
        }
    return explanation


def _show(value: Any) -> str:
    """A param value as YAML/JSON writes it: ``1.0``, ``[16]``, ``"pca"``, ``true``."""
    return json.dumps(value, ensure_ascii=False, default=str)


def format_text(explanation: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per reason, each starting with ``<stage>:`` so it can be grepped.

    Examples
    --------
    >>> print(format_text({"evaluate": {"deps": {}, "params": {}, "outs": {}, "stage": [],
    ...                                 "upstream": ["train@vae"]}}))
    evaluate: upstream train@vae will rerun
    """
    if not explanation:
        return UP_TO_DATE
    lines = []
    for stage, why in explanation.items():
        lines += [f"{stage}: deps {path} {word}" for path, word in why["deps"].items()]
        for key, sides in why["params"].items():
            old, new = (_show(sides[s]) if s in sides else "(absent)" for s in ("old", "new"))
            lines.append(f"{stage}: params {key}: {old} {ARROW} {new}")
        lines += [f"{stage}: outs {path} {word}" for path, word in why["outs"].items()]
        lines += [f"{stage}: {reason}" for reason in why["stage"]]
        if why["upstream"]:
            lines.append(f"{stage}: upstream {', '.join(why['upstream'])} will rerun")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The DVC adapter.
# --------------------------------------------------------------------------


def collect(repo) -> tuple[dict[str, list], dict[str, dict], dict[str, list[str]]]:
    """Read the inputs of :func:`explain` from an open ``dvc.repo.Repo``.

    Only stages in the current ``dvc.yaml`` are read (lock entries of stages that
    no longer exist are ignored); frozen stages and stages without a command are
    left out, as ``dvc repro`` never runs them.

    Returns
    -------
    status : dict of str to list
        ``Repo.status()`` for the stages that can run; a stage never run is
        ``["not in dvc.lock"]`` instead of its every dep reading ``new``.
    params : dict of str to dict
        Leaf param changes per stage (lock against params file).
    upstream : dict of str to list of str
        Each stage's direct dependencies among the stages that can run.
    """
    from dvc.dependency import ParamsDependency

    graph = repo.index.graph  # edges: stage -> a stage whose output it depends on
    runnable = {stage.addressing: stage for stage in graph
                if stage.cmd and not stage.frozen}
    upstream = {name: sorted(dep.addressing for dep in graph.successors(stage)
                             if dep.addressing in runnable)
                for name, stage in runnable.items()}
    dvc_status = repo.status()
    status: dict[str, list] = {}
    params: dict[str, dict] = {}
    for name, stage in runnable.items():
        if not _in_lock(stage):
            status[name] = [NOT_IN_LOCK]
            continue
        if name not in dvc_status:
            continue
        status[name] = dvc_status[name]
        for dep in stage.deps:
            if isinstance(dep, ParamsDependency):
                old = dep.hash_info.value if dep.hash_info else None
                changes = param_changes(old or {}, dep.read_params())
                prefix = "" if dep.def_path == DEFAULT_PARAMS_FILE else f"{dep.def_path}:"
                params.setdefault(name, {}).update(
                    {f"{prefix}{key}": sides for key, sides in changes.items()})
    return status, params, upstream


def _in_lock(stage) -> bool:
    """Whether ``dvc.lock`` holds an entry for ``stage`` (``.dvc`` files have no lock)."""
    contents = getattr(stage.dvcfile, "lockfile_contents", None)
    return contents is None or stage.name in contents.get("stages", {})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m latentlab.pipeline.rerun_status",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the explanation as JSON")
    args = ap.parse_args(argv)

    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    try:
        repo = Repo()
    except NotDvcRepoError:
        raise NotInRepoError(f"{os.getcwd()} is not inside a DVC repository "
                             "(no .dvc directory here or above)") from None
    try:
        with repo:
            status, params, upstream = collect(repo)
    except DvcException as exc:
        raise RerunStatusError(f"dvc: {str(exc).splitlines()[0]}") from exc
    explanation = explain(status, params, upstream)
    if args.json:
        return emit(json.dumps(explanation, indent=2, ensure_ascii=False, default=str))
    return emit(format_text(explanation))


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
