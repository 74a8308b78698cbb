"""The report: built from a complete set of synthetic stage outputs written to tmp_path."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from latentlab import io
from latentlab.io import DataFileError
from latentlab.cli import run_stage
from latentlab.report import build, text
from latentlab.report.build import ReportPaths, build_report, fmt, load_inputs

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHODS = ("pca", "tsne", "ae", "dae", "vae")
MODELS = ("ae", "dae", "vae")
N_TRAIN, N_VAL, N_TEST, SHAPE, LATENT_DIM, N_EPOCHS, N_PRIOR = 60, 20, 30, (8, 8), 4, 12, 9
D = SHAPE[0] * SHAPE[1]
N_EXAMPLES = 6

# A different method wins each ranked column, so a highlight on the wrong row is caught.
STATS = {
    "pca": {"knn_accuracy": 0.80, "trustworthiness": 0.90, "recon_mse": 0.030,
            "latent_kl_to_prior_nats": 12.0, "latent_mean_abs": 0.01, "latent_var_mean": 3.2},
    "tsne": {"knn_accuracy": 0.95, "trustworthiness": 0.94,
             "latent_kl_to_prior_nats": 900.0, "latent_mean_abs": 4.0, "latent_var_mean": 250.0},
    "ae": {"knn_accuracy": 0.90, "trustworthiness": 0.96, "recon_mse": 0.012,
           "latent_kl_to_prior_nats": 45.0, "latent_mean_abs": 1.5, "latent_var_mean": 9.0},
    "dae": {"knn_accuracy": 0.91, "trustworthiness": 0.95, "recon_mse": 0.010,
            "latent_kl_to_prior_nats": 40.0, "latent_mean_abs": 1.2, "latent_var_mean": 7.5},
    "vae": {"knn_accuracy": 0.88, "trustworthiness": 0.93, "recon_mse": 0.020,
            "latent_kl_to_prior_nats": 0.8, "latent_mean_abs": 0.05, "latent_var_mean": 0.9},
}
BEST = {"kNN accuracy": ("max", "knn_accuracy"), "trustworthiness": ("max", "trustworthiness"),
        "recon MSE": ("min", "recon_mse"), "KL(fit": ("min", "latent_kl_to_prior_nats")}
PARAMS_YAML = "seed: 0\nreport:\n  n_examples: 6\n"


# --------------------------------------------------------------------------
# Synthetic inputs, exactly as the other stages write them
# --------------------------------------------------------------------------


def _curve_rows(model: str, rng: np.random.Generator) -> tuple[list[str], list[list]]:
    epoch = np.arange(1, N_EPOCHS + 1)
    recon = 40.0 / np.sqrt(epoch) + 10.0
    if model != "vae":
        return (["epoch", "train_loss", "train_recon", "val_loss", "val_recon"],
                [[int(e), r, r, r + 1.0, r + 1.0] for e, r in zip(epoch, recon)])
    kl = 2.0 + np.log(epoch)
    header = ["epoch", "train_loss", "train_recon", "train_kl", "train_elbo",
              "val_loss", "val_recon", "val_kl", "val_elbo"]
    return header, [[int(e), r + k, r, k, -(r + k), r + k + 1.0, r + 1.0, k, -(r + k + 1.0)]
                    for e, r, k in zip(epoch, recon, kl)]


def _write_codes(root: Path, rng: np.random.Generator) -> None:
    def z(n: int) -> np.ndarray:
        return rng.normal(size=(n, LATENT_DIM)).astype(np.float32)

    def images(n: int) -> np.ndarray:
        return rng.uniform(size=(n, D)).astype(np.float32)

    for model in MODELS:
        extra = ({f"logvar_{s}": z(n) for s, n in (("train", N_TRAIN), ("val", N_VAL),
                                                     ("test", N_TEST))} if model == "vae" else {})
        io.atomic_write_npz(root / f"outputs/train/{model}/codes.npz", z_train=z(N_TRAIN),
                            z_val=z(N_VAL), z_test=z(N_TEST), recon_test=images(N_TEST),
                            prior_samples=images(N_PRIOR), **extra)
    io.atomic_write_npz(root / "outputs/baseline/pca/codes.npz", z_train=z(N_TRAIN), z_val=z(N_VAL),
                        z_test=z(N_TEST), recon_test=images(N_TEST) * 1.1 - 0.05,
                        explained_variance_ratio=np.array([0.3, 0.2, 0.1, 0.05]))
    io.atomic_write_npz(root / "outputs/baseline/tsne/codes.npz",
                        z_train=rng.normal(size=(N_TRAIN, 2)) * 20,
                        z_test=rng.normal(size=(N_TEST, 2)) * 20)


def _write_metrics(root: Path, stats: dict, likelihood: str) -> None:
    for model in MODELS:
        test = {"recon": 20.0 + MODELS.index(model), "bits_per_dim": 0.45}
        if model == "vae":
            test = {"recon": 25.0, "kl": 8.0, "elbo": -33.0, "bits_per_dim": 0.744}
        io.atomic_write_json(root / f"metrics/train/{model}.json", {
            "train": dict(test), "val": dict(test), "test": test, "best_epoch": 10,
            "epochs_run": N_EPOCHS, "stopped_early": True, "likelihood": likelihood})
    io.atomic_write_json(root / "metrics/baseline/pca.json",
                         {"explained_variance_ratio_sum": 0.65, "n_components": LATENT_DIM})
    io.atomic_write_json(root / "metrics/baseline/tsne.json",
                         {"kl_divergence": 0.91, "n_iter": 1000, "embedded": "train+test jointly"})
    table = {m: {**stats[m], "latent_dim": 2 if m == "tsne" else LATENT_DIM} for m in METHODS}
    table["vae"].update(test_recon_nats=25.0, test_kl_nats=8.0, test_elbo_nats=-33.0,
                        test_bits_per_dim=0.744)
    io.atomic_write_json(root / "metrics/latent_stats.json", table)
    io.atomic_write_json(root / "metrics/fit_seconds.json",
                         {"pca": 0.02, "tsne": 4.1, "ae": 2.0, "dae": 2.2, "vae": 2.5})


def _write_plots(root: Path, rng: np.random.Generator, y_test: np.ndarray) -> None:
    for model in MODELS:
        io.atomic_write_csv(root / f"plots/train/{model}.csv", *_curve_rows(model, rng))
    rows = [[m, d, float(rng.normal()), float(rng.uniform(0.1, 5.0))]
            for m in METHODS for d in range(2 if m == "tsne" else LATENT_DIM)]
    io.atomic_write_csv(root / "plots/latent_stats/moments.csv", ["method", "dim", "mean", "var"],
                        rows)
    for m in METHODS:
        xy = rng.normal(size=(N_TEST, 2))
        io.atomic_write_csv(root / f"plots/embeddings/{m}.csv", ["index", "x", "y", "label"],
                            [[i, float(a), float(b), int(y)] for i, ((a, b), y)
                             in enumerate(zip(xy, y_test))])


def write_inputs(root: Path, stats: dict = STATS, likelihood: str = "bernoulli") -> ReportPaths:
    """Write every input file under ``root`` at its dvc.yaml path; return the paths."""
    rng = np.random.default_rng(0)
    y = {s: np.arange(n, dtype=np.int64) % 10 for s, n in
         (("train", N_TRAIN), ("val", N_VAL), ("test", N_TEST))}
    io.atomic_write_json(root / "data/raw/source.json", {
        "name": "digits", "origin": "sklearn.datasets.load_digits", "n_examples": 110,
        "image_shape": list(SHAPE), "n_classes": 10, "pixel_max": 16.0, "sha256": "ab" * 32,
        "sklearn_version": "1.9.1"})
    io.atomic_write_npz(root / "data/processed/splits.npz",
                        **{f"x_{s}": rng.uniform(size=(len(y[s]), D)).astype(np.float32)
                           for s in y},
                        **{f"y_{s}": y[s] for s in y}, image_shape=np.array(SHAPE, np.int64))
    _write_codes(root, rng)
    _write_metrics(root, stats, likelihood)
    _write_plots(root, rng, y["test"])
    (root / "params.yaml").write_text(PARAMS_YAML)
    return ReportPaths(
        source=root / "data/raw/source.json", data=root / "data/processed/splits.npz",
        codes={m: root / (f"outputs/train/{m}/codes.npz" if m in MODELS
                          else f"outputs/baseline/{m}/codes.npz") for m in METHODS},
        train_metrics={m: root / f"metrics/train/{m}.json" for m in MODELS},
        curves={m: root / f"plots/train/{m}.csv" for m in MODELS},
        baseline_metrics={m: root / f"metrics/baseline/{m}.json" for m in ("pca", "tsne")},
        latent_stats=root / "metrics/latent_stats.json",
        fit_seconds=root / "metrics/fit_seconds.json",
        moments=root / "plots/latent_stats/moments.csv",
        embeddings_dir=root / "plots/embeddings", params=root / "params.yaml")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A report built once from the standard synthetic inputs; returns its out_dir."""
    root = tmp_path_factory.mktemp("inputs")
    out_dir = root / "reports"
    build_report(load_inputs(write_inputs(root)), out_dir, N_EXAMPLES)
    return out_dir


# --------------------------------------------------------------------------
# Parsing helpers
# --------------------------------------------------------------------------


class _TableParser(HTMLParser):
    """Collect the comparison table: headers, and per body row the cells as (text, is_best)."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, bool]]] = []
        self._in_table = self._in_body = False
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "comparison-table":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_table and tag == "tr" and self._in_body:
            self.rows.append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = ["", "best" in (attrs.get("class") or "").split()]

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            cell, self._cell = (self._cell[0].strip(), self._cell[1]), None
            (self.rows[-1].append(cell) if self._in_body else self.headers.append(cell[0]))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data


def parse_table(html: str) -> _TableParser:
    parser = _TableParser()
    parser.feed(html)
    return parser


def md_table_rows(md: str) -> list[list[str]]:
    """The comparison table's body rows in the Markdown, as lists of cells."""
    lines = [ln for ln in md.splitlines() if ln.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines[1:]]


def expected_best(key: str, better: str) -> str:
    values = {m: s[key] for m, s in STATS.items() if key in s}
    return (max if better == "max" else min)(values, key=values.get)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_build_writes_html_markdown_and_figures(built):
    assert (built / "report.html").stat().st_size > 0
    assert (built / "report.md").stat().st_size > 0
    assert len(list((built / "figures").glob("*.png"))) == 8


def test_html_is_self_contained_with_embedded_pngs(built):
    html = (built / "report.html").read_text()
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(sources) == 8
    assert len(sources) == html.count("<img")
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
    assert "<script" not in html and "<link" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_markdown_figures_exist(built):
    md = (built / "report.md").read_text()
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs and all(ref.startswith("figures/") and ref.endswith(".png") for ref in refs)
    for ref in refs:
        assert (built / ref).read_bytes().startswith(PNG_SIGNATURE)
    assert {built / ref for ref in refs} == set((built / "figures").glob("*.png"))


def test_table_has_one_row_per_method(built):
    table = parse_table((built / "report.html").read_text())
    assert [row[0][0] for row in table.rows] == list(METHODS)
    assert all(len(row) == len(table.headers) for row in table.rows)
    assert [row[0] for row in md_table_rows((built / "report.md").read_text())] == list(METHODS)


@pytest.mark.parametrize("header", list(BEST))
def test_best_value_per_column_is_highlighted(built, header):
    better, key = BEST[header]
    table = parse_table((built / "report.html").read_text())
    col = next(i for i, h in enumerate(table.headers) if h.startswith(header))
    assert ("↑" if better == "max" else "↓") in table.headers[col]
    highlighted = [row[0][0] for row in table.rows if row[col][1]]
    assert highlighted == [expected_best(key, better)]
    md_rows = md_table_rows((built / "report.md").read_text())
    assert [r[0] for r in md_rows if r[col].startswith("**")] == [expected_best(key, better)]


def test_tsne_cannot_reconstruct(built):
    table = parse_table((built / "report.html").read_text())
    col = next(i for i, h in enumerate(table.headers) if h.startswith("recon MSE"))
    cells = {row[0][0]: row[col][0] for row in table.rows}
    assert cells["tsne"] == "—"
    assert all(cells[m] != "—" for m in ("pca", "ae", "dae", "vae"))
    md_rows = {r[0]: r[col] for r in md_table_rows((built / "report.md").read_text())}
    assert md_rows["tsne"] == "—"


def test_text_cites_the_numbers(built):
    md = (built / "report.md").read_text()
    assert "The VAE's codes follow the prior: KL(fit ‖ N(0, I)) = 0.8000 nats vs the AE's " \
           "45.00 nats" in md
    assert "recon 25.00 + KL 8.000 = 33.00 nats per example = −ELBO" in md
    assert "65.0% of the training variance" in md
    assert "relaxation" in md  # bernoulli likelihood on grey levels
    assert "ababababababab" not in md.split("## 8.")[0]  # short sha before Provenance


@pytest.mark.parametrize(("vae_kl", "ae_kl", "phrase"), [
    (0.8, 45.0, "The VAE's codes follow the prior"),
    (45.0, 0.8, "The VAE's codes do not follow the prior better than the AE's"),
    (5.0, 5.0, "The VAE's codes are no closer to the prior than the AE's"),
])
def test_prior_claim_follows_the_numbers(vae_kl, ae_kl, phrase):
    stats = {m: dict(s) for m, s in STATS.items()}
    stats["vae"]["latent_kl_to_prior_nats"] = vae_kl
    stats["ae"]["latent_kl_to_prior_nats"] = ae_kl
    sentence = text.prior_match_sentence(stats)
    assert sentence.startswith(phrase)
    assert f"= {fmt(vae_kl)} nats vs the AE's {fmt(ae_kl)} nats" in sentence


@pytest.mark.parametrize(("var", "start"), [
    ([0.9, 0.002, 0.5, 0.0015], "2 of the VAE's 4 latent dimensions are active"),
    ([0.9, 0.8], "2 of the VAE's 2 latent dimensions are active"),
])
def test_active_units_counts_low_variance_dimensions(var, start):
    sentence = text.active_units_sentence(np.array(var))
    assert sentence.startswith(start)
    assert ("posterior collapse" in sentence) == (min(var) < text.ACTIVE_VAR)


def test_gaussian_likelihood_has_no_bernoulli_caveat(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path, likelihood="gaussian"))
    sections = text.sections(inputs, {n: build.FigureRef(n, "", "", "") for n in
                                       text.captions(inputs, N_EXAMPLES)})
    words = " ".join(b["text"] for s in sections for b in s["blocks"] if b["kind"] == "p")
    assert "relaxation" not in words and "Gaussian with a fixed standard deviation" in words


def test_build_is_deterministic(tmp_path):
    inputs = load_inputs(write_inputs(tmp_path))
    build_report(inputs, tmp_path / "a", N_EXAMPLES)
    build_report(inputs, tmp_path / "b", N_EXAMPLES)
    for name in ("report.md", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    pngs = sorted(p.name for p in (tmp_path / "a" / "figures").glob("*.png"))
    assert len(pngs) == 8
    for name in pngs:
        png = (tmp_path / "a/figures" / name).read_bytes()
        assert png == (tmp_path / "b/figures" / name).read_bytes()
        assert b"Software" not in png and b"matplotlib" not in png  # no version stamp


@pytest.mark.parametrize("relative", [
    "data/raw/source.json", "data/processed/splits.npz", "outputs/train/vae/codes.npz",
    "outputs/baseline/pca/codes.npz", "outputs/baseline/tsne/codes.npz",
    "metrics/train/dae.json", "plots/train/vae.csv", "metrics/baseline/tsne.json",
    "metrics/latent_stats.json", "metrics/fit_seconds.json", "plots/latent_stats/moments.csv",
    "plots/embeddings/ae.csv", "params.yaml",
])
def test_missing_input_names_the_file(tmp_path, relative):
    paths = write_inputs(tmp_path)
    (tmp_path / relative).unlink()
    with pytest.raises(DataFileError, match=re.escape(str(tmp_path / relative))):
        load_inputs(paths)


def test_missing_key_or_column_names_the_file(tmp_path):
    paths = write_inputs(tmp_path)
    table = json.loads(paths.latent_stats.read_text())
    del table["vae"]["knn_accuracy"]
    paths.latent_stats.write_text(json.dumps(table))
    with pytest.raises(DataFileError, match=r"latent_stats\.json: lacks key\(s\) knn_accuracy "
                                            r"under 'vae'"):
        load_inputs(paths)
    paths = write_inputs(tmp_path)
    paths.curves["vae"].write_text("epoch,train_loss\n1,2.0\n")
    with pytest.raises(DataFileError, match=r"vae\.csv: lacks column\(s\) train_recon"):
        load_inputs(paths)


def test_recon_shape_mismatch_is_reported(tmp_path):
    paths = write_inputs(tmp_path)
    arrays = io.read_npz(paths.codes["ae"])
    arrays["recon_test"] = arrays["recon_test"][:-1]
    io.atomic_write_npz(paths.codes["ae"], **arrays)
    with pytest.raises(DataFileError, match="recon_test has shape"):
        load_inputs(paths)


def test_provenance_says_not_installed(monkeypatch):
    def version(name):
        if name == "mlflow":
            raise text.importlib.metadata.PackageNotFoundError(name)
        return "1.0"

    monkeypatch.setattr(text.importlib.metadata, "version", version)
    assert text.package_versions() == {"torch": "1.0", "scikit-learn": "1.0", "dvc": "1.0",
                                        "mlflow": "not installed", "numpy": "1.0",
                                        "matplotlib": "1.0"}


def test_provenance_holds_params_and_no_run_identity(built):
    md = (built / "report.md").read_text()
    assert "```yaml\n" + PARAMS_YAML in md
    assert "ab" * 32 in md
    html = (built / "report.html").read_text()
    assert "<details>" in html and "n_examples: 6" in html


@pytest.mark.parametrize(("value", "text"), [
    (0.912345, "0.9123"), (45.0, "45.00"), (12345.6, "12346"), (1.5e-5, "1.500e-05"),
    (0.0, "0"), (None, "—"), (-33.0, "-33.00"),
])
def test_fmt_significant_digits(value, text):
    assert fmt(value) == text


def _stage():
    spec = importlib.util.spec_from_file_location("report_stage", REPO / "stages" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage_argv(paths: ReportPaths, out_dir: Path) -> list[str]:
    pairs = lambda mapping: [f"{m}={p}" for m, p in mapping.items()]  # noqa: E731
    return ["--source", str(paths.source), "--data", str(paths.data),
            "--codes", *pairs(paths.codes), "--train-metrics", *pairs(paths.train_metrics),
            "--curves", *pairs(paths.curves), "--baseline-metrics", *pairs(paths.baseline_metrics),
            "--latent-stats", str(paths.latent_stats), "--fit-seconds", str(paths.fit_seconds),
            "--moments", str(paths.moments), "--embeddings-dir", str(paths.embeddings_dir),
            "--params", str(paths.params), "--out-dir", str(out_dir)]


def test_stage_renders_and_reports_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    stage = _stage()
    paths = write_inputs(tmp_path)
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 0
    assert (tmp_path / "reports/report.md").exists()
    paths.moments.unlink()
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 1
    assert capsys.readouterr().err.strip() == \
        f"error: {paths.moments}: missing; run `dvc repro` to produce it"
    paths.params.write_text("report:\n  n_examples: 0\n")
    assert run_stage(stage.main, _stage_argv(paths, tmp_path / "reports")) == 2
    assert "error: report.n_examples: got 0" in capsys.readouterr().err
