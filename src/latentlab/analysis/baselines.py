"""The scikit-learn baselines: PCA (linear, reconstructs) and t-SNE (nonlinear, 2-D).

Both return plain arrays in the same layout as the trained models' codes, so
every later stage treats all five methods alike.
"""

from __future__ import annotations

import time

import numpy as np

from latentlab.errors import ParamsError
from latentlab.params import TSNE_THREADS


def canonicalize_signs(components: np.ndarray) -> np.ndarray:
    """Flip each component so its largest-magnitude loading is positive.

    PCA's components are defined up to sign and the sign scikit-learn returns
    has changed between versions; fixing it keeps codes and figures stable.

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features)

    Returns
    -------
    signs : ndarray of shape (n_components,), entries ±1
    """
    rows = np.arange(len(components))
    return np.where(components[rows, np.argmax(np.abs(components), axis=1)] < 0, -1.0, 1.0)


def fit_pca(x_train, x_val, x_test, n_components: int, whiten: bool,
            seed: int) -> tuple[dict, float]:
    """Fit PCA on the training split; codes of every split and test reconstructions.

    Returns
    -------
    dict with ``z_train``, ``z_val``, ``z_test`` (n, n_components), ``recon_test``
    (n_test, features), ``explained_variance_ratio`` (n_components,),
    ``components`` (n_components, features), ``mean`` (features,), and
    ``fit_seconds`` (wall time of the fit alone, not of the import).
    """
    from sklearn.decomposition import PCA

    n_components = min(n_components, x_train.shape[1], x_train.shape[0])
    pca = PCA(n_components=n_components, whiten=whiten, svd_solver="full", random_state=seed)
    started = time.perf_counter()
    pca.fit(x_train)
    fit_seconds = time.perf_counter() - started
    signs = canonicalize_signs(pca.components_)
    pca.components_ = pca.components_ * signs[:, None]
    codes = {f"z_{name}": pca.transform(x).astype(np.float32)
             for name, x in (("train", x_train), ("val", x_val), ("test", x_test))}
    codes["recon_test"] = pca.inverse_transform(codes["z_test"]).astype(np.float32)
    codes["explained_variance_ratio"] = pca.explained_variance_ratio_.astype(np.float64)
    codes["components"] = pca.components_.astype(np.float32)
    codes["mean"] = pca.mean_.astype(np.float32)
    return codes, fit_seconds


def tsne_subsample(y_train: np.ndarray, y_test: np.ndarray, max_points: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of train and of test that t-SNE embeds: all, or a seeded stratified subsample.

    Above ``max_points`` points in all, each split keeps its share of
    ``max_points`` (rounded, test at least one row), stratified by label with
    :func:`latentlab.data.preprocess.stratified_subsample`.

    Returns
    -------
    index_train, index_test : sorted int64 rows of each split
    """
    from latentlab.data.preprocess import stratified_subsample

    n_train, n_test = len(y_train), len(y_test)
    if n_train + n_test <= max_points:
        return np.arange(n_train), np.arange(n_test)
    k_test = max(1, int(round(max_points * n_test / (n_train + n_test))))
    k_train = max_points - k_test
    return (stratified_subsample(y_train, k_train, seed).astype(np.int64),
            stratified_subsample(y_test, k_test, seed + 1).astype(np.int64))


# scikit-learn leaves kl_divergence_ at the largest float until the first iteration after
# early exaggeration (250 iterations) evaluates the objective
UNSET_OBJECTIVE = 1e300


def tsne_objective(kl_divergence: float) -> float | None:
    """t-SNE's final KL divergence, or None where scikit-learn never computed it
    (``max_iter`` ≤ 250 leaves its sentinel, 1.797e308, which is not a result)."""
    value = float(kl_divergence)
    return value if np.isfinite(value) and value < UNSET_OBJECTIVE else None


def embed_tsne(x_train, x_test, *, perplexity: float, max_iter: int, early_exaggeration: float,
               init: str, learning_rate, seed: int, max_points: int | None = None,
               y_train=None, y_test=None, num_threads: int = TSNE_THREADS) -> tuple[dict, float]:
    """Embed train and test jointly in 2-D with scikit-learn's Barnes-Hut t-SNE.

    t-SNE learns no mapping that could place new points, so the test points are
    embedded together with the training points (the report says so). With more
    than ``max_points`` points it embeds a seeded subsample stratified by
    ``y_train`` / ``y_test`` (:func:`tsne_subsample`); ``index_train`` and
    ``index_test`` say which rows.

    The Barnes-Hut gradient sums over OpenMP threads, so the embedding's last
    bits (and from there its layout) depend on the thread count: it is fixed to
    ``num_threads`` (``baselines.tsne.num_threads``), not to the machine's core
    count, so the same params and seed give the same embedding on any machine.

    Returns
    -------
    dict with ``z_train`` (k_train, 2), ``z_test`` (k_test, 2), ``index_train``,
    ``index_test`` (the rows of each split embedded), ``kl_divergence`` (the
    final objective, nats), ``n_iter``, ``perplexity``, and the subsample's
    ``n_points_embedded``, ``n_points_available``, ``subsampled``,
    ``max_points``; and the fit's wall seconds.
    """
    from sklearn.manifold import TSNE

    n_available = len(x_train) + len(x_test)
    cap = n_available if max_points is None else max_points
    y_train = np.zeros(len(x_train), np.int64) if y_train is None else y_train
    y_test = np.zeros(len(x_test), np.int64) if y_test is None else y_test
    index_train, index_test = tsne_subsample(y_train, y_test, cap, seed)
    x_train, x_test = x_train[index_train], x_test[index_test]
    x = np.concatenate([x_train, x_test])
    if perplexity >= len(x):
        raise ParamsError(f"baselines.tsne.perplexity: got {perplexity}, expected < {len(x)} "
                         f"(the number of points); try {max(5, len(x) // 10)}")
    tsne = TSNE(n_components=2, perplexity=perplexity, early_exaggeration=early_exaggeration,
                learning_rate=learning_rate, max_iter=max_iter, init=init, random_state=seed,
                method="barnes_hut")
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    with threadpool_limits(num_threads):  # OpenMP and BLAS alike
        z = tsne.fit_transform(x).astype(np.float32)
    fit_seconds = time.perf_counter() - started
    return {"z_train": z[: len(x_train)], "z_test": z[len(x_train):],
            "index_train": index_train, "index_test": index_test,
            "kl_divergence": tsne_objective(tsne.kl_divergence_), "n_iter": int(tsne.n_iter_),
            "perplexity": float(perplexity), "n_points_embedded": int(len(x)),
            "n_points_available": int(n_available), "subsampled": bool(len(x) < n_available),
            "max_points": int(cap)}, fit_seconds


def pca_metrics(codes: dict) -> dict:
    """What the PCA stage reports: components kept and the variance they explain."""
    ratio = codes["explained_variance_ratio"]
    return {"n_components": int(len(ratio)), "explained_variance_ratio_sum": float(ratio.sum())}


def fit_baseline(method: str, splits: dict, p) -> tuple[dict, dict, float]:
    """Fit ``method`` ("pca" or "tsne", params ``p``) on the grey levels of ``splits``.

    The baselines never see a binarised draw of the images: binarisation, where the
    data set uses it, is the likelihood's business (:mod:`latentlab.data.preprocess`),
    and one Bernoulli sample would cost PCA and t-SNE information the encoders' grey
    codes keep.

    Returns
    -------
    codes : the arrays of the method's ``codes.npz``
    metrics : its metrics JSON
    fit_seconds : wall time of the fit alone
    """
    from latentlab.data.preprocess import SPLITS, grey_levels

    grey = {split: grey_levels(splits, split) for split in SPLITS}
    if method == "pca" and p.n_components > grey["train"].shape[1]:
        raise ParamsError(f"train.common.latent_dim: got {p.n_components}, expected at most "
                          f"{grey['train'].shape[1]} (the images' pixels): PCA cannot keep more "
                          "components than the input has dimensions, and the comparison would "
                          "set PCA's codes beside wider ones; lower it")
    if method == "pca":
        codes, fit_seconds = fit_pca(grey["train"], grey["val"], grey["test"],
                                     p.n_components, p.whiten, p.seed)
        return codes, pca_metrics(codes), fit_seconds
    result, fit_seconds = embed_tsne(grey["train"], grey["test"], y_train=splits["y_train"],
                                     y_test=splits["y_test"], **vars(p))
    codes = {k: result.pop(k) for k in ("z_train", "z_test", "index_train", "index_test")}
    return codes, {**result, "embedded": "train+test jointly"}, fit_seconds
