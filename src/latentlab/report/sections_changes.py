"""The report's "What changed" section: the metrics against the commit the run started from.

What ``dvc metrics diff`` prints (HEAD against the workspace), computed in pure
Python on the metrics files this report reads, which the report stage declares as
dependencies; the committed side comes from git
(:func:`latentlab.report.gitstate.committed_json`). As DVC does, nested keys are
joined with dots and only changed values are listed. Wall times
(``metrics/fit_seconds.json``) are left out: they change on every run.

The section is short: the comparison-table metrics that changed, then every
changed value in a collapsed table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from latentlab.params import flatten
from latentlab.report.blocks import para
from latentlab.report.gitstate import GitState
from latentlab.report.words import DASH, fmt

# latent_stats.json keys (under each method) shown first: the comparison table's ranked
# columns and the VAE's bound on log p(x).
HEADLINE_KEYS = ("knn_accuracy", "probe_accuracy", "trustworthiness", "recon_mse",
                 "latent_kl_to_prior_nats", "active_units", "test_elbo_nats", "test_log_px_nats")
HEADLINE_FILE = "latent_stats.json"


@dataclass(frozen=True)
class Change:
    """One changed value: file, dotted key, value at the commit and now (None: absent)."""

    path: str
    key: str
    old: float | bool | None
    new: float | bool | None

    @property
    def headline(self) -> bool:
        return self.path.endswith(HEADLINE_FILE) and self.key.rsplit(".", 1)[-1] in HEADLINE_KEYS


def numeric_leaves(obj: Mapping[str, Any]) -> dict[str, float | bool]:
    """Numeric and boolean leaves of nested dicts, keyed ``a.b.c`` (strings, lists dropped)."""
    return {key: value for key, value in flatten(dict(obj)).items()
            if isinstance(value, bool)
            or (isinstance(value, (int, float)) and math.isfinite(value))}


def metrics_diff(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[Change]:
    """Changed leaves per file, in file then key order; a file missing at the commit is None."""
    changes = []
    for path in now:
        old, new = numeric_leaves(before.get(path) or {}), numeric_leaves(now[path])
        for key in sorted(set(old) | set(new)):
            a, b = old.get(key), new.get(key)
            if a is None or b is None or type(a) is bool or type(b) is bool:
                if a != b or type(a) is not type(b):
                    changes.append(Change(path, key, a, b))
            elif float(a) != float(b):  # exact, as dvc metrics diff
                changes.append(Change(path, key, a, b))
    return changes


def _value(v: float | bool | None) -> str:
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v) if isinstance(v, int) else fmt(v)


def _delta(change: Change) -> str:
    a, b = change.old, change.new
    if a is None:
        return "new"
    if b is None:
        return "removed"
    if isinstance(a, bool) or isinstance(b, bool):
        return "changed"
    d = b - a  # an int where both are
    return ("+" if d > 0 else "") + (str(d) if isinstance(d, int) else fmt(d))


def change_table(table_id: str, changes: list[Change], short: str, summary: str = "") -> dict:
    """A table block: file, metric, the committed value, the current one, the change."""
    rows = [{"label": c.path, "cells": [{"text": c.key, "best": False},
                                        {"text": _value(c.old), "best": False},
                                        {"text": _value(c.new), "best": False},
                                        {"text": _delta(c), "best": False}]}
            for c in changes]
    block = {"kind": "table", "table": {
        "id": table_id, "row_header": "file",
        "columns": ["metric", f"at {short}", "now", "change"], "rows": rows}}
    if summary:
        block["summary"] = summary
    return block


def changes_blocks(git: GitState, before: Mapping[str, Any] | None,
                   now: Mapping[str, Any]) -> list[dict]:
    """The section's blocks.

    Parameters
    ----------
    git : GitState
        The commit compared with (None: nothing to compare with).
    before : mapping of path -> JSON object or None, or None
        Each metrics file as committed at ``git.commit``.
    now : mapping of path -> JSON object
        The same files as this run wrote them.
    """
    files = ", ".join(f"`{p}`" for p in now)
    if git.commit is None or before is None:
        return [para(f"Nothing to compare with: {git.reason or 'no commit'}. This section lists "
                     "what changed in the metrics against the commit a run starts from.")]
    if all(before.get(p) is None for p in now):
        return [para(f"Commit `{git.short}` (HEAD when this report was rendered) holds none of "
                     f"the metrics files this report reads ({files}): no earlier results to "
                     "compare with.")]
    changes = metrics_diff(before, now)
    intro = (f"Against the metrics committed at `{git.short}`, HEAD when this report was "
             "rendered (the commit this run started from; once these results are committed, "
             "their commit's parent): what `dvc metrics diff` prints for the files this report "
             f"reads, {files}. Wall times (`metrics/fit_seconds.json`) are left out: they "
             "change on every run.")
    if not changes:
        return [para(intro + " No value differs.")]
    n_files = len({c.path for c in changes})
    headline = [c for c in changes if c.headline]
    blocks = [para(intro + f" {len(changes)} values differ, in {n_files} "
                   f"file{'s' if n_files > 1 else ''}" +
                   (f"; the comparison-table metrics among them (`{HEADLINE_FILE}`):"
                    if headline else "; none of them a comparison-table metric."))]
    if headline:
        blocks.append(change_table("changes-table", headline, git.short))
    blocks.append(change_table("changes-all-table", changes, git.short,
                               summary=f"All {len(changes)} changed values"))
    return blocks
