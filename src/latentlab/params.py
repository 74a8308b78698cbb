"""Parse and validate ``params.yaml`` in one place.

Every stage calls :func:`load` for the section it uses and receives a frozen
dataclass; stages never index the raw dict. Each key is checked against one
declarative constraint table (:data:`CONSTRAINTS`), in the style of
scikit-learn's ``_parameter_constraints``: unknown keys (typos), wrong types and
out-of-range values raise :class:`ParamsError` with a one-line message naming
the dotted key, the bad value and what is allowed.

The ``train`` section holds ``train.common`` (the shared defaults) and one
section per model (``train.ae``, ``train.dae``, ``train.vae``) that may override
any common key and adds the model's own keys (the DAE's corruption, the VAE's
β). ``load("train.vae")`` returns the merged view.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from latentlab.errors import ParamsError  # re-exported for callers

DEFAULT_PARAMS_FILE = "params.yaml"

MODELS = ("ae", "dae", "vae")
BASELINES = ("pca", "tsne")
DATASETS = ("digits",)
LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "elu", "tanh", "leaky_relu")
NOISE_TYPES = ("masking", "gaussian")


# --------------------------------------------------------------------------
# Constraint table: dotted key (with ``*`` for "any model") -> checker.
# A checker returns None when the value is fine, else the allowed range as text.
# --------------------------------------------------------------------------


def _int_at_least(low: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        return None if ok else f"an integer >= {low}"

    return check


def _float_in(low: float, high: float, *, low_open: bool = False, high_open: bool = False):
    lo_br, hi_br = ("(" if low_open else "["), (")" if high_open else "]")

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"a number in {lo_br}{low}, {high}{hi_br}"
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        return None if (above and below) else f"a number in {lo_br}{low}, {high}{hi_br}"

    return check


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in options else "one of " + ", ".join(options)

    return check


def _positive_int_list(value: Any) -> str | None:
    ok = (
        isinstance(value, list)
        and len(value) >= 1
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
    )
    return None if ok else "a non-empty list of integers >= 1 (a YAML block list)"


def _learning_rate(value: Any) -> str | None:
    return _float_in(0.0, 10.0, low_open=True)(value)


INF = float("inf")

TRAIN_COMMON = {
    "hidden_sizes": _positive_int_list,
    "latent_dim": _int_at_least(1),
    "activation": _one_of(ACTIVATIONS),
    "likelihood": _one_of(LIKELIHOODS),
    "gaussian_std": _float_in(0.0, INF, low_open=True, high_open=True),
    "epochs": _int_at_least(1),
    "batch_size": _int_at_least(1),
    "learning_rate": _learning_rate,
    "patience": _int_at_least(1),
    "n_prior_samples": _int_at_least(1),
    "num_threads": _int_at_least(1),
    "grad_clip_norm": _float_in(0.0, INF, high_open=True),
}
TRAIN_MODEL_ONLY = {
    "ae": {},
    "dae": {
        "noise_type": _one_of(NOISE_TYPES),
        "noise_level": _float_in(0.0, 1.0, high_open=True),
    },
    "vae": {
        "beta": _float_in(0.0, INF, high_open=True),
        "kl_schedule": _one_of(("constant", "linear", "cyclical")),
        "kl_warmup_epochs": _int_at_least(0),
        "kl_cycles": _int_at_least(1),
        "active_unit_threshold": _float_in(0.0, INF, high_open=True),
        "collapse_min_active_fraction": _float_in(0.0, 1.0),
    },
}

CONSTRAINTS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "data": {"name": _one_of(DATASETS)},
    "preprocess": {
        "val_fraction": _float_in(0.0, 1.0, low_open=True, high_open=True),
        "test_fraction": _float_in(0.0, 1.0, low_open=True, high_open=True),
    },
    "baselines.pca": {"whiten": lambda v: None if isinstance(v, bool) else "true or false"},
    "baselines.tsne": {
        "perplexity": _float_in(1.0, INF, high_open=True),
        "max_iter": _int_at_least(250),
        "early_exaggeration": _float_in(1.0, INF, high_open=True),
        "init": _one_of(("pca", "random")),
        "learning_rate": lambda v: (
            None
            if v == "auto" or (_float_in(0.0, INF, low_open=True, high_open=True)(v) is None)
            else "'auto' or a number > 0"
        ),
    },
    "latent_stats": {
        "knn_neighbors": _int_at_least(1),
        "trustworthiness_neighbors": _int_at_least(1),
        "plot_points": _int_at_least(10),
    },
    "dae_sweep": {
        "noise_type": _one_of(NOISE_TYPES),
        "levels": lambda v: (
            None if isinstance(v, list) and v and all(_float_in(0.0, 1.0, high_open=True)(x)
                                                      is None for x in v)
            else "a non-empty block list of numbers in [0.0, 1.0)"
        ),
    },
    "evaluate": {
        "iwae_samples": _int_at_least(1),
        "interpolation_steps": _int_at_least(2),
        "grid_steps": _int_at_least(2),
        "max_batch_mb": _float_in(1.0, INF, high_open=True),
        "num_threads": _int_at_least(1),
    },
    "report": {"n_examples": _int_at_least(1)},
    "tracking": {"on_failure": _one_of(("fail", "warn"))},
}


# --------------------------------------------------------------------------
# The dataclasses stages receive
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DataParams:
    name: str
    seed: int


@dataclass(frozen=True)
class PreprocessParams:
    val_fraction: float
    test_fraction: float
    seed: int


@dataclass(frozen=True)
class TrainParams:
    """Merged ``train.common`` + ``train.<model>``; model-only keys default to None."""

    model: str
    hidden_sizes: tuple[int, ...]
    latent_dim: int
    activation: str
    likelihood: str
    gaussian_std: float
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    n_prior_samples: int
    num_threads: int
    grad_clip_norm: float
    seed: int
    noise_type: str | None = None
    noise_level: float | None = None
    beta: float | None = None
    kl_schedule: str | None = None
    kl_warmup_epochs: int | None = None
    kl_cycles: int | None = None
    active_unit_threshold: float | None = None
    collapse_min_active_fraction: float | None = None


@dataclass(frozen=True)
class PcaParams:
    n_components: int
    whiten: bool
    seed: int


@dataclass(frozen=True)
class TsneParams:
    perplexity: float
    max_iter: int
    early_exaggeration: float
    init: str
    learning_rate: float | str
    seed: int


@dataclass(frozen=True)
class LatentStatsParams:
    knn_neighbors: int
    trustworthiness_neighbors: int
    plot_points: int
    seed: int


@dataclass(frozen=True)
class DaeSweepParams:
    noise_type: str
    levels: tuple[float, ...]


@dataclass(frozen=True)
class EvaluateParams:
    iwae_samples: int
    interpolation_steps: int
    grid_steps: int
    max_batch_mb: float
    num_threads: int
    seed: int


@dataclass(frozen=True)
class TrackingParams:
    """How a stage treats an unreachable tracking store; read at run time, listed by no stage."""

    on_failure: str = "fail"


@dataclass(frozen=True)
class ReportParams:
    n_examples: int


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def read_params_file(path: str | Path = DEFAULT_PARAMS_FILE) -> dict:
    """Read the YAML file; a missing or malformed file is a ParamsError."""
    import yaml  # local: only stages that parse params pay for it

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found; run from the repository root") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where}; fix the syntax") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return raw


def _section(raw: dict, dotted: str, *, required: bool = True) -> dict:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            if not required:
                return {}
            raise ParamsError(f"{dotted}: missing section in params.yaml; add it")
        node = node[part]
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise ParamsError(f"{dotted}: expected a mapping, got {node!r}")
    return node


def _check(dotted: str, values: dict, table: dict, *, require_all: bool = True) -> None:
    for key, value in values.items():
        if key not in table:
            allowed = ", ".join(sorted(table)) or "no keys"
            raise ParamsError(f"{dotted}.{key}: unknown key (typo?); allowed here: {allowed}")
        problem = table[key](value)
        if problem is not None:
            raise ParamsError(f"{dotted}.{key}: got {value!r}, expected {problem}")
    if require_all:
        missing = sorted(set(table) - set(values))
        if missing:
            raise ParamsError(f"{dotted}.{missing[0]}: missing; add it to params.yaml")


def _seed(raw: dict) -> int:
    seed = raw.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParamsError(f"seed: got {seed!r}, expected an integer >= 0")
    return seed


# Sections built straight from their checked keys (plus the seed, when the dataclass has one).
DIRECT_SECTIONS = {
    "data": DataParams,
    "baselines.tsne": TsneParams,
    "evaluate": EvaluateParams,
    "latent_stats": LatentStatsParams,
    "report": ReportParams,
    "tracking": TrackingParams,
}
TOP_LEVEL = ("seed", "data", "preprocess", "train", "dae_sweep", "baselines", "evaluate",
             "latent_stats", "report", "tracking")
ALL_SECTIONS = ("data", "preprocess", *(f"train.{m}" for m in MODELS), "dae_sweep",
                *(f"baselines.{m}" for m in BASELINES), "evaluate", "latent_stats", "report",
                "tracking")


def check_structure(raw: dict) -> None:
    """Reject misspelt sections (``trian:``, ``train.vea``, ``baselines.umap``)."""
    for name, allowed in (("", TOP_LEVEL), ("train", ("common", *MODELS)),
                          ("baselines", BASELINES)):
        node = raw if not name else raw.get(name)
        if not isinstance(node, dict):
            continue
        for key in node:
            if key not in allowed:
                where = f"{name}.{key}" if name else str(key)
                raise ParamsError(f"{where}: unknown section (typo?); allowed here: "
                                  + ", ".join(allowed))


def load(section: str, path: str | Path = DEFAULT_PARAMS_FILE) -> Any:
    """Return the validated, frozen parameters of one stage.

    Parameters
    ----------
    section : str
        One of :data:`ALL_SECTIONS`.
    path : str or Path
        The params file.

    Raises
    ------
    ParamsError
        With one line naming the dotted key, the value and the allowed range.
    """
    raw = read_params_file(path)
    check_structure(raw)
    return _from_raw(raw, section)


def validate(path: str | Path = DEFAULT_PARAMS_FILE) -> list[str]:
    """Check every section of a params file without running anything; return the sections."""
    raw = read_params_file(path)
    check_structure(raw)
    for section in ALL_SECTIONS:
        _from_raw(raw, section)
    return list(ALL_SECTIONS)


def _from_raw(raw: dict, section: str) -> Any:
    if section.startswith("train."):
        return _load_train(raw, section.split(".", 1)[1])
    if section not in ALL_SECTIONS:
        raise ParamsError(f"{section}: unknown params section")
    values = _section(raw, section, required=section != "tracking")
    _check(section, values, CONSTRAINTS[section], require_all=section != "tracking")
    if section in DIRECT_SECTIONS:
        cls = DIRECT_SECTIONS[section]
        names = {f.name for f in dataclasses.fields(cls)}
        extra = {"seed": _seed(raw)} if "seed" in names else {}
        return cls(**{**values, **extra})
    if section == "preprocess":
        total = values["val_fraction"] + values["test_fraction"]
        if total >= 1.0:
            raise ParamsError("preprocess.val_fraction + preprocess.test_fraction: got "
                              f"{total!r}, expected a sum < 1 (something must be left to train)")
        return PreprocessParams(seed=_seed(raw), **values)
    if section == "baselines.pca":
        common = _section(raw, "train.common")
        _check("train.common", common, TRAIN_COMMON)
        return PcaParams(n_components=common["latent_dim"], seed=_seed(raw), **values)
    # dae_sweep
    return DaeSweepParams(noise_type=values["noise_type"], levels=tuple(values["levels"]))


def load_dae_sweep_member(level: float, path: str | Path = DEFAULT_PARAMS_FILE) -> TrainParams:
    """The DAE of ``train.dae`` with ``dae_sweep.noise_type`` at corruption ``level``.

    Everything else (architecture, epochs, optimiser) is the DAE's, so the
    sweep varies the corruption alone.
    """
    raw = read_params_file(path)
    sweep = _section(raw, "dae_sweep")
    _check("dae_sweep", sweep, CONSTRAINTS["dae_sweep"])
    if level not in sweep["levels"]:
        raise ParamsError(f"dae_sweep.levels: {level!r} is not among {sweep['levels']}; "
                          "run the stage dvc.yaml generates for each level")
    dae = _load_train(raw, "dae")
    return dataclasses.replace(dae, noise_type=sweep["noise_type"], noise_level=level)


def _load_train(raw: dict, model: str) -> TrainParams:
    if model not in MODELS:
        raise ParamsError(f"train.{model}: unknown model; expected one of {', '.join(MODELS)}")
    common = _section(raw, "train.common")
    _check("train.common", common, TRAIN_COMMON)
    own = _section(raw, f"train.{model}", required=False)
    own_table = {**TRAIN_COMMON, **TRAIN_MODEL_ONLY[model]}
    _check(f"train.{model}", own, own_table, require_all=False)
    missing = sorted(set(TRAIN_MODEL_ONLY[model]) - set(own))
    if missing:
        raise ParamsError(f"train.{model}.{missing[0]}: missing; add it to params.yaml")
    merged = {**common, **own}
    merged["hidden_sizes"] = tuple(merged["hidden_sizes"])
    return TrainParams(model=model, seed=_seed(raw), **merged)


def as_flat_dict(params: Any, prefix: str) -> dict[str, Any]:
    """Flatten a params dataclass to dotted keys (``train.vae.beta``) for tracking."""
    out = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if value is None:
            continue
        key = "seed" if field.name == "seed" else f"{prefix}.{field.name}"
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def params_hash(params: Any) -> str:
    """A short, stable hash of a params dataclass (tags runs; never changes with key order)."""
    payload = json.dumps(dataclasses.asdict(params), sort_keys=True, default=list)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    """``python -m latentlab.params validate [params.yaml]``: check the file, run nothing."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "validate" or len(args) > 2:
        print("usage: python -m latentlab.params validate [params.yaml]", file=sys.stderr)
        return 2
    path = args[1] if len(args) == 2 else DEFAULT_PARAMS_FILE
    try:
        sections = validate(path)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{path}: valid ({len(sections)} sections)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
