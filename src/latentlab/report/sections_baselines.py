"""The report's baseline sections: "Linear baseline: PCA" and "Nonlinear baseline: t-SNE".

PCA is the linear reference for reconstruction with as many dimensions as the
autoencoders' codes; t-SNE the nonlinear reference for a 2-D layout, which has no
transform for new points and no decoder, so the text says what that does to its
numbers (a joint train+test embedding, no recon MSE) and, where it embedded a
subsample (``metrics/baseline/tsne.json``), how many points and which metrics that
subsample gives.
"""

from __future__ import annotations

from typing import Mapping

from latentlab.report.blocks import FigureRef
from latentlab.report.blocks import figure as _fig
from latentlab.report.blocks import para as _p
from latentlab.report.inputs import ReportInputs
from latentlab.report.verdicts import pair_relation, with_interval
from latentlab.report.words import NO_LABELS_SENTENCE, fmt, pct, section_ref


def tsne_subsampled(inputs: ReportInputs) -> bool:
    """Whether t-SNE embedded a subsample (``subsampled`` in its metrics; older: no)."""
    return bool(inputs.baseline_metrics["tsne"].get("subsampled", False))


def pca_blocks(inputs: ReportInputs, refs: Mapping[str, FigureRef]) -> list[dict]:
    """The section: the components kept and their variance, the reconstructions, and PCA's
    recon MSE against the AE's (the linear reference)."""
    metrics, ratio = inputs.baseline_metrics["pca"], inputs.codes["pca"]["explained_variance_ratio"]
    stats = inputs.latent_stats
    blocks = [_p(f"PCA keeps {metrics['n_components']} components, which explain "
                 f"{pct(metrics['explained_variance_ratio_sum'])} of the training variance "
                 f"(`explained_variance_ratio_sum`); the first explains {pct(ratio[0])}, "
                 f"the last {pct(ratio[-1])}."),
              _fig(refs["pca_variance"])]
    pca_mse, ae_mse = stats["pca"].get("recon_mse"), stats["ae"].get("recon_mse")
    if pca_mse is not None:
        blocks.append(_p(f"PCA reconstructs a test image from its {metrics['n_components']} "
                         f"coordinates with mean squared error {fmt(pca_mse)} per pixel "
                         "(`recon_mse`)."))
    blocks.append(_fig(refs["pca_reconstructions"]))
    if pca_mse is not None and ae_mse is not None:
        word, evidence = pair_relation(inputs.verdict, "recon_mse", stats, "ae", "pca")
        blocks.append(_p(f"As the linear reference for reconstruction with the same number of "
                         f"dimensions: the AE's test recon MSE ("
                         f"{with_interval(stats['ae'], 'recon_mse')}, {section_ref('ae')}) is "
                         f"{word} PCA's ({with_interval(stats['pca'], 'recon_mse')}) "
                         f"(`recon_mse`; {evidence})."))
    return blocks


def tsne_subsample_sentence(inputs: ReportInputs) -> str:
    """How many points t-SNE embedded, of how many, and which metrics the subsample gives."""
    metrics, codes = inputs.baseline_metrics["tsne"], inputs.codes["tsne"]
    k_train, k_test = len(codes["z_train"]), len(codes["z_test"])
    n_train, n_test = len(inputs.splits["x_train"]), len(inputs.splits["x_test"])
    n_points = int(inputs.latent_stats["tsne"].get("n_test_points", k_test))
    how = ("stratified by label within each split" if inputs.has_labels else
           "stratified by split only (no labels)")
    scored = ("kNN accuracy (`knn_accuracy`) and probe accuracy (`probe_accuracy`) (the "
              f"classifier and the probe fit on its {k_train} training points), " if
              inputs.has_labels else "")
    return (f"t-SNE embedded a seeded, stratified subsample of {metrics['n_points_embedded']} of "
            f"{metrics['n_points_available']} points (`baselines.tsne.max_points` = "
            f"{metrics['max_points']}; `subsampled`, `n_points_embedded`, `n_points_available` "
            f"in `metrics/baseline/tsne.json`): {k_train} of the {n_train} training and "
            f"{k_test} of the {n_test} test images, each split its share, {how}. t-SNE's "
            f"metrics ({section_ref('comparison')}) are computed on this subsample's {n_points} "
            f"test points (`n_test_points` in `metrics/latent_stats.json`): {scored}"
            "trustworthiness (`trustworthiness`), the codes' moments and KL(fit ‖ N(0, I)) "
            f"(`latent_kl_to_prior_nats`); every other method's on all {n_test} test images.")


def tsne_blocks(inputs: ReportInputs) -> list[dict]:
    """The section: the subsample (if any), the joint embedding, the objective reached."""
    metrics, codes = inputs.baseline_metrics["tsne"], inputs.codes["tsne"]
    stats = inputs.latent_stats
    blocks = [_p(tsne_subsample_sentence(inputs))] if tsne_subsampled(inputs) else []
    together = (f"t-SNE has no transform for new points, so its {len(codes['z_train'])} training "
                f"and {len(codes['z_test'])} test points were embedded together (`embedded`: "
                f"\"{metrics['embedded']}\"); the report shows the test points. Their 2-D "
                "neighbours were placed with the training points present, ")
    if inputs.has_labels:
        together += (f"so t-SNE's kNN accuracy ({fmt(stats['tsne']['knn_accuracy'])}, "
                     "`knn_accuracy`) is optimistic next to the methods that encode test points "
                     "they never saw; the comparison shows it but does not rank it "
                     f"({section_ref('comparison')}).")
    else:
        together += ("unlike the codes of the methods that encode test points they never saw. "
                     f"{NO_LABELS_SENTENCE}.")
    perplexity = (f" with perplexity {float(metrics['perplexity']):g} (`perplexity`)"
                  if "perplexity" in metrics else "")
    return blocks + [
        _p(together),
        _p(f"The embedding{perplexity} ended {_objective_words(metrics)} "
           f"after {metrics['n_iter']} iterations; "
           f"trustworthiness {fmt(stats['tsne']['trustworthiness'])} (`trustworthiness`). "
           "t-SNE has no decoder, so its recon MSE is —."),
    ]


def _objective_words(metrics: Mapping) -> str:
    """t-SNE's final KL divergence, or why there is none: scikit-learn evaluates it only
    after the 250 early-exaggeration iterations, so ``max_iter`` 250 leaves it unset."""
    kl = metrics["kl_divergence"]
    if kl is None:
        return ("without a KL divergence (`kl_divergence`: null): scikit-learn computes its "
                "objective only after the 250 early-exaggeration iterations, and "
                "`baselines.tsne.max_iter` stopped there; raise it above 250 to get one")
    return f"at KL divergence {fmt(kl)} (`kl_divergence`, t-SNE's own objective)"
