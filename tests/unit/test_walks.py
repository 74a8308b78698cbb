"""Manifold walks: interpolation endpoints, the prior-quantile grid, the pair of classes."""

import numpy as np
import pytest
from scipy.stats import norm

from latentlab.analysis.walks import interpolate, pick_pair, prior_quantile_grid


def test_interpolation_starts_and_ends_at_the_codes_and_is_evenly_spaced():
    a, b = np.array([0.0, 2.0]), np.array([4.0, -2.0])
    path = interpolate(a, b, 5)
    np.testing.assert_allclose(path[0], a)
    np.testing.assert_allclose(path[-1], b)
    steps = np.diff(path, axis=0)
    np.testing.assert_allclose(steps, np.broadcast_to(steps[0], steps.shape))


def test_pick_pair_takes_two_different_classes():
    labels = np.array([3, 3, 3, 7, 1])
    first, other = pick_pair(labels)
    assert (first, other) == (0, 3) and labels[first] != labels[other]


def test_prior_grid_is_at_the_normal_quantiles():
    grid = prior_quantile_grid(3)
    assert grid.shape == (9, 2)
    q = norm.ppf([0.25, 0.5, 0.75])
    np.testing.assert_allclose(np.unique(grid[:, 0]), q)
    np.testing.assert_allclose(grid[:3, 0], q[0])  # first coordinate varies slowest
    np.testing.assert_allclose(grid[:3, 1], q)
    assert grid[4] == pytest.approx([0.0, 0.0])
