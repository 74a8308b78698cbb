"""The baselines' numbers agree across CPU vector kernels within the documented tolerance.

OpenBLAS picks its kernels for the CPU (AVX-512, AVX2, ...), and PCA, the distances
behind kNN and trustworthiness, and the moments behind the KL all go through it: a
machine with other kernels gets other last digits. ``OPENBLAS_CORETYPE`` forces a
kernel, so the same machine can run the baselines under two (its own and the generic
x86-64 one) and compare them against :data:`latentlab.io.CROSS_KERNEL_RTOL`.
"""

import json
import os
import platform
import subprocess
import sys

import pytest

from latentlab.io import CROSS_KERNEL_RTOL

PROBE = r"""
import json
import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info
from latentlab.analysis.baselines import fit_pca
from latentlab.analysis.latent import aggregate_moments, gaussian_fit_kl_to_prior
from latentlab.analysis.metrics import (knn_correct, probe_correct, squared_error_per_item,
                                        trustworthiness_per_point)
d = load_digits()
x, y = (d.data / 16.0).astype(np.float32), d.target
order = np.random.default_rng(0).permutation(len(x))
tr, te = order[:1400], order[1400:]
codes, _ = fit_pca(x[tr], x[te][:10], x[te], 8, False, 0)
print(json.dumps({
    "kernels": sorted({str(i.get("architecture")) for i in threadpool_info()
                       if i["internal_api"] == "openblas"}),
    "n_test": int(len(te)),
    "shares": {
        "knn_accuracy": float(knn_correct(codes["z_train"], y[tr], codes["z_test"], y[te],
                                          5).mean()),
        "probe_accuracy": float(probe_correct(codes["z_train"], y[tr], codes["z_test"], y[te],
                                              0).mean())},
    "values": {
        "trustworthiness": float(trustworthiness_per_point(x[te], codes["z_test"], 10).mean()),
        "recon_mse": float(squared_error_per_item(x[te], codes["recon_test"]).mean()),
        "latent_kl_to_prior_nats": float(gaussian_fit_kl_to_prior(
            *aggregate_moments(codes["z_test"], None))),
        "explained_variance_ratio_sum": float(codes["explained_variance_ratio"].sum())}}))
"""


def _run(coretype):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="OPENBLAS_CORETYPE names x86-64 kernels")
def test_baselines_agree_across_blas_kernels_within_the_documented_tolerance():
    native, generic = _run(None), _run("Prescott")  # the CPU's own kernels; plain SSE3
    if native["kernels"] == generic["kernels"]:
        pytest.skip(f"OpenBLAS ignored OPENBLAS_CORETYPE ({native['kernels']})")
    for key, share in native["shares"].items():  # a share of images: at most one flips
        assert abs(share - generic["shares"][key]) <= 1.0 / native["n_test"] + 1e-12, key
    for key, value in native["values"].items():
        assert generic["values"][key] == pytest.approx(value, rel=CROSS_KERNEL_RTOL), key
