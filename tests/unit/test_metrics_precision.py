"""Metrics files carry a fixed number of significant digits, so last-bit noise churns nothing."""

from __future__ import annotations

import json
import math

import numpy as np

from latentlab import io


def test_floats_are_rounded_to_the_metric_digits_and_the_rest_kept():
    noisy = {"a": 0.1 + 0.2, "b": [1.0000000000000002, np.float32(0.25)], "n": 7, "s": "x",
             "c": {"d": -123456.789123456}, "inf": math.inf, "flag": True}
    out = io.at_precision(noisy)
    assert out == {"a": 0.3, "b": [1.0, 0.25], "n": 7, "s": "x", "c": {"d": -123456.79},
                   "inf": math.inf, "flag": True}


def test_two_results_differing_in_the_last_bits_write_the_same_bytes(tmp_path):
    # what AVX2 and AVX-512 BLAS kernels did to trustworthiness: the 16th digit
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    io.atomic_write_metrics(first, {"pca": {"trustworthiness": 0.9890726260166075}})
    io.atomic_write_metrics(second, {"pca": {"trustworthiness": 0.9890726260166076}})
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text()) == {"pca": {"trustworthiness": 0.98907263}}
