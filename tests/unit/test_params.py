"""params.yaml validation: one line naming the key, the value and the allowed range."""

import copy

import pytest
import yaml

from latentlab import params
from latentlab.params import ParamsError


@pytest.fixture()
def raw(repo_root):
    return yaml.safe_load((repo_root / "params.yaml").read_text())


def _write(tmp_path, raw):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_repository_params_are_valid(repo_root):
    path = repo_root / "params.yaml"
    for section in ("data", "preprocess", "train.ae", "train.dae", "train.vae",
                    "baselines.pca", "baselines.tsne", "latent_stats", "report"):
        params.load(section, path)


def test_model_section_overrides_common(tmp_path, raw):
    raw["train"]["vae"]["latent_dim"] = 3
    path = _write(tmp_path, raw)
    assert params.load("train.vae", path).latent_dim == 3
    assert params.load("train.ae", path).latent_dim == raw["train"]["common"]["latent_dim"]


def test_pca_uses_the_common_latent_dim(tmp_path, raw):
    raw["train"]["common"]["latent_dim"] = 5
    assert params.load("baselines.pca", _write(tmp_path, raw)).n_components == 5


def _set(raw, dotted, value):
    node = raw
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = value


BAD = [
    ("train.common.latent_dim", 0, "train.vae", "integer >= 1"),
    ("train.common.learning_rate", -0.1, "train.vae", "number in (0"),
    ("train.common.epochs", 0, "train.ae", "integer >= 1"),
    ("train.common.hidden_sizes", [], "train.ae", "non-empty list"),
    ("train.common.likelihood", "poisson", "train.vae", "bernoulli, gaussian"),
    ("train.common.batch_size", 1.5, "train.ae", "integer"),
    ("train.dae.noise_level", 1.0, "train.dae", "[0.0, 1.0)"),
    ("train.dae.noise_type", "salt", "train.dae", "masking, gaussian"),
    ("train.vae.beta", -1.0, "train.vae", "[0.0, inf)"),
    ("train.vae.betta", 1.0, "train.vae", "unknown key"),
    ("train.ae.beta", 1.0, "train.ae", "unknown key"),
    ("preprocess.val_fraction", 0.0, "preprocess", "(0.0, 1.0)"),
    ("data.name", "imagenet", "data", "one of digits"),
    ("baselines.tsne.perplexity", 0.5, "baselines.tsne", "[1.0, inf)"),
    ("baselines.tsne.max_iter", 100, "baselines.tsne", ">= 250"),
    ("latent_stats.knn_neighbors", 0, "latent_stats", ">= 1"),
    ("report.n_examples", "ten", "report", ">= 1"),
]


@pytest.mark.parametrize("key,value,section,allowed", BAD, ids=[b[0] for b in BAD])
def test_bad_value_names_key_value_and_range(tmp_path, raw, key, value, section, allowed):
    bad = copy.deepcopy(raw)
    _set(bad, key, value)
    with pytest.raises(ParamsError) as info:
        params.load(section, _write(tmp_path, bad))
    message = str(info.value)
    assert key in message and allowed in message and "\n" not in message


def test_split_fractions_must_leave_a_training_set(tmp_path, raw):
    raw["preprocess"]["val_fraction"], raw["preprocess"]["test_fraction"] = 0.5, 0.5
    with pytest.raises(ParamsError, match="sum < 1"):
        params.load("preprocess", _write(tmp_path, raw))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        params.load("data", tmp_path / "nope.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("data:\n  name: [digits\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.load("data", broken)


def test_hash_and_flat_dict_are_stable(repo_root):
    p = params.load("train.vae", repo_root / "params.yaml")
    assert params.params_hash(p) == params.params_hash(params.load("train.vae",
                                                                   repo_root / "params.yaml"))
    flat = params.as_flat_dict(p, "train.vae")
    assert flat["train.vae.beta"] == p.beta and "train.vae.noise_type" not in flat
