"""Check the DAE sweep's verdict and protocol (``metrics/dae_sweep_scores.json``).

:func:`latentlab.analysis.sweep.sweep_scores` writes, per score, every level ranked
by its value (best first), the paired bootstrap interval of the top's advantage over
each other level, the leaders (the top and every level whose interval includes 0) and
whether the top is best beyond noise (``decided``): the same semantics as
:func:`latentlab.analysis.verdict.decide`. The report shows that verdict as it is, so
:func:`check_sweep_verdict` checks that it holds together and follows the levels'
values; a violation is a one-line :class:`~latentlab.io.DataFileError` naming the
file. :func:`~latentlab.report.inputs_files.read_dae_sweep` reads the file and calls
these; this module imports nothing of the report, so either can use it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from latentlab.io import DataFileError

SWEEP_BETTER = {"recon_mse": "min", "knn_accuracy": "max", "probe_accuracy": "max"}
VERDICT_KEYS = ("better", "top", "ranked", "leaders", "decided", "differences")
PROTOCOL_KEYS = ("bootstrap_samples", "confidence", "seed", "n_test")
RERUN = "rerun latent_stats"


def _number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _require(obj: Any, keys: tuple[str, ...], path: Path, where: str) -> None:
    if not isinstance(obj, dict):
        raise DataFileError(f"{path}: expected a JSON object under '{where}'; {RERUN}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise DataFileError(f"{path}: lacks key(s) {', '.join(missing)} under '{where}'; {RERUN}")


def check_sweep_verdict(obj: Any, score: str, values: Mapping[str, float], path: Path) -> dict:
    """One score's verdict, checked as :func:`~latentlab.analysis.verdict.decide` makes it.

    Parameters
    ----------
    obj : the file's ``verdict.<score>``
    score : ``recon_mse``, ``knn_accuracy`` or ``probe_accuracy``
    values : {level key: the level's value of ``score``}, every level of the file

    Returns
    -------
    ``{"better", "top", "ranked", "leaders", "decided", "differences"}``, levels by their
    key; ``ranked`` and ``leaders`` tuples, ``differences[key] = (low, high)``.
    """
    where = f"verdict.{score}"
    _require(obj, VERDICT_KEYS, path, where)

    def fail(what: str) -> DataFileError:
        return DataFileError(f"{path}: {where}.{what}; {RERUN}")

    better = SWEEP_BETTER[score]
    if obj["better"] != better:
        raise fail(f"better is {obj['better']!r}, expected {better!r}")
    ranked, leaders = obj["ranked"], obj["leaders"]
    for name, keys in (("ranked", ranked), ("leaders", leaders)):
        if not isinstance(keys, list) or len(set(keys)) != len(keys) \
                or any(k not in values for k in keys):
            raise fail(f"{name} must list distinct levels of the file, got {keys!r}")
    if sorted(ranked) != sorted(values):
        raise fail(f"ranked must hold every level once, got {ranked}")
    if obj["top"] != ranked[0]:
        raise fail(f"top is {obj['top']!r} but ranked starts with {ranked[0]!r}")
    sign = 1.0 if better == "max" else -1.0
    signed = [sign * values[k] for k in ranked]
    if any(a < b and not math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
           for a, b in zip(signed, signed[1:])):
        raise fail(f"ranked {ranked} is not in the order of the levels' {score}, best first")
    differences = _differences(obj["differences"], ranked, fail)
    want = ranked[:1] + [k for k in ranked[1:] if differences[k][0] <= 0.0]
    if leaders != want:
        raise fail(f"leaders are {leaders} but the difference intervals give {want}")
    decided = obj["decided"]
    if not isinstance(decided, bool) or decided != (len(ranked) > 1 and leaders == ranked[:1]):
        raise fail(f"decided is {decided!r} but the leaders are {leaders} of {len(ranked)} "
                   "levels")
    return {"better": better, "top": ranked[0], "ranked": tuple(ranked),
            "leaders": tuple(leaders), "decided": decided, "differences": differences}


def _differences(found: Any, ranked: list[str], fail) -> dict[str, tuple[float, float]]:
    """``{level key: (low, high)}`` for every level but the top, each low <= high."""
    if not isinstance(found, dict) or sorted(found) != sorted(ranked[1:]):
        raise fail(f"differences must hold every level but the top, {ranked[1:]}")
    out = {}
    for key in ranked[1:]:
        pair = found[key]
        low, high = (pair.get("low"), pair.get("high")) if isinstance(pair, dict) else (None,
                                                                                        None)
        if not (_number(low) and _number(high)) or low > high:
            raise fail(f"differences.{key} must be {{low, high}} with low <= high, got {pair!r}")
        out[key] = (float(low), float(high))
    return out


def check_sweep_protocol(protocol: Any, path: Path) -> dict:
    """How the sweep's intervals were made: integers and a confidence in (0, 1)."""
    _require(protocol, PROTOCOL_KEYS, path, "protocol")

    def integer(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not (integer(protocol["bootstrap_samples"]) and protocol["bootstrap_samples"] >= 1
            and integer(protocol["seed"]) and integer(protocol["n_test"])
            and _number(protocol["confidence"]) and 0.0 < protocol["confidence"] < 1.0):
        raise DataFileError(f"{path}: protocol must hold integers bootstrap_samples >= 1, seed "
                            f"and n_test and a confidence in (0, 1); {RERUN}")
    return dict(protocol)
