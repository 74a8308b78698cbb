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
from latentlab.report import build, sections_info, sections_sweep, text
from latentlab.report.build import ReportPaths, build_report, fmt, load_inputs

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHODS = ("pca", "tsne", "ae", "dae", "vae")
MODELS = ("ae", "dae", "vae")
N_TRAIN, N_VAL, N_TEST, SHAPE, LATENT_DIM, N_EPOCHS, N_PRIOR = 60, 20, 30, (8, 8), 4, 12, 9
D = SHAPE[0] * SHAPE[1]
N_EXAMPLES = 6
N_STEPS, GRID_STEPS, IWAE_K = 5, 3, 50
N_FIGURES = 11  # without a prior grid (no 2-D latent space)

# A different method wins each ranked column, so a highlight on the wrong row is caught.
STATS = {
    "pca": {"knn_accuracy": 0.80, "probe_accuracy": 0.97, "trustworthiness": 0.90,
            "recon_mse": 0.030, "latent_kl_to_prior_nats": 12.0,
            "latent_kl_to_prior_diag_nats": 11.5, "latent_mean_abs": 0.01, "latent_var_mean": 3.2},
    "tsne": {"knn_accuracy": 0.95, "probe_accuracy": 0.85, "trustworthiness": 0.94,
             "latent_kl_to_prior_nats": 900.0, "latent_kl_to_prior_diag_nats": 899.0,
             "latent_mean_abs": 4.0, "latent_var_mean": 250.0},
    "ae": {"knn_accuracy": 0.90, "probe_accuracy": 0.89, "trustworthiness": 0.96,
           "recon_mse": 0.012, "latent_kl_to_prior_nats": 45.0,
           "latent_kl_to_prior_diag_nats": 44.0, "latent_mean_abs": 1.5, "latent_var_mean": 9.0},
    "dae": {"knn_accuracy": 0.91, "probe_accuracy": 0.90, "trustworthiness": 0.95,
            "recon_mse": 0.010, "latent_kl_to_prior_nats": 40.0,
            "latent_kl_to_prior_diag_nats": 39.0, "latent_mean_abs": 1.2, "latent_var_mean": 7.5},
    "vae": {"knn_accuracy": 0.88, "probe_accuracy": 0.91, "trustworthiness": 0.93,
            "recon_mse": 0.020, "latent_kl_to_prior_nats": 0.8,
            "latent_kl_to_prior_diag_nats": 0.7, "latent_mean_abs": 0.05, "latent_var_mean": 0.9},
}
BEST = {"kNN accuracy": ("max", "knn_accuracy"), "probe accuracy": ("max", "probe_accuracy"),
        "trustworthiness": ("max", "trustworthiness"), "recon MSE": ("min", "recon_mse"),
        "KL(fit": ("min", "latent_kl_to_prior_nats")}
# The reconstruction term read as H(p, q) = H(p) + KL(p ‖ q): (cross-entropy, entropy, KL).
RECON_INFO = {"ae": (16.5, 13.5, 3.0), "dae": (17.0, 13.5, 3.5), "vae": (19.5, 13.5, 6.0)}
# The VAE's KL per latent dimension: two active, two collapsed; sums to test.kl = 8.0.
KL_PER_DIM = [(0, 4.5, 0.9, 1), (1, 0.002, 0.001, 0), (2, 3.496, 0.7, 1), (3, 0.002, 0.002, 0)]
VAE_INFO = {
    "test_log_px_nats": -32.5, "test_log_px_bits_per_dim": 0.7326, "test_gap_nats": 0.4,
    "iwae_samples": IWAE_K, "kl_nats": 8.0, "active_units": 2, "active_fraction": 0.5,
    "mutual_information_nats": 2.9, "mutual_information_max_nats": float(np.log(N_TEST)),
    "kl_minus_mi_nats": 5.1, "posterior_cross_entropy_nats": 12.0,
    "posterior_entropy_nats": 4.0, "kl_q_p_nats": 8.0, "kl_p_q_nats": 20.0,
}
EVALUATE = {"iwae_samples": IWAE_K, "log_px_nats": -32.5, "elbo_k_nats": -32.9, "gap_nats": 0.4,
            "gap_min_nats": 0.01, "log_px_bits_per_dim": 0.7326}
LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75)
PARAMS_YAML = ("seed: 0\ndae_sweep:\n  noise_type: masking\n  levels: [0.0, 0.1, 0.25, 0.5, 0.75]"
               "\nreport:\n  n_examples: 6\n")


def sweep_scores(best_recon: float, best_repr: float) -> dict[float, dict]:
    """Scores per level: recon MSE lowest at ``best_recon``, both accuracies highest at
    ``best_repr``; every other level worse the farther it lies."""
    return {level: {"recon_mse": 0.01 + 0.02 * abs(level - best_recon),
                    "knn_accuracy": 0.95 - 0.1 * abs(level - best_repr),
                    "probe_accuracy": 0.93 - 0.1 * abs(level - best_repr)} for level in LEVELS}


SWEEP = sweep_scores(0.1, 0.5)  # 0.1 reconstructs best; 0.5 gives the best codes


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


def _write_metrics(root: Path, stats: dict, likelihood: str, evaluate: dict) -> None:
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
    for model, (ce, h, kl) in RECON_INFO.items():
        table[model].update(recon_cross_entropy_nats=ce, data_entropy_nats=h, recon_kl_nats=kl)
    table["vae"].update(test_recon_nats=25.0, test_kl_nats=8.0, test_elbo_nats=-33.0,
                        test_bits_per_dim=0.744, **VAE_INFO)
    io.atomic_write_json(root / "metrics/latent_stats.json", table)
    io.atomic_write_json(root / "metrics/evaluate.json", {"vae": evaluate})
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
    io.atomic_write_csv(root / "plots/latent_stats/kl_per_dim.csv",
                        ["dim", "kl_nats", "code_variance", "active"], KL_PER_DIM)


def _write_evaluation(root: Path, rng: np.random.Generator, sweep: dict[float, dict],
                      grid_models: tuple[str, ...]) -> None:
    """walks.npz, and the DAE sweep's scores (JSON) and plot (CSV), as the stages write them."""
    walks = {f"interpolation_{m}": rng.uniform(size=(N_STEPS, D)).astype(np.float32)
             for m in MODELS}
    walks.update({f"prior_grid_{m}": rng.uniform(size=(GRID_STEPS ** 2, D)).astype(np.float32)
                  for m in grid_models})
    io.atomic_write_npz(root / "outputs/evaluate/walks.npz", pair=np.array([0, 1]), **walks)
    rows = [{"noise_level": level, **scores} for level, scores in sweep.items()]
    io.atomic_write_json(root / "metrics/dae_sweep_scores.json", {
        **{str(r["noise_level"]): r for r in rows},
        "best": {"by_recon_mse": min(rows, key=lambda r: r["recon_mse"])["noise_level"],
                 "by_knn_accuracy": max(rows, key=lambda r: r["knn_accuracy"])["noise_level"],
                 "by_probe_accuracy": max(rows, key=lambda r: r["probe_accuracy"])["noise_level"]}})
    columns = ["noise_level", "recon_mse", "knn_accuracy", "probe_accuracy"]
    io.atomic_write_csv(root / "plots/latent_stats/dae_sweep.csv", columns,
                        [[r[c] for c in columns] for r in rows])


def write_inputs(root: Path, stats: dict = STATS, likelihood: str = "bernoulli",
                 sweep: dict[float, dict] = SWEEP, evaluate: dict = EVALUATE,
                 grid_models: tuple[str, ...] = ()) -> ReportPaths:
    """Write every input file under ``root`` at its dvc.yaml path; return the paths.

    ``grid_models`` get a decoded prior grid in walks.npz (as 2-D latent spaces do).
    """
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
    _write_metrics(root, stats, likelihood, evaluate)
    _write_plots(root, rng, y["test"])
    _write_evaluation(root, rng, sweep, grid_models)
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
        embeddings_dir=root / "plots/embeddings", params=root / "params.yaml",
        evaluate=root / "metrics/evaluate.json", walks=root / "outputs/evaluate/walks.npz",
        kl_per_dim=root / "plots/latent_stats/kl_per_dim.csv",
        dae_sweep_scores=root / "metrics/dae_sweep_scores.json",
        dae_sweep_plot=root / "plots/latent_stats/dae_sweep.csv")


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

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, bool]]] = []
        self._in_table = self._in_body = False
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
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


def parse_table(html: str, table_id: str = "comparison-table") -> _TableParser:
    parser = _TableParser(table_id)
    parser.feed(html)
    return parser


def md_table_rows(md: str, row_header: str = "method") -> list[list[str]]:
    """The body rows, as lists of cells, of the Markdown table whose first header is
    ``row_header``."""
    lines = md.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith(f"| {row_header} |")))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("| "):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def expected_best(key: str, better: str) -> str:
    values = {m: s[key] for m, s in STATS.items() if key in s}
    return (max if better == "max" else min)(values, key=values.get)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------


def test_build_writes_html_markdown_and_figures(built):
    assert (built / "report.html").stat().st_size > 0
    assert (built / "report.md").stat().st_size > 0
    assert len(list((built / "figures").glob("*.png"))) == N_FIGURES


def test_html_is_self_contained_with_embedded_pngs(built):
    html = (built / "report.html").read_text()
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)
    assert len(sources) == N_FIGURES
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
    assert "ababababababab" not in md.split("## 10. Provenance")[0]  # short sha before it


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


@pytest.mark.parametrize(("kl", "active", "start"), [
    ([4.5, 0.002, 3.496, 0.002], [1, 0, 1, 0], "2 of the VAE's 4 latent dimensions are active "
                                               "(50.0%"),
    ([4.0, 3.0], [1, 1], "2 of the VAE's 2 latent dimensions are active (100.0%"),  # sum 7 ≠ 8
])
def test_active_units_sentence_uses_the_metric(kl, active, start):
    active = np.array(active, bool)
    vae = {"active_units": int(active.sum()), "active_fraction": active.mean(),
           "latent_dim": len(kl), "kl_nats": 8.0}
    sentence = sections_info.active_units_sentence(vae, {"kl_nats": np.array(kl),
                                                         "active": active})
    assert sentence.startswith(start)
    assert ("posterior collapse" in sentence) == (not active.all())
    assert ("matching `kl_nats`" in sentence) == np.isclose(sum(kl), 8.0)
    assert ("does not match `kl_nats`" in sentence) != np.isclose(sum(kl), 8.0)


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
    assert len(pngs) == N_FIGURES
    for name in pngs:
        png = (tmp_path / "a/figures" / name).read_bytes()
        assert png == (tmp_path / "b/figures" / name).read_bytes()
        assert b"Software" not in png and b"matplotlib" not in png  # no version stamp


@pytest.mark.parametrize("relative", [
    "data/raw/source.json", "data/processed/splits.npz", "outputs/train/vae/codes.npz",
    "outputs/baseline/pca/codes.npz", "outputs/baseline/tsne/codes.npz",
    "metrics/train/dae.json", "plots/train/vae.csv", "metrics/baseline/tsne.json",
    "metrics/latent_stats.json", "metrics/fit_seconds.json", "plots/latent_stats/moments.csv",
    "plots/embeddings/ae.csv", "params.yaml", "metrics/evaluate.json",
    "outputs/evaluate/walks.npz", "plots/latent_stats/kl_per_dim.csv",
    "metrics/dae_sweep_scores.json", "plots/latent_stats/dae_sweep.csv",
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
            "--evaluate-metrics", str(paths.evaluate), "--walks", str(paths.walks),
            "--kl-per-dim", str(paths.kl_per_dim),
            "--dae-sweep-scores", str(paths.dae_sweep_scores),
            "--dae-sweep-plot", str(paths.dae_sweep_plot),
            "--params", str(paths.params), "--out-dir", str(out_dir),
            "--link", str(out_dir / "link.json")]


def test_stage_renders_and_reports_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # artifacts to tmp_path/mlartifacts, not the repo
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


# --------------------------------------------------------------------------
# The evaluation inputs: sweep, ELBO tightness, information theory, walks
# --------------------------------------------------------------------------


def _words(inputs) -> dict[str, str]:
    """Section id -> its paragraphs joined (figures stubbed: nothing is drawn)."""
    refs = {n: build.FigureRef(n, "", "", "") for n in text.captions(inputs, N_EXAMPLES)}
    return {s["id"]: " ".join(b["text"] for b in s["blocks"] if b["kind"] == "p")
            for s in text.sections(inputs, refs)}


def test_new_sections_and_figures_are_in_place(built):
    md = (built / "report.md").read_text()
    titles = re.findall(r"^## (.+)$", md, flags=re.M)
    assert titles[4:9] == ["5. AE and DAE", "6. DAE corruption sweep", "7. VAE",
                           "8. Information theory, measured", "9. Latent spaces"]
    sections = dict(zip(titles, re.split(r"^## .+$", md, flags=re.M)[1:]))
    for title, figure in (("6. DAE corruption sweep", "dae_sweep"), ("7. VAE", "kl_per_dim"),
                          ("9. Latent spaces", "interpolation")):
        assert f"](figures/{figure}.png)" in sections[title]
        assert (built / f"figures/{figure}.png").read_bytes().startswith(PNG_SIGNATURE)
    assert "How tight is the ELBO?" in sections["7. VAE"]
    assert "Mutual information: I(x; z) = 2.900 nats" in sections["7. VAE"]
    assert "KL(q ‖ p) = 8.000 nats (`kl_q_p_nats`) but KL(p ‖ q) = 20.00 nats" in \
        sections["8. Information theory, measured"]
    assert "(c) The third decomposition, −ELBO = recon + KL, is in section 7" in \
        sections["8. Information theory, measured"]
    assert "t-SNE's lead in kNN accuracy" in md and "(section 4)" in md


def test_sweep_table_highlights_the_best_level_per_column(built):
    table = parse_table((built / "report.html").read_text(), "dae-sweep-table")
    assert table.headers == ["masking level", "recon MSE ↓", "kNN accuracy ↑",
                             "probe accuracy ↑"]
    assert [row[0][0] for row in table.rows] == ["0", "0.1", "0.25", "0.5", "0.75"]
    for col, winner in ((1, "0.1"), (2, "0.5"), (3, "0.5")):
        assert [row[0][0] for row in table.rows if row[col][1]] == [winner]
    md_rows = md_table_rows((built / "report.md").read_text(), "masking level")
    assert [r[0] for r in md_rows if r[1].startswith("**")] == ["0.1"]


def test_recon_entropy_table_and_identity_check(built):
    table = parse_table((built / "report.html").read_text(), "recon-entropy-table")
    assert [row[0][0] for row in table.rows] == list(MODELS)
    assert [row[0][0] for row in table.rows if row[1][1]] == ["ae"]  # lowest cross-entropy
    assert [row[4][0] for row in table.rows] == ["16.50", "17.00", "19.50"]  # H(p) + KL
    md = (built / "report.md").read_text()
    assert "Check: H(p) + KL(p ‖ q) equals H(p, q) for ae, dae, vae" in md
    assert "best achievable reconstruction NLL is this entropy, not 0" in md
    stats = {m: {"recon_cross_entropy_nats": ce + (0.5 if m == "dae" else 0.0),
                 "data_entropy_nats": h, "recon_kl_nats": kl}
             for m, (ce, h, kl) in RECON_INFO.items()}
    assert sections_info.recon_identity_sentence(stats).startswith(
        "Check failed: H(p) + KL(p ‖ q) − H(p, q) is -0.5000 nats for dae")


@pytest.mark.parametrize(("best_recon", "best_repr", "phrase"), [
    (0.1, 0.5, "the best level is 0.1 by recon MSE (`best.by_recon_mse`, 0.01000), 0.5 by kNN "
               "accuracy (`best.by_knn_accuracy`, 0.9500) and 0.5 by probe accuracy"),
    (0.5, 0.1, "the best level is 0.5 by recon MSE (`best.by_recon_mse`, 0.01000), 0.1 by kNN "
               "accuracy (`best.by_knn_accuracy`, 0.9500) and 0.1 by probe accuracy"),
    (0.25, 0.25, "the best level is 0.25 by recon MSE (`best.by_recon_mse`, 0.01000), 0.25 by "
                 "kNN accuracy"),
])
def test_sweep_best_level_follows_the_numbers(tmp_path, best_recon, best_repr, phrase):
    inputs = load_inputs(write_inputs(tmp_path, sweep=sweep_scores(best_recon, best_repr)))
    sentence = sections_sweep.best_level_sentence(inputs.dae_sweep)
    assert phrase in sentence
    assert ("All three criteria pick the same level" in sentence) == (best_recon == best_repr)
    assert phrase in _words(inputs)["dae-sweep"]


@pytest.mark.parametrize(("best_recon", "verdict", "detail"), [
    (0.1, "which differs from the claim", "at 0.25 our MSE is 0.01300, 30.0% higher"),
    (0.5, "which differs from the claim", "at 0.25 our MSE is 0.01500, 50.0% higher"),
    (0.25, "which agrees with the claim", ""),
])
def test_claim_comparison_follows_the_numbers(tmp_path, best_recon, verdict, detail):
    inputs = load_inputs(write_inputs(tmp_path, sweep=sweep_scores(best_recon, 0.5)))
    sentence = sections_sweep.claim_sentence(inputs.dae_sweep)
    assert sentence.startswith("The source text claims that about 25% corruption gave the "
                               f"lowest loss. Our lowest clean-test recon MSE is at level "
                               f"{best_recon:g} (0.01000, `best.by_recon_mse`), {verdict}")
    assert detail in sentence
    assert ("agrees" in sentence) != ("differs" in sentence)


@pytest.mark.parametrize(("gap_min", "phrase"), [
    (0.01, "its smallest value over the test images is 0.01000 nats (`gap_min_nats`) ≥ 0: the "
           "bound held for every test image"),
    (-0.02, "its smallest value over the test images is -0.02000 nats (`gap_min_nats`) < 0: "
            "for at least one test image"),
])
def test_gap_sentence_uses_gap_min(gap_min, phrase):
    sentence = sections_info.elbo_tightness_sentence({**EVALUATE, "gap_min_nats": gap_min},
                                                     -33.0, D)
    assert phrase in sentence
    assert ("held for every test image" in sentence) == (gap_min >= 0)
    assert f"With K = {IWAE_K} importance samples" in sentence
    assert "log p(x) ≈ -32.50 nats" in sentence
    assert "the ELBO with the same samples is -32.90" in sentence
    assert "Warning" not in sentence  # gap = log p(x) − ELBO_K holds in EVALUATE
    assert "Warning" in sections_info.elbo_tightness_sentence({**EVALUATE, "gap_nats": 0.9},
                                                              -33.0, D)


def test_prior_grid_appears_only_when_walks_hold_one(tmp_path, built):
    assert not (built / "figures/prior_grid.png").exists()
    assert "No prior grid" in (built / "report.md").read_text()
    out = tmp_path / "reports"
    build_report(load_inputs(write_inputs(tmp_path, grid_models=("vae",))), out, N_EXAMPLES)
    md = (out / "report.md").read_text()
    assert "](figures/prior_grid.png)" in md and "No prior grid" not in md
    assert f"a {GRID_STEPS} × {GRID_STEPS} grid over the prior's quantiles" in md
    assert (out / "figures/prior_grid.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (out / "report.html").read_text().count("<img") == N_FIGURES + 1


def test_probe_accuracy_caveat_for_tsne_follows_the_numbers(tmp_path):
    words = _words(load_inputs(write_inputs(tmp_path)))["comparison"]
    assert "Even with its optimistic joint embedding (section 4), t-SNE's probe accuracy " \
           "(0.8500, `probe_accuracy`) is below pca's (0.9700)" in words
    assert "t-SNE's lead in kNN accuracy (0.9500 vs dae's 0.9100" in words


@pytest.mark.parametrize(("relative", "change", "match"), [
    ("metrics/evaluate.json", lambda o: o["vae"].update(log_px_nats=-40.0),
     r"vae\.test_log_px_nats = -32\.5 but .*evaluate\.json has log_px_nats = -40\.0"),
    ("metrics/dae_sweep_scores.json", lambda o: o["best"].update(by_recon_mse=0.75),
     r"dae_sweep_scores\.json: best\.by_recon_mse = 0\.75 but the best recon_mse is at \[0\.1\]"),
    ("metrics/dae_sweep_scores.json", lambda o: o.pop("0.75"),
     r"dae_sweep_scores\.json: levels .* differ from params\.yaml's dae_sweep\.levels"),
    ("metrics/latent_stats.json", lambda o: o["vae"].update(active_units=3),
     r"kl_per_dim\.csv: 2 active rows but active_units = 3"),
])
def test_inconsistent_evaluation_inputs_name_the_file(tmp_path, relative, change, match):
    paths = write_inputs(tmp_path)
    obj = json.loads((tmp_path / relative).read_text())
    change(obj)
    (tmp_path / relative).write_text(json.dumps(obj))
    with pytest.raises(DataFileError, match=match):
        load_inputs(paths)


def test_bad_walks_are_reported(tmp_path):
    paths = write_inputs(tmp_path)
    arrays = io.read_npz(paths.walks)
    io.atomic_write_npz(paths.walks, **{**arrays, "pair": np.array([0, N_TEST])})
    with pytest.raises(DataFileError, match=r"walks\.npz: pair must be two test indices"):
        load_inputs(paths)
    io.atomic_write_npz(paths.walks, **{**arrays, "prior_grid_vae": np.zeros((5, D))})
    with pytest.raises(DataFileError, match=r"walks\.npz: prior_grid_vae has shape \(5, 64\)"):
        load_inputs(paths)
