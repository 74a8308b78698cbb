"""Analysis of codes and trained models: the numbers the report compares.

``info`` (entropy, cross-entropy, KL divergence, gaussian identities, I(x; z)),
``latent`` (statistics of one method's codes: moments, per-dimension KL,
active units, collapse), ``metrics`` (kNN and probe accuracy, trustworthiness,
reconstruction error), ``iwae`` (importance-weighted log p(x)), ``walks``
(interpolations, prior grids), ``baselines`` (PCA, t-SNE), ``evaluate`` (the
``evaluate`` stage on saved models) and ``latent_stats`` (the ``latent_stats``
stage's comparison table over the five methods). Pure functions of arrays.
"""
