"""The verdict's words: intervals, who is best, tied or not ranked, and pairwise claims.

Design rule 13: a comparison claims only what its evidence carries. Every ranked
number of the comparison table comes with its bootstrap interval
(:func:`with_interval`); a method is called *best* only where
``metrics/verdict.json`` decided it (the paired interval of its difference to every
other ranked method excludes 0), the leaders of an undecided criterion are *tied*
and marked alike (:data:`TIED`), and a method left out of the ranking carries the
mark of its reason (:data:`MARKS`). :func:`verdict_sentence` says one criterion's
verdict, :func:`leaders_words` the same in a few words (the report's opening verdict);
:func:`pair_relation` says how two methods compare, beyond noise only where
the verdict holds the paired interval of that pair. Every section that compares
methods on a criterion of :data:`~latentlab.report.inputs.CRITERIA` uses these, so
no sentence ranks by point estimate alone.
"""

from __future__ import annotations

from typing import Mapping

from latentlab.report.inputs import REFERENCE, Criterion, Verdict
from latentlab.report.words import DASH, compare_words, fmt, section_ref

TIED = "≈"  # after every leader of a criterion the intervals cannot decide
MARKS = {"transductive": "†", "collapsed": "‡"}  # a method with no value shows "—" instead


def confidence_words(verdict: Verdict) -> str:
    """``"95%"``: the intervals' confidence level."""
    return f"{100.0 * float(verdict.protocol['confidence']):g}%"


def like(value: float, shown: str, digits: int = 4) -> str:
    """``value`` with as many decimals as ``shown`` (a number printed by :func:`fmt`);
    by :func:`fmt` itself where ``shown`` is in scientific notation or exactly 0."""
    if "e" in shown or shown == "0":
        return fmt(value, digits)
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return f"{float(value):.{decimals}f}"


def interval_text(low: float, high: float, digits: int = 3, sep: str = " to ") -> str:
    """Both ends of an interval at one precision: ``digits`` significant digits of the
    larger in magnitude (``"-0.0110 to 0.0110"``)."""
    shown = fmt(max(abs(low), abs(high)), digits)
    return f"{like(low, shown, digits)}{sep}{like(high, shown, digits)}"


def with_interval(row: Mapping[str, float], key: str, digits: int = 4) -> str:
    """``"0.9480 (0.9250–0.9690)"``: the value and its interval at the value's precision."""
    shown = fmt(row[key], digits)
    low, high = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
    return f"{shown} ({like(low, shown, digits)}–{like(high, shown, digits)})"


def cell_text(c: Criterion, method: str, row: Mapping[str, float],
              digits: int = 4) -> tuple[str, bool]:
    """A table cell for ``method`` on criterion ``c``: (text, in bold).

    Bold only for the decided best; a tied leader ends in :data:`TIED`, a method left
    out of the ranking in its reason's mark (:data:`MARKS`); no value: "—".
    """
    if c.key not in row:
        return DASH, False
    text = with_interval(row, c.key, digits)
    if method == c.best:
        return text, True
    if method in c.tied:
        text += f" {TIED}"
    if c.excluded.get(method) in MARKS:
        text += f" {MARKS[c.excluded[method]]}"
    return text, False


def difference_label(c: Criterion, method: str) -> str:
    """The difference ``differences[method]`` holds, signed so positive favours the top:
    ``"ae − pca"`` (higher is better) or ``"pca − ae"`` (lower is better)."""
    return f"{c.top} − {method}" if c.better == "max" else f"{method} − {c.top}"


def difference_text(c: Criterion, method: str) -> str:
    """``"ae − pca: -0.0110 to 0.0110"``."""
    return f"{difference_label(c, method)}: {interval_text(*c.differences[method])}"


def and_list(names: list[str] | tuple[str, ...]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def reason_words(reason: str) -> str:
    """Why a method is not ranked, in words."""
    return {
        "transductive": f"transductive: train and test embedded jointly, {section_ref('tsne')}",
        "collapsed": ("flagged: its posterior collapsed, so its codes match the prior "
                      f"trivially, carrying no information (`posterior_collapse`, "
                      f"{section_ref('vae')})"),
        "no_value": "no value",
    }[reason]


def verdict_sentence(verdict: Verdict, key: str, name: str) -> str:
    """One criterion's verdict: best beyond noise, or tied for best, then the rest, then
    the methods not ranked and why."""
    c, conf = verdict.criteria[key], confidence_words(verdict)
    text = f"{name} (`{key}`): "
    others = [m for m in c.ranked[1:] if m not in c.leaders]
    if not c.ranked:
        text += "no method is ranked"
    elif len(c.ranked) == 1:
        text += f"only {c.top} is ranked, so none is called best"
    elif c.decided:
        diffs = "; ".join(difference_text(c, m) for m in c.ranked[1:])
        text += (f"best {c.top}, beyond noise (every paired {conf} interval of its difference "
                 f"excludes 0: {diffs}); then, by point estimate, {', '.join(c.ranked[1:])}")
    else:
        diffs = "; ".join(difference_text(c, m) for m in c.leaders[1:])
        each = "each includes" if len(c.leaders) > 2 else "includes"
        text += (f"{and_list(c.leaders)} tied for best (paired {conf} interval"
                 f"{'s' if len(c.leaders) > 2 else ''} of {diffs}; {each} 0)")
        if others:
            behind = "; ".join(difference_text(c, m) for m in others)
            text += (f"; then, by point estimate, {', '.join(others)}, "
                     f"{'each ' if len(others) > 1 else ''}behind {c.top} beyond noise "
                     f"({behind})")
    if c.excluded:
        text += ". Not ranked: " + ", ".join(f"{m} ({reason_words(r)})"
                                            for m, r in c.excluded.items())
    return text + "."


def seed_words(c: Criterion) -> str:
    """Whether a decided best holds across the training seeds, in a few words ("" where
    there is one seed or nothing decided)."""
    if c.seeds is None or c.seeds.holds is None:
        return ""
    if c.seeds.holds:
        return (f"and across the {c.seeds.n_seeds} training seeds too (its worst seed "
                "beats every other ranked method's best)")
    return (f"on the first training seed only: across {c.seeds.n_seeds} seeds its range "
            f"overlaps {and_list(seed_overlaps(c))}'s")


def seed_overlaps(c: Criterion) -> list[str]:
    """The ranked methods whose range across seeds reaches the top's (best seed vs worst)."""
    if c.seeds is None or c.top is None:
        return []
    low, high = c.seeds.ranges[c.top]
    if c.better == "max":
        return [m for m in c.ranked[1:] if c.seeds.ranges[m][1] >= low]
    return [m for m in c.ranked[1:] if c.seeds.ranges[m][0] <= high]


def reference_words(c: Criterion, stats: Mapping[str, dict]) -> str:
    """How the criterion's top method stands against the raw pixels (the reference row),
    on the paired interval of their difference; "" where the pixels have no such number.

    The pixels are not a method and are never ranked, but a code that classifies no
    better than the input it compresses is worth knowing: the sentence says whether the
    top is above, within noise of, or below them.
    """
    if c.reference is None or c.top is None or REFERENCE not in stats \
            or c.key not in stats[REFERENCE]:
        return ""
    low, high = c.reference
    who = c.top if c.decided or len(c.ranked) == 1 else \
        f"even the top by point estimate, {c.top},"
    if low > 0.0:
        where = "better than the raw pixels beyond noise"
    elif high < 0.0:
        where = ("worse than the raw pixels beyond noise: no code here beats the input it "
                 "compresses")
    else:
        where = "within noise of the raw pixels"
    return (f"the raw pixels (`{REFERENCE}`, a reference, not ranked) reach "
            f"{with_interval(stats[REFERENCE], c.key)}, and {who} is {where} "
            f"({c.top} − pixels: {interval_text(low, high)}, paired)")


def leaders_words(verdict: Verdict, key: str, stats: Mapping[str, dict]) -> str:
    """One criterion's verdict in short: the best with its value and interval, or the tied
    leaders with theirs, then who trails them beyond noise (no difference intervals: the
    reader is told elsewhere what "best" and "tied" rest on)."""
    c = verdict.criteria[key]

    def shown(m: str) -> str:
        return f"{m} {with_interval(stats[m], key)}"

    if not c.ranked:
        return "no method is ranked"
    if len(c.ranked) == 1:
        return f"only {shown(c.top)} is ranked, so none is called best"
    if c.decided:
        seeds = seed_words(c)
        return f"best {shown(c.top)}, beyond noise" + (f", {seeds}" if seeds else "")
    others = [m for m in c.ranked if m not in c.leaders]
    text = f"{and_list([shown(m) for m in c.leaders])} tied for best"
    if not others:
        return text + ": the data cannot decide between them"
    return text + f"; behind them beyond noise: {', '.join(others)}"


def pair_relation(verdict: Verdict, key: str, stats: Mapping[str, dict], a: str,
                  b: str) -> tuple[str, str]:
    """How ``a`` compares with ``b`` on ``key``: (relation, evidence).

    The relation is "higher than", "lower than", "equal to" or "tied with"; the
    evidence says why: beyond or within noise where one of the two is the criterion's
    top (the verdict holds their paired interval), else "by point estimate only".
    """
    c, conf = verdict.criteria[key], confidence_words(verdict)
    va, vb = float(stats[a][key]), float(stats[b][key])
    for m in (a, b):
        if m not in c.ranked:
            return (compare_words(va, vb),
                    f"by point estimate only: {m} is not ranked ({reason_words(c.excluded[m])})")
    if c.top not in (a, b):
        both = (f", and has both tied with {c.top} for best"
                if a in c.leaders and b in c.leaders else "")
        return (compare_words(va, vb),
                f"by point estimate only: the verdict tests each method against the top, "
                f"{c.top}, not {a} against {b}{both}, {section_ref('comparison')}")
    other = b if a == c.top else a
    low, high = c.differences[other]
    interval = (f"the paired {conf} interval of {difference_label(c, other)} is "
                f"{interval_text(low, high)}")
    if low > 0.0:
        a_wins = a == c.top
        word = "higher than" if (c.better == "max") == a_wins else "lower than"
        return word, f"beyond noise: {interval}, excluding 0"
    return "tied with", f"within noise: {interval}, including 0"
