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
    ("data.name", "imagenet", "data", "one of digits, mnist, fashion_mnist, kmnist, custom"),
    ("data.mirror", "ftp.example.org/mnist", "data", "null or a base URL (http://"),
    ("data.local_dir", "", "data", "null or a non-empty path"),
    ("data.custom", "my.npz", "data", "a mapping"),
    ("data.custom.path", 3, "data", "null or a non-empty path"),
    ("data.custom.x_key", "x", "data", "unknown key"),
    ("preprocess.binarize", "dither", "preprocess", "'auto' (the data set's default) or one of "
                                                    "none, static, dynamic"),
    ("preprocess.binarize_threshold", 1.0, "preprocess", "(0.0, 1.0)"),
    ("preprocess.max_train", -1, "preprocess", "integer >= 0"),
    ("preprocess.max_test", 2.5, "preprocess", "integer >= 0"),
    ("train.common.hidden_sizes", "wide", "train.ae", "'auto' (the data set's default) or"),
    ("baselines.tsne.perplexity", "big", "baselines.tsne", "'auto' (the data set's default)"),
    ("baselines.tsne.max_points", 5, "baselines.tsne", ">= 10"),
    ("baselines.tsne.perplexity", 0.5, "baselines.tsne", "[1.0, inf)"),
    ("baselines.tsne.max_iter", 100, "baselines.tsne", ">= 251"),
    ("baselines.tsne.max_iter", 250, "baselines.tsne", "early exaggeration"),
    ("baselines.tsne.num_threads", 0, "baselines.tsne", ">= 1"),
    ("latent_stats.knn_neighbors", 0, "latent_stats", ">= 1"),
    ("report.n_examples", "ten", "report", ">= 1"),
    ("train.common.device", "gpu", "train.vae", "auto, cpu, cuda"),
    ("train.vae.precision", "fp16", "train.vae", "fp32, bf16"),
    ("evaluate.device", "tpu", "evaluate", "auto, cpu, cuda"),
    ("evaluate.iwae_max_images", 50, "evaluate", "0 or null (every test item) or an integer >= "),
    ("evaluate.iwae_max_images", -1, "evaluate", "0 or null"),
    ("evaluate.iwae_max_images", "all", "evaluate", "0 or null"),
    ("latent_stats.trustworthiness_max_points", 99, "latent_stats", "an integer >= 100"),
    ("latent_stats.trustworthiness_max_points", 2.5, "latent_stats", "0 or null"),
    ("latent_stats.trustworthiness_max_points", True, "latent_stats", "0 or null"),
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


@pytest.mark.parametrize("name,hidden,perplexity,binarize", [
    ("digits", (128, 64), 30.0, "none"),
    ("mnist", (512, 256), 50.0, "dynamic"),
    ("fashion_mnist", (512, 256), 50.0, "dynamic"),
    ("kmnist", (512, 256), 50.0, "dynamic"),
])
def test_auto_takes_the_data_sets_default(tmp_path, raw, name, hidden, perplexity, binarize):
    raw["data"]["name"] = name
    raw["train"]["common"]["hidden_sizes"] = "auto"
    raw["baselines"]["tsne"]["perplexity"] = "auto"
    raw["preprocess"]["binarize"] = "auto"
    path = _write(tmp_path, raw)
    assert params.load("train.vae", path).hidden_sizes == hidden
    assert params.load("baselines.tsne", path).perplexity == perplexity
    assert params.load("preprocess", path).binarize == binarize


def test_explicit_values_override_the_data_sets_defaults(tmp_path, raw):
    raw["data"]["name"] = "mnist"
    raw["train"]["common"]["hidden_sizes"] = [300]
    raw["train"]["vae"]["hidden_sizes"] = [400, 20]
    raw["baselines"]["tsne"]["perplexity"] = 12.5
    raw["preprocess"]["binarize"] = "static"
    path = _write(tmp_path, raw)
    assert params.load("train.ae", path).hidden_sizes == (300,)
    assert params.load("train.vae", path).hidden_sizes == (400, 20)
    assert params.load("baselines.tsne", path).perplexity == 12.5
    assert params.load("preprocess", path).binarize == "static"


def test_the_repository_default_keeps_the_digits_pipeline_as_it_was(repo_root):
    path = repo_root / "params.yaml"
    assert params.load("data", path).name == "digits"
    assert params.load("train.vae", path).hidden_sizes == (128, 64)
    assert params.load("baselines.tsne", path).perplexity == 30.0
    assert params.load("preprocess", path).binarize == "none"


def test_custom_needs_a_path_and_mirror_excludes_local_dir(tmp_path, raw):
    raw["data"]["name"] = "custom"
    with pytest.raises(ParamsError, match=r"^data.custom.path: required when data.name is custom"):
        params.load("data", _write(tmp_path, raw))
    raw["data"]["custom"]["path"] = "mine.npz"
    assert params.load("data", _write(tmp_path, raw)).custom.path == "mine.npz"
    raw["data"].update(name="mnist", mirror="http://127.0.0.1:8000/", local_dir="/data/mnist")
    with pytest.raises(ParamsError, match=r"^data.mirror and data.local_dir: both set"):
        params.load("data", _write(tmp_path, raw))


def test_a_registered_image_set_is_a_valid_name(tmp_path, raw):
    from latentlab.data import registry

    spec = registry.ImageSet(name="tiny", folder="Tiny", mirrors=(), resources=(("a", "0"),
                            ("b", "0")), train=("a", "b"), test=("a", "b"), classes=())
    registry.register_image_set(spec)
    try:
        raw["data"]["name"] = "tiny"
        raw["train"]["common"]["hidden_sizes"] = "auto"
        path = _write(tmp_path, raw)
        assert params.load("data", path).name == "tiny"
        assert params.load("train.ae", path).hidden_sizes == (512, 256)  # the MNIST defaults
    finally:
        registry.unregister_image_set("tiny")


def test_device_and_precision_may_be_absent_from_an_older_params_file(tmp_path, raw):
    for key in ("device", "precision"):
        raw["train"]["common"].pop(key)
    raw["evaluate"].pop("device")
    path = _write(tmp_path, raw)
    vae = params.load("train.vae", path)
    assert (vae.device, vae.precision) == ("auto", "fp32")
    assert params.load("evaluate", path).device == "auto"


def test_tsne_threads_may_be_absent_from_an_older_params_file_but_other_keys_may_not(tmp_path,
                                                                                    raw):
    raw["baselines"]["tsne"].pop("num_threads")
    assert params.load("baselines.tsne", _write(tmp_path, raw)).num_threads == 2
    raw["baselines"]["tsne"].pop("max_iter")
    with pytest.raises(params.ParamsError, match="baselines.tsne.max_iter: missing"):
        params.load("baselines.tsne", _write(tmp_path, raw))
    raw["evaluate"].pop("num_threads")  # only the listed keys are optional, not every num_threads
    with pytest.raises(params.ParamsError, match="evaluate.num_threads: missing"):
        params.load("evaluate", _write(tmp_path, raw))


def test_a_model_may_use_its_own_device_and_precision(tmp_path, raw):
    raw["train"]["vae"].update({"device": "cpu", "precision": "bf16"})
    path = _write(tmp_path, raw)
    assert (params.load("train.vae", path).precision, params.load("train.ae", path).precision) \
        == ("bf16", "fp32")


def test_every_stage_refuses_a_typo_anywhere_in_the_file_not_only_in_its_own_section(tmp_path):
    """A typo in `preprocess` used to pass every stage but preprocess (issue 17, item 3)."""
    import yaml

    from latentlab import params as p

    raw = yaml.safe_load(open(p.DEFAULT_PARAMS_FILE))
    raw["preprocess"]["val_fracton"] = 0.3
    raw["train"]["vae"]["betta"] = 2.0
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    for section in ("train.ae", "latent_stats", "report", "evaluate", "baselines.pca"):
        with pytest.raises(p.ParamsError, match=r"^preprocess.val_fracton: unknown key"):
            p.load(section, path)
    del raw["preprocess"]["val_fracton"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(p.ParamsError, match=r"^train.vae.betta: unknown key"):
        p.load("report", path)


@pytest.mark.parametrize("value,expected", [(None, 0), (0, 0), (100, 100), (5000, 5000)])
def test_subsample_caps_accept_null_zero_and_sizes(tmp_path, raw, value, expected):
    raw["evaluate"]["iwae_max_images"] = value
    raw["latent_stats"]["trustworthiness_max_points"] = value
    path = _write(tmp_path, raw)
    assert params.load("evaluate", path).iwae_max_images == expected
    assert params.load("latent_stats", path).trustworthiness_max_points == expected


def test_the_default_caps_keep_every_digits_test_image(repo_root):
    # digits has 269 test images (preprocess.test_fraction 0.15 of 1 797): below both caps
    path = repo_root / "params.yaml"
    assert params.load("evaluate", path).iwae_max_images >= 269
    assert params.load("latent_stats", path).trustworthiness_max_points >= 269
