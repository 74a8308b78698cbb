"""How much the comparison moves with the training seed.

The bootstrap intervals of :mod:`latentlab.analysis.latent_stats` say how sure the
numbers of *one* trained model are, given the test images; they say nothing about
training again from another seed. With ``train.common.replicates`` = R > 1 every
model is trained at R seeds (:mod:`latentlab.train.replicates`); here each seed's
codes get the same point estimates as the table (same test images, same kNN, probe,
trustworthiness, recon MSE, KL of the gaussian fit), and the table row of each
model gains their mean, standard deviation, minimum and maximum across seeds.
PCA is deterministic: its range is its value.

The verdict is decided on the first seed's paired bootstrap; :func:`check_verdict`
then says whether a decided best also holds across seeds: the best's worst seed is
better than every other ranked method's best seed. Where it does not, the report says
so rather than crowning a seed.
"""

from __future__ import annotations

import numpy as np

from latentlab.analysis.verdict import CRITERIA

SPREAD_SUFFIXES = ("_seed_mean", "_seed_sd", "_seed_min", "_seed_max")


def seed_values(first: dict, statistics_per_seed: list[dict],
                n_test: int) -> dict[str, list[float]]:
    """Each criterion's point estimate per seed: the first seed's from the table row
    ``first``, then one per replicate (``{criterion: statistic}`` of its codes, each on
    all ``n_test`` rows)."""
    out = {key: [float(first[key])] for key in CRITERIA if key in first}
    rows = np.arange(n_test)
    for statistics in statistics_per_seed:
        for key, statistic in statistics.items():
            if key in out:
                out[key].append(float(statistic(rows)))
    return out


def spread_columns(values: dict[str, list[float]]) -> dict[str, float | int]:
    """``<criterion>_seed_mean``, ``_seed_sd`` (n − 1 in the denominator; 0 for one seed),
    ``_seed_min``, ``_seed_max``, and ``n_seeds``."""
    out: dict[str, float | int] = {}
    for key, per_seed in values.items():
        v = np.asarray(per_seed, dtype=np.float64)
        out.update({f"{key}_seed_mean": float(v.mean()),
                    f"{key}_seed_sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                    f"{key}_seed_min": float(v.min()), f"{key}_seed_max": float(v.max())})
        out["n_seeds"] = int(len(v))
    return out


def seed_range(row: dict, key: str) -> tuple[float, float]:
    """A method's range across seeds on ``key``; its value where it has no seeds."""
    if f"{key}_seed_min" in row:
        return float(row[f"{key}_seed_min"]), float(row[f"{key}_seed_max"])
    return float(row[key]), float(row[key])


def check_verdict(verdict: dict[str, dict], table: dict[str, dict]) -> None:
    """Add ``seeds`` to each criterion: every ranked method's range across seeds and, for
    a decided best, whether it ``holds`` across them (None where nothing is decided)."""
    for key, criterion in verdict.items():
        ranked = criterion["ranked"]
        if not any(f"{key}_seed_min" in table[m] for m in ranked):
            continue  # one seed everywhere: nothing to add
        ranges = {m: list(seed_range(table[m], key)) for m in ranked}
        holds = None
        if criterion["decided"]:
            top, others = ranked[0], ranked[1:]
            if CRITERIA[key] == "max":
                holds = all(ranges[top][0] > ranges[m][1] for m in others)
            else:
                holds = all(ranges[top][1] < ranges[m][0] for m in others)
        criterion["seeds"] = {"n_seeds": max(int(table[m].get("n_seeds", 1)) for m in ranked),
                              "ranges": ranges, "holds": holds}
