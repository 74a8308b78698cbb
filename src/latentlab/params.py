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
DATASETS = ("digits", "mnist", "fashion_mnist", "kmnist", "custom")
BINARIZE = ("none", "static", "dynamic")
AUTO = "auto"
# Per-data-set defaults of the params whose value is ``auto``: 28x28 inputs (784 pixels) need
# wider layers than 8x8 (64); t-SNE on ~10^4 points takes the upper end of van der Maaten &
# Hinton's (2008) perplexity range 5-50; the image sets are binarised dynamically for the
# Bernoulli likelihood (Salakhutdinov & Murray 2008), while digits keeps its 17 grey levels (its
# committed results; the Bernoulli loss is then the relaxation the report names). A
# test-registered image set gets the MNIST values.
_IMAGE_SET_DEFAULTS = {"hidden_sizes": (512, 256), "tsne_perplexity": 50.0, "binarize": "dynamic"}
DATASET_DEFAULTS = {
    "digits": {"hidden_sizes": (128, 64), "tsne_perplexity": 30.0, "binarize": "none"},
    "mnist": _IMAGE_SET_DEFAULTS,
    "fashion_mnist": _IMAGE_SET_DEFAULTS,
    "kmnist": _IMAGE_SET_DEFAULTS,
    "custom": {"hidden_sizes": (512, 256), "tsne_perplexity": 30.0, "binarize": "dynamic"},
}
LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "elu", "tanh", "leaky_relu")
NOISE_TYPES = ("masking", "gaussian")
DEVICES = ("auto", "cpu", "cuda")  # latentlab.train.device.resolve says what auto picks
PRECISIONS = ("fp32", "bf16")  # bf16: autocast of the forward pass (latentlab.train.device)


# --------------------------------------------------------------------------
# Constraint table: dotted key (with ``*`` for "any model") -> checker.
# A checker returns None when the value is fine, else the allowed range as text.
# --------------------------------------------------------------------------


TSNE_EXAGGERATION_ITERS = 250  # scikit-learn's _EXPLORATION_MAX_ITER


def _int_at_least(low: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        return None if ok else f"an integer >= {low}"

    return check


def _cap(low: int) -> Callable[[Any], str | None]:
    """A subsample's size: 0 or null (no cap, every item) or an integer >= ``low``."""
    def check(value: Any) -> str | None:
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool)
                               and (value == 0 or value >= low))
        return None if ok else f"0 or null (every test item) or an integer >= {low}"

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


def _auto_or(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """Accept ``auto`` (the data set's default, :data:`DATASET_DEFAULTS`) or what ``check`` does."""
    def checked(value: Any) -> str | None:
        problem = None if value == AUTO else check(value)
        return None if problem is None else f"'auto' (the data set's default) or {problem}"

    return checked


def _dataset_name(value: Any) -> str | None:
    from latentlab.data.registry import image_set_names  # test-registered sets count too

    names = DATASETS + tuple(n for n in image_set_names() if n not in DATASETS)
    return None if value in names else "one of " + ", ".join(names)


def _optional_url(value: Any) -> str | None:
    ok = value is None or (isinstance(value, str)
                           and value.startswith(("http://", "https://", "file://"))
                           and len(value.split("://", 1)[1]) > 0)
    return None if ok else "null or a base URL (http://, https:// or file://)"


def _optional_text(value: Any) -> str | None:
    ok = value is None or (isinstance(value, str) and value.strip() != "")
    return None if ok else "null or a non-empty path"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "a mapping (checked as its own section)"


def _learning_rate(value: Any) -> str | None:
    return _float_in(0.0, 10.0, low_open=True)(value)


INF = float("inf")
# Keys added after params files were in users' hands: absent means the dataclass default
# (device: auto, precision: fp32, t-SNE threads: 2, 1 000 bootstrap resamples at 95 %), so an
# older params.yaml still validates.
TSNE_THREADS = 2  # baselines.tsne.num_threads when an older params.yaml lacks it
OPTIONAL_KEYS = frozenset({"train.common.device", "train.common.precision", "evaluate.device",
                           "baselines.tsne.num_threads", "latent_stats.bootstrap_samples",
                           "latent_stats.confidence", "train.common.replicates",
                           "evaluate.iwae_max_images", "latent_stats.trustworthiness_max_points",
                           "train.common.min_rel_improvement"})
# The smallest subsample a cap may ask for: below it the standard error is too wide to use.
MIN_SUBSAMPLE = 100

TRAIN_COMMON = {
    "hidden_sizes": _auto_or(_positive_int_list),
    "latent_dim": _int_at_least(1),
    "activation": _one_of(ACTIVATIONS),
    "likelihood": _one_of(LIKELIHOODS),
    "gaussian_std": _float_in(0.0, INF, low_open=True, high_open=True),
    "epochs": _int_at_least(1),
    "batch_size": _int_at_least(1),
    "learning_rate": _learning_rate,
    "patience": _int_at_least(1),
    "min_rel_improvement": _float_in(0.0, 1.0, high_open=True),
    "n_prior_samples": _int_at_least(1),
    "num_threads": _int_at_least(1),
    "grad_clip_norm": _float_in(0.0, INF, high_open=True),
    "device": _one_of(DEVICES),
    "precision": _one_of(PRECISIONS),
    "replicates": _int_at_least(1),
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
    "data": {"name": _dataset_name, "mirror": _optional_url, "local_dir": _optional_text,
             "custom": _mapping},
    "data.custom": {"path": _optional_text, "train_images": _optional_text,
                    "train_labels": _optional_text, "test_images": _optional_text,
                    "test_labels": _optional_text},
    "preprocess": {
        "val_fraction": _float_in(0.0, 1.0, low_open=True, high_open=True),
        "test_fraction": _float_in(0.0, 1.0, low_open=True, high_open=True),
        "max_train": _int_at_least(0),
        "max_val": _int_at_least(0),
        "max_test": _int_at_least(0),
        "binarize": _auto_or(_one_of(BINARIZE)),
        "binarize_threshold": _float_in(0.0, 1.0, low_open=True, high_open=True),
    },
    "baselines.pca": {"whiten": lambda v: None if isinstance(v, bool) else "true or false"},
    "baselines.tsne": {
        "perplexity": _auto_or(_float_in(1.0, INF, high_open=True)),
        "max_iter": lambda v: (None if _int_at_least(TSNE_EXAGGERATION_ITERS + 1)(v) is None else
                               f"an integer >= {TSNE_EXAGGERATION_ITERS + 1} (scikit-learn spends "
                               f"the first {TSNE_EXAGGERATION_ITERS} on early exaggeration and "
                               "computes the objective, the reported KL, only after them)"),
        "max_points": _int_at_least(10),
        "early_exaggeration": _float_in(1.0, INF, high_open=True),
        "init": _one_of(("pca", "random")),
        "num_threads": _int_at_least(1),
        "learning_rate": lambda v: (
            None
            if v == "auto" or (_float_in(0.0, INF, low_open=True, high_open=True)(v) is None)
            else "'auto' or a number > 0"
        ),
    },
    "latent_stats": {
        "knn_neighbors": _int_at_least(1),
        "trustworthiness_neighbors": _int_at_least(1),
        "trustworthiness_max_points": _cap(MIN_SUBSAMPLE),
        "plot_points": _int_at_least(10),
        "bootstrap_samples": _int_at_least(100),
        "confidence": _float_in(0.5, 1.0, high_open=True),
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
        "iwae_max_images": _cap(MIN_SUBSAMPLE),
        "interpolation_steps": _int_at_least(2),
        "grid_steps": _int_at_least(2),
        "max_batch_mb": _float_in(1.0, INF, high_open=True),
        "num_threads": _int_at_least(1),
        "device": _one_of(DEVICES),
    },
    "report": {"n_examples": _int_at_least(1)},
    "tracking": {"on_failure": _one_of(("fail", "warn"))},
}


# --------------------------------------------------------------------------
# The dataclasses stages receive
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomDataParams:
    """``data.custom``: the user's own data set (read when ``data.name`` is ``custom``)."""

    path: str | None
    train_images: str | None
    train_labels: str | None
    test_images: str | None
    test_labels: str | None

    def files(self) -> dict[str, str | None]:
        """The IDX file names of a folder, by role."""
        return {"train_images": self.train_images, "train_labels": self.train_labels,
                "test_images": self.test_images, "test_labels": self.test_labels}


@dataclass(frozen=True)
class DataParams:
    name: str
    mirror: str | None
    local_dir: str | None
    custom: CustomDataParams
    seed: int


@dataclass(frozen=True)
class PreprocessParams:
    val_fraction: float
    test_fraction: float
    max_train: int  # 0: keep the whole split
    max_val: int
    max_test: int
    binarize: str  # none | static | dynamic
    binarize_threshold: float
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
    device: str = "auto"  # auto | cpu | cuda (latentlab.train.device.resolve)
    precision: str = "fp32"  # fp32 | bf16 (autocast of the forward pass)
    replicates: int = 1  # training seeds: seed, then seed + REPLICATE_SEED_STEP * k
    min_rel_improvement: float = 0.0  # early stopping's tolerance (latentlab.train.loop.fit)
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
    max_points: int  # above this many points t-SNE embeds a seeded, stratified subsample
    seed: int
    num_threads: int = TSNE_THREADS  # OpenMP threads of the gradient: the embedding depends on them


@dataclass(frozen=True)
class LatentStatsParams:
    knn_neighbors: int
    trustworthiness_neighbors: int
    plot_points: int
    seed: int
    bootstrap_samples: int = 1000  # resamples of the test items behind every interval
    confidence: float = 0.95  # of every interval, and of the paired intervals the verdict uses
    # trustworthiness scores a seeded subsample of this many test points; 0: every point
    trustworthiness_max_points: int = 2000

    def __post_init__(self):
        object.__setattr__(self, "trustworthiness_max_points",
                           self.trustworthiness_max_points or 0)  # null → 0


@dataclass(frozen=True)
class DaeSweepParams:
    """The DAE corruption sweep: the levels its own stages train, and ``train.dae``'s.

    ``levels`` are the ``dae_sweep@<level>`` stages. ``train_dae_level`` is
    ``train.dae.noise_level`` when ``train.dae`` corrupts the same way
    (``noise_type``): that DAE is the sweep's member at its level, so no stage
    trains it twice (the params refuse a level equal to it). None otherwise.
    """

    noise_type: str
    levels: tuple[float, ...]
    train_dae_level: float | None = None

    @property
    def members(self) -> tuple[tuple[float, str], ...]:
        """``(level, stage that trains it)`` for every level of the sweep, by level."""
        out = [(level, f"dae_sweep@{level}") for level in self.levels]
        if self.train_dae_level is not None:
            out.append((self.train_dae_level, "train@dae"))
        return tuple(sorted(out))

    @property
    def all_levels(self) -> tuple[float, ...]:
        return tuple(level for level, _ in self.members)


@dataclass(frozen=True)
class EvaluateParams:
    iwae_samples: int
    interpolation_steps: int
    grid_steps: int
    max_batch_mb: float
    num_threads: int
    seed: int
    device: str = "auto"
    iwae_max_images: int = 2000  # log p(x) on a seeded subsample of this many test images; 0: all

    def __post_init__(self):
        object.__setattr__(self, "iwae_max_images", self.iwae_max_images or 0)  # null → 0


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


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings to dotted leaf keys.

    Parameters
    ----------
    tree : Any
        A params value: mappings are descended into; anything else (scalars,
        lists) is a leaf.
    prefix : str
        The dotted key of ``tree`` itself (``""`` at the top).

    Returns
    -------
    dict of str to Any
        ``{"train.vae.beta": 1.0, ...}``. An empty mapping has no leaves; a
        non-mapping ``tree`` gives ``{prefix: tree}``.
    """
    if not isinstance(tree, dict):
        return {prefix: tree}
    leaves: dict[str, Any] = {}
    for key, value in tree.items():
        leaves.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


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
        missing = sorted(key for key in set(table) - set(values)
                         if f"{dotted}.{key}" not in OPTIONAL_KEYS)
        if missing:
            raise ParamsError(f"{dotted}.{missing[0]}: missing; add it to params.yaml")


def _seed(raw: dict) -> int:
    seed = raw.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParamsError(f"seed: got {seed!r}, expected an integer >= 0")
    return seed


# Sections built straight from their checked keys (plus the seed, when the dataclass has one).
DIRECT_SECTIONS = {
    "evaluate": EvaluateParams,
    "latent_stats": LatentStatsParams,
    "report": ReportParams,
    "tracking": TrackingParams,
}
TOP_LEVEL = ("seed", "data", "preprocess", "train", "dae_sweep", "baselines", "evaluate",
             "latent_stats", "report", "tracking")
RUN_TIME_SECTIONS = ("tracking",)  # read when a stage runs, listed by no stage: no result
#                                    depends on them (the report leaves them out, see values_text)
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


def check_keys(raw: dict) -> None:
    """Reject a misspelt key anywhere in the file (``preprocess.val_fracton``), values unread.

    Every stage calls this on the whole file, cheaply, so a typo in a section the stage does
    not read is refused as soon as any stage runs, without the stage depending on that
    section in dvc.yaml (its values are checked by the stages that read them).
    """
    tables = dict(CONSTRAINTS)
    tables["train.common"] = TRAIN_COMMON
    tables.update({f"train.{m}": {**TRAIN_COMMON, **TRAIN_MODEL_ONLY[m]} for m in MODELS})
    for dotted, table in tables.items():
        for key in _section(raw, dotted, required=False):
            if key not in table:
                raise ParamsError(f"{dotted}.{key}: unknown key (typo?); allowed here: "
                                  + ", ".join(sorted(table)))


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
    return _from_raw(check_names(path), section)


def check_names(path: str | Path = DEFAULT_PARAMS_FILE) -> dict:
    """Read the file and refuse a misspelt section or key anywhere in it (values unread); the
    raw file. What every stage does first, the ones that read no params too."""
    raw = read_params_file(path)
    check_structure(raw)
    check_keys(raw)
    return raw


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
    if section == "data":
        return _load_data(raw, values)
    if section == "baselines.tsne":
        if values["perplexity"] == AUTO:
            values = {**values, "perplexity": dataset_defaults(_data_name(raw))["tsne_perplexity"]}
        return TsneParams(seed=_seed(raw), **values)
    if section == "preprocess":
        total = values["val_fraction"] + values["test_fraction"]
        if total >= 1.0:
            raise ParamsError("preprocess.val_fraction + preprocess.test_fraction: got "
                              f"{total!r}, expected a sum < 1 (something must be left to train)")
        if values["binarize"] == AUTO:
            values = {**values, "binarize": dataset_defaults(_data_name(raw))["binarize"]}
        return PreprocessParams(seed=_seed(raw), **values)
    if section == "baselines.pca":
        common = _section(raw, "train.common")
        _check("train.common", common, TRAIN_COMMON)
        return PcaParams(n_components=common["latent_dim"], seed=_seed(raw), **values)
    # dae_sweep
    return _load_dae_sweep(raw, values)


def _load_dae_sweep(raw: dict, values: dict) -> DaeSweepParams:
    """The sweep's levels, checked against each other and against ``train.dae``'s level."""
    levels = [float(v) for v in values["levels"]]
    repeated = sorted({v for v in levels if levels.count(v) > 1})
    if repeated:
        raise ParamsError(f"dae_sweep.levels: {repeated[0]!r} is listed twice; list each "
                          "level once")
    dae = _load_train(raw, "dae")
    if dae.noise_type != values["noise_type"]:
        return DaeSweepParams(values["noise_type"], tuple(levels), None)
    if float(dae.noise_level) in levels:
        raise ParamsError(f"dae_sweep.levels: {dae.noise_level!r} is train.dae.noise_level, "
                          "which train@dae trains already and the sweep includes at that level; "
                          "remove it from dae_sweep.levels")
    return DaeSweepParams(values["noise_type"], tuple(levels), float(dae.noise_level))


def dataset_defaults(name: str) -> dict[str, Any]:
    """The values ``auto`` stands for on data set ``name`` (:data:`DATASET_DEFAULTS`)."""
    return DATASET_DEFAULTS.get(name, DATASET_DEFAULTS["mnist"])  # a registered image set


def _data_name(raw: dict) -> str:
    """``data.name``, checked: the per-data-set defaults depend on it."""
    name = _section(raw, "data").get("name")
    problem = _dataset_name(name)
    if problem is not None:
        raise ParamsError(f"data.name: got {name!r}, expected {problem}")
    return name


def _load_data(raw: dict, values: dict) -> DataParams:
    custom = _section(raw, "data.custom")
    _check("data.custom", custom, CONSTRAINTS["data.custom"])
    if values["name"] == "custom" and custom["path"] is None:
        raise ParamsError("data.custom.path: required when data.name is custom; give an .npz "
                          "(x, optional y) or a folder of IDX files")
    if values["mirror"] is not None and values["local_dir"] is not None:
        raise ParamsError("data.mirror and data.local_dir: both set; set one (local_dir reads "
                          "files already here, mirror downloads them)")
    return DataParams(name=values["name"], mirror=values["mirror"], local_dir=values["local_dir"],
                      custom=CustomDataParams(**custom), seed=_seed(raw))


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
    return dataclasses.replace(dae, noise_type=sweep["noise_type"], noise_level=level,
                               replicates=1)  # a sweep member trains at one seed


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
    if merged["hidden_sizes"] == AUTO:
        merged["hidden_sizes"] = dataset_defaults(_data_name(raw))["hidden_sizes"]
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


def values_text(path: str | Path) -> str:
    """The values of ``params.yaml`` that results depend on, as YAML: every section but
    :data:`RUN_TIME_SECTIONS`, in file order, with no comments or layout.

    What the report shows as its params. The report stage lists exactly these sections as
    DVC params, which DVC compares by value, so an edit of a comment or of ``tracking:``
    reruns no stage; showing the file verbatim would need it as a file dep, rerun by any byte.
    """
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    kept = {k: v for k, v in raw.items() if k not in RUN_TIME_SECTIONS}
    return yaml.safe_dump(kept, sort_keys=False, default_flow_style=False, width=100,
                          allow_unicode=True)
