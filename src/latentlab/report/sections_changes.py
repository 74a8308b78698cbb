"""The words of "What changed": what went in and what came out, against a commit.

Not a section of the report (which reads no git state) but the text of
``python -m latentlab.report.changes`` (:mod:`latentlab.report.changes`), which ``make repro``
runs after ``dvc repro``. The commit is HEAD, the one the run started from until its results
are committed (:mod:`latentlab.report.changes_inputs` reads it with
:mod:`latentlab.report.gitstate`). First the inputs, since they are the causes: the
``params.yaml`` keys whose value differs from the commit's (old → new), the data set
(``source.json``'s ``name`` and ``sha256``; a changed data set is said plainly, since every
metric comparison then runs across data sets) and the code files under ``src/``,
``stages/`` and ``dvc.yaml`` that differ from the commit. Then the outputs: what
``dvc metrics diff`` prints (HEAD against the workspace, dotted keys), computed in pure
Python on the metrics files the report reads, but only the values whose change exceeds
their noise (:func:`noise_of`): half the width of the value's interval in today's file
where it has one (``<key>_ci_low``/``<key>_ci_high``), else a relative change of
:data:`CHANGE_RTOL`. Interval bounds and the verdict's paired differences are not listed
on their own; a change of the verdict's best or tied leaders is said in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from latentlab.params import flatten
from latentlab.report.blocks import bullets, para
from latentlab.report.gitstate import SHORT_SHA
from latentlab.report.changes_inputs import ChangesInputs
from latentlab.report.words import DASH, TIMINGS_SENTENCE, fmt

# latent_stats.json keys (under each method) shown first: the comparison table's ranked
# columns and the VAE's bound on log p(x).
HEADLINE_KEYS = ("knn_accuracy", "probe_accuracy", "trustworthiness", "recon_mse",
                 "latent_kl_to_prior_nats", "active_units", "test_elbo_nats", "test_log_px_nats")
HEADLINE_FILE = "latent_stats.json"
VERDICT_FILE = "verdict.json"
INTERVAL_SUFFIXES = ("_ci_low", "_ci_high")
# A value without an interval counts as changed when it moved by more than this fraction of
# its size: the metrics are means of float32 arithmetic, good to about 1e-7 of their size, and
# rerunning the same inputs on other hardware or thread counts moves them that much. Below
# CHANGE_ATOL in absolute value, a difference is rounding whatever the values' size (a
# quantity that is 0 up to rounding has no size to be relative to).
CHANGE_RTOL = 1e-6
CHANGE_ATOL = 1e-12
CODE_PATHS = ("src/", "stages/", "dvc.yaml")  # the code the results come from
MAX_LISTED_FILES = 12


@dataclass(frozen=True)
class Change:
    """One changed value: file, dotted key, value at the commit and now (None: absent), and
    the noise it is measured against (None for a value that appeared, went or is a flag)."""

    path: str
    key: str
    old: float | bool | None
    new: float | bool | None
    noise: float | None = None
    from_interval: bool = False  # noise is half the width of the value's interval

    @property
    def headline(self) -> bool:
        return self.path.endswith(HEADLINE_FILE) and self.key.rsplit(".", 1)[-1] in HEADLINE_KEYS

    @property
    def beyond_noise(self) -> bool:
        """A flag that flipped, a value that appeared or went, or a number that moved by
        more than its noise."""
        if self.noise is None:
            return True
        return abs(float(self.new) - float(self.old)) > self.noise


def numeric_leaves(obj: Mapping[str, Any]) -> dict[str, float | bool]:
    """Numeric and boolean leaves of nested dicts, keyed ``a.b.c`` (strings, lists dropped)."""
    return {key: value for key, value in flatten(dict(obj)).items()
            if isinstance(value, bool)
            or (isinstance(value, (int, float)) and math.isfinite(value))}


def _listed(path: str, key: str) -> bool:
    """Interval bounds and the verdict's criteria are not changes on their own (the verdict's
    leaders are compared in words, :func:`verdict_changes`)."""
    if key.endswith(INTERVAL_SUFFIXES):
        return False
    return not (path.endswith(VERDICT_FILE) and key.startswith("criteria."))


def noise_of(key: str, old: float, new: float,
             now: Mapping[str, float | bool]) -> tuple[float, bool]:
    """The change a value must exceed to count, and whether it comes from an interval.

    Half the width of the value's interval in ``now`` (``<key>_ci_low``, ``<key>_ci_high``)
    where it has one, else :data:`CHANGE_RTOL` of the larger size (at least
    :data:`CHANGE_ATOL`); never less than the latter.
    """
    rounding = max(CHANGE_RTOL * max(abs(old), abs(new)), CHANGE_ATOL)
    low, high = (now.get(key + suffix) for suffix in INTERVAL_SUFFIXES)
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) \
            and not isinstance(low, bool) and not isinstance(high, bool):
        return max((float(high) - float(low)) / 2.0, rounding), True
    return rounding, False


def metrics_diff(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[Change]:
    """Changed leaves per file, in file then key order; a file missing at the commit is None.

    Every value that differs at all, as ``dvc metrics diff`` lists them, each with its noise
    (:func:`noise_of`); interval bounds and the verdict's criteria left out (:func:`_listed`).
    """
    changes = []
    for path in now:
        old, new = numeric_leaves(before.get(path) or {}), numeric_leaves(now[path])
        for key in sorted(k for k in set(old) | set(new) if _listed(path, k)):
            a, b = old.get(key), new.get(key)
            if a is None or b is None or type(a) is bool or type(b) is bool:
                if a != b or type(a) is not type(b):
                    changes.append(Change(path, key, a, b))
            elif float(a) != float(b):  # exact, as dvc metrics diff
                changes.append(Change(path, key, a, b, *noise_of(key, float(a), float(b), new)))
    return changes


# --------------------------------------------------------------------------
# What went in
# --------------------------------------------------------------------------


def param_text(value: Any) -> str:
    """A params value as YAML writes it (``null``, ``true``, ``[16, 16]``, ``0.001``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(param_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def params_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``"`train.vae.beta` 1.0 → 2.0"`` per key whose value differs, in the file's order
    (keys only at the commit last); an absent key shows as "absent"."""
    absent = object()
    keys = list(now) + [k for k in before if k not in now]
    out = []
    for key in keys:
        a, b = before.get(key, absent), now.get(key, absent)
        if a is absent or b is absent or not _same(a, b):
            old = "absent" if a is absent else param_text(a)
            new = "absent" if b is absent else param_text(b)
            out.append(f"`{key}` {old} → {new}")
    return out


def _dataset(source: Mapping[str, Any]) -> str:
    return f"{source.get('name')} (sha256 `{str(source.get('sha256'))[:SHORT_SHA]}…`)"


def data_line(inputs: ChangesInputs, short: str) -> tuple[str, bool]:
    """The data set against the commit's, and whether it (may have) changed."""
    d, now = inputs.data_before, inputs.source
    across = "every metric comparison below is across data sets, not a change of the models"
    if d is not None and d.source is not None:
        if (d.source.get("name"), d.source.get("sha256")) == (now["name"], now["sha256"]):
            return f"data set: unchanged, {_dataset(now)}", False
        return (f"data set: CHANGED, {_dataset(d.source)} at `{short}` → {_dataset(now)} now: "
                f"{across}"), True
    if d is not None and d.same_file is not None:
        if d.same_file:
            return (f"data set: unchanged, {_dataset(now)} (`source.json` has the md5 "
                    f"`dvc.lock` recorded at `{short}`)"), False
        return (f"data set: CHANGED: `source.json` ({_dataset(now)} now) differs from the "
                f"version `dvc.lock` recorded at `{short}`, which the local DVC cache no longer "
                f"holds (its name and checksum are unknown): {across}"), True
    return (f"data set: no record at `{short}` (neither git nor `dvc.lock` holds "
            f"`source.json` there); now {_dataset(now)}"), False


def code_line(changed: tuple[str, ...]) -> str:
    """The files under :data:`CODE_PATHS` that differ from the commit."""
    where = "`src/`, `stages/` and `dvc.yaml`"
    code = [p for p in changed if p.startswith(CODE_PATHS[:2]) or p == CODE_PATHS[2]]
    if not code:
        return f"code: unchanged under {where}"
    shown = ", ".join(f"`{p}`" for p in code[:MAX_LISTED_FILES])
    more = f" and {len(code) - MAX_LISTED_FILES} more" if len(code) > MAX_LISTED_FILES else ""
    return (f"code: {len(code)} file{'s' if len(code) > 1 else ''} under {where} "
            f"differ{'s' if len(code) == 1 else ''} from the commit (uncommitted): {shown}{more}")


def input_lines(inputs: ChangesInputs) -> tuple[list[str], bool]:
    """Params, data set and code against the commit; and whether the data set changed."""
    short = inputs.git.short
    if inputs.params_before is None:
        params = f"params: no `params.yaml` at `{short}` to compare with"
    else:
        diffs = params_changes(inputs.params_before, inputs.params_now)
        params = "params: " + ("; ".join(diffs) if diffs else "unchanged (`params.yaml`)")
    data, data_changed = data_line(inputs, short)
    return [params, data, code_line(inputs.git.changed)], data_changed


# --------------------------------------------------------------------------
# What came out
# --------------------------------------------------------------------------


def _standing(criterion: Any) -> str:
    """"best dae", "tied pca, ae", "only pca ranked" or "none ranked" (a raw verdict entry)."""
    if not isinstance(criterion, Mapping):
        return "absent"
    ranked, leaders = criterion.get("ranked") or [], criterion.get("leaders") or []
    if not ranked:
        return "none ranked"
    if len(ranked) == 1:
        return f"only {ranked[0]} ranked"
    if criterion.get("decided"):
        return f"best {ranked[0]}"
    return "tied " + ", ".join(leaders)


def verdict_changes(before: Any, now: Any) -> list[str]:
    """``"`recon_mse` best dae → tied dae, ae"`` per criterion whose verdict differs."""
    old = before.get("criteria") if isinstance(before, Mapping) else None
    new = now.get("criteria") if isinstance(now, Mapping) else None
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return []
    return [f"`{key}` {_standing(old.get(key))} → {_standing(new.get(key))}"
            for key in list(new) + [k for k in old if k not in new]
            if _standing(old.get(key)) != _standing(new.get(key))]


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


def _noise(change: Change) -> str:
    if change.noise is None:
        return DASH
    return fmt(change.noise, 3) + (" (½ interval)" if change.from_interval else " (relative)")


def change_table(table_id: str, changes: list[Change], short: str, summary: str = "") -> dict:
    """A table block: file, metric, the committed value, the current one, the change, and
    the noise it exceeds."""
    rows = [{"label": c.path, "cells": [{"text": text, "best": False} for text in (
        c.key, _value(c.old), _value(c.new), _delta(c), _noise(c))]} for c in changes]
    block = {"kind": "table", "table": {
        "id": table_id, "row_header": "file",
        "columns": ["metric", f"at {short}", "now", "change", "noise"], "rows": rows}}
    if summary:
        block["summary"] = summary
    return block


def _sci(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


NOISE_RULE = (f"half the width of the value's interval in today's file where it has one, else "
              f"a relative change of {_sci(CHANGE_RTOL)}")


def _values(n: int) -> str:
    return f"{n} value{'s' if n != 1 else ''} differ{'s' if n == 1 else ''}"


def outputs_blocks(inputs: ChangesInputs, data_changed: bool) -> list[dict]:
    """The metrics whose change exceeds their noise, and the verdict's changes."""
    before, now, short = inputs.metrics_before or {}, inputs.metrics_now, inputs.git.short
    files = ", ".join(f"`{p}`" for p in now)
    changes = metrics_diff(before, now)
    beyond = [c for c in changes if c.beyond_noise]
    within = len(changes) - len(beyond)
    text = ("Across two data sets, so no difference here is the models' alone. "
            if data_changed and changes else "")
    text += f"What came out, in the metrics files the report reads ({files}): "
    if not changes:
        text += "no metric value differs."
    elif not beyond:
        text += (f"no change beyond numerical noise ({_values(within)} by less than "
                 f"{'its' if within == 1 else 'their'} noise: {NOISE_RULE}).")
    else:
        n_files = len({c.path for c in beyond})
        headline = [c for c in beyond if c.headline]
        text += (f"{_values(len(beyond))} beyond their noise ({NOISE_RULE}), in {n_files} "
                 f"file{'s' if n_files > 1 else ''}"
                 + (f"; {_values(within)} by less than {'its' if within == 1 else 'their'} "
                    "noise, not listed" if within else "")
                 + (f"; the comparison-table metrics among them (`{HEADLINE_FILE}`):"
                    if headline else "; none of them a comparison-table metric."))
    blocks = [para(text)]
    if beyond:
        if any(c.headline for c in beyond):
            blocks.append(change_table("changes-table", [c for c in beyond if c.headline],
                                       short))
        blocks.append(change_table("changes-all-table", beyond, short,
                                   summary=f"All {len(beyond)} values changed beyond noise"))
    verdict = next((p for p in now if p.endswith(VERDICT_FILE)), None)
    moved = verdict_changes(before.get(verdict), now[verdict]) if verdict else []
    tail = (("The verdict changed (best or tied leaders, `metrics/verdict.json`): "
             + "; ".join(moved) + ". ") if moved else "")
    blocks.append(para(tail + "Interval bounds (`*_ci_low`, `*_ci_high`) and the verdict's "
                       "paired `differences` are not listed on their own. " + TIMINGS_SENTENCE))
    return blocks


def changes_blocks(inputs: ChangesInputs) -> list[dict]:
    """The text's blocks: the inputs against the commit, then the outputs beyond noise."""
    git, before, now = inputs.git, inputs.metrics_before, inputs.metrics_now
    if git.commit is None or before is None:
        return [para(f"Nothing to compare with: {git.reason or 'no commit'}. This lists "
                     "what changed in the inputs and the metrics against the last commit "
                     "(HEAD).")]
    lines, data_changed = input_lines(inputs)
    blocks = [para(f"Against the metrics committed at `{git.short}` (HEAD: the commit these "
                   "results started from, until they are committed). What went in:"),
              bullets(lines)]
    if all(before.get(p) is None for p in now):
        files = ", ".join(f"`{p}`" for p in now)
        return blocks + [para(f"Commit `{git.short}` holds none of the metrics files the "
                              f"report reads ({files}): no earlier results to compare with.")]
    return blocks + outputs_blocks(inputs, data_changed)
