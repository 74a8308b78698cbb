"""Read ``metrics/verdict.json`` and check it against the comparison table it decides.

The latent_stats stage writes, per criterion of
:data:`~latentlab.report.inputs.CRITERIA`, which methods are ranked (best point
estimate first), the paired bootstrap interval of the top's advantage over each
other ranked method, the leaders (the top and every method whose interval
includes 0), whether the top is best beyond noise (``decided``), and which methods
are left out and why. The report shows that verdict as it is, so
:func:`read_verdict` checks that it holds together and agrees with
``metrics/latent_stats.json``: a missing key, an unknown method or reason, a
ranking out of the table's order, or leaders that the intervals do not give is a
one-line :class:`~latentlab.io.DataFileError` that names the file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from latentlab.io import DataFileError
from latentlab.report.inputs import (
    CRITERIA,
    EXCLUSION_REASONS,
    METHODS,
    REFERENCE,
    Criterion,
    Seeds,
    Verdict,
)
from latentlab.report.inputs_files import LABEL_KEYS, require_keys, read_object

PROTOCOL_KEYS = ("bootstrap_samples", "confidence", "n_test", "seed", "trustworthiness_method")
CRITERION_KEYS = ("better", "top", "ranked", "leaders", "decided", "excluded", "differences")
RERUN = "rerun latent_stats"
PRIOR_MATCH = "latent_kl_to_prior_nats"  # the only criterion a collapsed VAE is left out of


def read_verdict(path: Path, latent_stats: Mapping[str, dict], has_labels: bool,
                 n_test: int) -> Verdict:
    """The verdict per criterion; the accuracies only where the data set has labels.

    Parameters
    ----------
    path : Path
        ``metrics/verdict.json``.
    latent_stats : mapping of method -> dict
        ``metrics/latent_stats.json`` as read (the ranking must follow its values).
    has_labels : bool
        Without labels there are no accuracy criteria (stale ones are dropped).
    n_test : int
        Test images in the splits; the protocol's ``n_test`` must be it.
    """
    obj = read_object(path, ("protocol", "criteria"))
    protocol = obj["protocol"]
    require_keys(protocol, PROTOCOL_KEYS, path, where=" under 'protocol'")
    _check_protocol(protocol, path, n_test)
    expected = tuple(k for k in CRITERIA if has_labels or k not in LABEL_KEYS)
    require_keys(obj["criteria"], expected, path, where=" under 'criteria'")
    criteria = {key: _criterion(obj["criteria"][key], key, latent_stats, path)
                for key in expected}
    return Verdict(protocol=dict(protocol), criteria=criteria)


def _check_protocol(protocol: Mapping[str, Any], path: Path, n_test: int) -> None:
    def integer(key: str) -> bool:
        return isinstance(protocol[key], int) and not isinstance(protocol[key], bool)

    confidence = protocol["confidence"]
    if not (integer("bootstrap_samples") and protocol["bootstrap_samples"] >= 1
            and integer("seed") and integer("n_test")
            and _number(confidence) and 0.0 < confidence < 1.0
            and isinstance(protocol["trustworthiness_method"], str)):
        raise DataFileError(f"{path}: protocol must hold integers bootstrap_samples >= 1, seed "
                            "and n_test, a confidence in (0, 1) and a trustworthiness_method "
                            f"text; {RERUN}")
    if protocol["n_test"] != n_test:
        raise DataFileError(f"{path}: protocol.n_test = {protocol['n_test']} but the test split "
                            f"has {n_test} images; {RERUN}")


def _number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _criterion(obj: Any, key: str, stats: Mapping[str, dict], path: Path) -> Criterion:
    where = f"criteria.{key}"
    require_keys(obj, CRITERION_KEYS, path, where=f" under '{where}'")

    def fail(what: str) -> DataFileError:
        return DataFileError(f"{path}: {where}.{what}; {RERUN}")

    if obj["better"] != CRITERIA[key]:
        raise fail(f"better is {obj['better']!r}, expected {CRITERIA[key]!r}")
    ranked, leaders, excluded = obj["ranked"], obj["leaders"], obj["excluded"]
    for name, methods in (("ranked", ranked), ("leaders", leaders)):
        if not isinstance(methods, list) or len(set(methods)) != len(methods) \
                or any(m not in METHODS for m in methods):
            raise fail(f"{name} must list distinct methods of {', '.join(METHODS)}")
    if not isinstance(excluded, dict) or any(r not in EXCLUSION_REASONS
                                             for r in excluded.values()):
        raise fail(f"excluded must map methods to one of {', '.join(EXCLUSION_REASONS)}")
    if sorted([*ranked, *excluded]) != sorted(METHODS):
        raise fail(f"ranked and excluded together must hold each of {', '.join(METHODS)} "
                   f"once, got ranked {ranked} and excluded {sorted(excluded)}")
    if obj["top"] != (ranked[0] if ranked else None):
        raise fail(f"top is {obj['top']!r} but ranked starts with "
                   f"{ranked[0] if ranked else None!r}")
    for method in METHODS:
        has_value = key in stats[method]
        if has_value == (excluded.get(method) == "no_value"):
            raise fail(f"excluded says {method} {'has no' if has_value else 'has a'} value, "
                       f"but latent_stats.json {'has' if has_value else 'lacks'} {method}.{key}")
    collapsed = [m for m, r in excluded.items() if r == "collapsed"]
    if collapsed not in ([], ["vae"]) or (collapsed and key != PRIOR_MATCH):
        raise fail(f"excluded marks {', '.join(collapsed)} collapsed; only the VAE's match to "
                   f"the prior ({PRIOR_MATCH}) can be")
    flag = stats["vae"].get("posterior_collapse")
    if key == PRIOR_MATCH and flag is not None and bool(flag) != bool(collapsed):
        raise fail(f"excluded {'lacks' if flag else 'has'} vae: collapsed but latent_stats.json "
                   f"has vae.posterior_collapse = {str(bool(flag)).lower()}")
    sign = 1.0 if CRITERIA[key] == "max" else -1.0
    scores = [sign * float(stats[m][key]) for m in ranked]
    if any(a < b and not math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
           for a, b in zip(scores, scores[1:])):
        raise fail("ranked is not in the order of latent_stats.json's values, best first")
    differences = _differences(obj["differences"], ranked, path, where)
    want = ranked[:1] + [m for m in ranked[1:] if differences[m][0] <= 0.0]
    if leaders != want:
        raise fail(f"leaders are {leaders} but the difference intervals give {want}")
    decided = obj["decided"]
    if not isinstance(decided, bool) or (len(ranked) > 1 and decided != (leaders == ranked[:1])):
        raise fail(f"decided is {decided!r} but the leaders are {leaders}")
    return Criterion(key=key, better=CRITERIA[key], ranked=tuple(ranked), leaders=tuple(leaders),
                     decided=decided, excluded=dict(excluded), differences=differences,
                     reference=_reference(obj.get("reference"), key, stats, path, where),
                     seeds=_seeds(obj.get("seeds"), ranked, decided, CRITERIA[key], path, where))


def _seeds(obj: Any, ranked: list[str], decided: bool, better: str, path: Path,
           where: str) -> Seeds | None:
    """Each ranked method's range across training seeds, and whether a decided best holds."""
    if obj is None:
        return None

    def fail(what: str) -> DataFileError:
        return DataFileError(f"{path}: {where}.seeds {what}; {RERUN}")

    ranges = obj.get("ranges") if isinstance(obj, Mapping) else None
    if not isinstance(ranges, Mapping) or sorted(ranges) != sorted(ranked):
        raise fail(f"must give a range for each ranked method ({', '.join(ranked)})")
    out = {}
    for method, pair in ranges.items():
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(_number, pair))
                and pair[0] <= pair[1]):
            raise fail(f"ranges.{method} must be [min, max] numbers, got {pair!r}")
        out[method] = (float(pair[0]), float(pair[1]))
    n_seeds, holds = obj.get("n_seeds"), obj.get("holds")
    if not (isinstance(n_seeds, int) and not isinstance(n_seeds, bool) and n_seeds >= 1):
        raise fail(f"n_seeds must be an integer >= 1, got {n_seeds!r}")
    want = None
    if decided and ranked:
        top, others = ranked[0], ranked[1:]
        want = (all(out[top][0] > out[m][1] for m in others) if better == "max" else
                all(out[top][1] < out[m][0] for m in others))
    if holds != want:
        raise fail(f"holds is {holds!r} but the ranges give {want!r}")
    return Seeds(n_seeds=n_seeds, ranges=out, holds=holds)


def _reference(obj: Any, key: str, stats: Mapping[str, dict], path: Path,
               where: str) -> tuple[float, float] | None:
    """The top's paired interval against the raw pixels, checked against their row."""
    if obj is None:
        return None
    row = stats.get(REFERENCE)

    def fail(what: str) -> DataFileError:
        return DataFileError(f"{path}: {where}.reference {what}; {RERUN}")

    if not isinstance(obj, Mapping) or obj.get("method") != REFERENCE:
        raise fail(f"must be an object with method {REFERENCE!r}")
    if row is None or key not in row or not math.isclose(float(obj.get("value", math.nan)),
                                                         float(row[key]), rel_tol=1e-9):
        raise fail(f"value differs from latent_stats.json's {REFERENCE}.{key}")
    diff = obj.get("top_minus_reference")
    low, high = (diff.get("low"), diff.get("high")) if isinstance(diff, Mapping) else (None, None)
    if not (_number(low) and _number(high) and low <= high):
        raise fail(f"top_minus_reference must hold numbers low <= high, got {diff!r}")
    return float(low), float(high)


def _differences(obj: Any, ranked: list[str], path: Path,
                 where: str) -> dict[str, tuple[float, float]]:
    """``{method: (low, high)}`` for every ranked method but the top."""
    require_keys(obj, tuple(ranked[1:]), path, where=f" under '{where}.differences'")
    extra = sorted(set(obj) - set(ranked[1:]))
    if extra:
        raise DataFileError(f"{path}: {where}.differences holds {', '.join(extra)}, which is "
                            f"not ranked below the top; {RERUN}")
    out = {}
    for method in ranked[1:]:
        require_keys(obj[method], ("low", "high"), path,
                      where=f" under '{where}.differences.{method}'")
        low, high = obj[method]["low"], obj[method]["high"]
        if not (_number(low) and _number(high) and low <= high):
            raise DataFileError(f"{path}: {where}.differences.{method} must be numbers low <= "
                                f"high, got {low!r} and {high!r}; {RERUN}")
        out[method] = (float(low), float(high))
    return out
