"""Information theory: known answers and the identities the report cites.

Discrete: H(p, q) = H(p) + KL(p ‖ q), Gibbs (KL ≥ 0, = 0 only at p = q), asymmetry,
units, 0·log 0 = 0, +inf where q = 0 < p, cross-entropy = mean NLL.
Gaussian: closed forms against torch.distributions and hand-computed values,
Monte Carlo against the closed form, mutual information of an encoder.
"""

import math
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import logsumexp
from torch.distributions import MultivariateNormal, Normal

from latentlab.analysis.gaussian_info import (
    gaussian_cross_entropy,
    gaussian_entropy,
    gaussian_kl,
    gaussian_kl_full,
    gaussian_log_density,
    monte_carlo_gaussian_kl,
    mutual_information_gaussian_encoder,
)
from latentlab.analysis.info import (
    LN2,
    cross_entropy,
    entropy,
    kl_divergence,
)
from latentlab.train.losses import gaussian_kl_to_standard_normal

MIN_WEIGHT = 1e-3  # before normalising: entries ≥ 1e-4 when bounded away from 0
ROUNDING = 1e-12  # nats; float64 rounding of sums of ≤ 10 terms of order 1

FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=15, deadline=None)


# --------------------------------------------------------------------------- strategies


@st.composite
def distributions(draw, k=None, zeros=False):
    """A probability vector of length k (2..10 if not given); zeros allowed if ``zeros``."""
    k = draw(st.integers(2, 10)) if k is None else k
    weight = st.floats(MIN_WEIGHT, 1.0)
    weights = draw(hnp.arrays(np.float64, k, elements=st.one_of(st.just(0.0), weight)
                              if zeros else weight))
    assume(weights.sum() > 0)
    return weights / weights.sum()


@st.composite
def pairs(draw, p_zeros=False):
    """(p, q) over the same outcomes; q bounded away from 0, p may have zeros if ``p_zeros``."""
    k = draw(st.integers(2, 10))
    return draw(distributions(k, zeros=p_zeros)), draw(distributions(k))


@st.composite
def diagonal_gaussians(draw, d=None, n=2):
    """n (mu, logvar) pairs, each of shape (d,), d in 1..8 if not given."""
    d = draw(st.integers(1, 8)) if d is None else d
    mus = hnp.arrays(np.float64, d, elements=st.floats(-5.0, 5.0))
    logvars = hnp.arrays(np.float64, d, elements=st.floats(-4.0, 4.0))
    return [(draw(mus), draw(logvars)) for _ in range(n)]


def _random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


# --------------------------------------------------------------------------- discrete: identities


@FAST
@given(pairs(p_zeros=True))
def test_cross_entropy_is_entropy_plus_kl(pq):
    p, q = pq
    assert cross_entropy(p, q) == pytest.approx(entropy(p) + kl_divergence(p, q), abs=ROUNDING)


@FAST
@given(pairs(p_zeros=True))
def test_kl_is_non_negative_zero_at_p_and_positive_elsewhere(pq):
    p, q = pq
    assert kl_divergence(p, p) == 0.0
    kl = kl_divergence(p, q)
    assert kl >= -ROUNDING
    # Pinsker: KL(p ‖ q) ≥ ½ ‖p − q‖₁², so KL > 0 whenever p ≠ q
    l1 = np.abs(p - q).sum()
    assert kl >= 0.5 * l1**2 - ROUNDING
    if l1 > 1e-6:
        assert kl > 0


def test_kl_is_asymmetric_known_values():
    p, q = [0.5, 0.5], [0.9, 0.1]
    # KL(p‖q) = ½ log(0.5/0.9) + ½ log(0.5/0.1) = log(5/3)
    assert kl_divergence(p, q) == pytest.approx(math.log(5 / 3), abs=1e-15)
    # KL(q‖p) = 0.9 log 1.8 + 0.1 log 0.2
    assert kl_divergence(q, p) == pytest.approx(0.9 * math.log(1.8) + 0.1 * math.log(0.2),
                                                abs=1e-15)
    assert kl_divergence(p, q) - kl_divergence(q, p) > 0.14


@SLOW
@given(st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_kl_asymmetry_is_the_rule_not_the_exception(k, seed):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(k), size=(2, 500))
    gap = np.abs(kl_divergence(p, q) - kl_divergence(q, p))
    assert np.mean(gap > 1e-9) > 0.95


@FAST
@given(pairs(p_zeros=True))
def test_bits_are_nats_over_ln2(pq):
    p, q = pq
    for f, args in [(entropy, (p,)), (cross_entropy, (p, q)), (kl_divergence, (p, q))]:
        assert f(*args, base="bits") == pytest.approx(f(*args, base="nats") / LN2, rel=1e-14)
    assert LN2 == math.log(2)


@pytest.mark.parametrize("k", [1, 2, 3, 10, 256])
def test_uniform_entropy_is_log_k(k):
    uniform = np.full(k, 1.0 / k)
    assert entropy(uniform) == pytest.approx(math.log(k), abs=1e-12)
    assert entropy(uniform, base="bits") == pytest.approx(math.log2(k), abs=1e-12)


@FAST
@given(distributions(zeros=True))
def test_entropy_lies_between_0_and_log_k(p):
    assert -ROUNDING <= entropy(p) <= math.log(len(p)) + ROUNDING


@pytest.mark.parametrize("k, hot", [(2, 0), (5, 3), (10, 9)])
def test_one_hot_has_zero_entropy_and_0_log_0_is_0(k, hot):
    one_hot = np.eye(k)[hot]
    assert entropy(one_hot) == 0.0
    assert cross_entropy(one_hot, one_hot) == 0.0
    assert kl_divergence(one_hot, one_hot) == 0.0
    # q's other outcomes do not matter where p is 0: −log q_hot
    q = np.full(k, 1.0 / k)
    assert cross_entropy(one_hot, q) == pytest.approx(math.log(k))
    assert kl_divergence(one_hot, q) == pytest.approx(math.log(k))


def test_kl_is_infinite_where_q_is_zero_under_p_mass():
    p, q = [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]
    assert kl_divergence(p, q) == math.inf
    assert cross_entropy(p, q) == math.inf
    # the other way round is finite: p = 0 where q has mass costs nothing
    assert kl_divergence(q, p) == pytest.approx(math.log(2))
    assert np.isfinite(cross_entropy(q, p))


def test_batches_broadcast_over_leading_axes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=(3, 5))
    q = rng.dirichlet(np.ones(4))
    kl = kl_divergence(p, q)
    assert kl.shape == (3, 5)
    assert kl[2, 4] == pytest.approx(kl_divergence(p[2, 4], q), abs=1e-15)
    assert entropy(p).shape == (3, 5)
    assert entropy(p)[1, 2] == pytest.approx(entropy(p[1, 2]), abs=1e-15)
    assert cross_entropy(q, p)[0, 3] == pytest.approx(cross_entropy(q, p[0, 3]), abs=1e-15)


# --------------------------------------------------------------------------- cross-entropy = NLL


def test_cross_entropy_of_empirical_distribution_is_mean_nll():
    rng = np.random.default_rng(1)
    q = np.array([0.1, 0.2, 0.3, 0.4])  # the model
    samples = rng.choice(4, size=1000, p=[0.4, 0.3, 0.2, 0.1])
    p_hat = np.bincount(samples, minlength=4) / len(samples)
    mean_nll = -np.mean(np.log(q[samples]))
    assert cross_entropy(p_hat, q) == pytest.approx(mean_nll, abs=1e-12)


@FAST
@given(st.lists(st.integers(0, 5), min_size=1, max_size=200), distributions(k=6))
def test_minimising_cross_entropy_is_maximising_likelihood(samples, q):
    samples = np.asarray(samples)
    p_hat = np.bincount(samples, minlength=6) / len(samples)
    assert cross_entropy(p_hat, q) == pytest.approx(-np.mean(np.log(q[samples])), abs=ROUNDING)
    # the maximum-likelihood categorical is p̂ itself: no q has a lower cross-entropy
    assert cross_entropy(p_hat, q) >= cross_entropy(p_hat, p_hat) - ROUNDING


# --------------------------------------------------------------------------- discrete: bad inputs


@pytest.mark.parametrize(
    "p, q, base, match",
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], "nats", "p has a negative probability"),
        ([0.5, 0.5], [1.2, -0.2], "nats", "q has a negative probability"),
        ([0.5, 0.6], [0.5, 0.5], "nats", "p must sum to 1"),
        ([0.5, 0.5], [0.2, 0.2], "nats", "q must sum to 1"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], "nats", "same number of outcomes"),
        ([0.5, 0.5], [0.5, 0.5], "decibels", "base must be 'nats' or 'bits', got 'decibels'"),
        ([0.5, np.nan], [0.5, 0.5], "nats", "p has a non-finite"),
        ([], [], "nats", "at least one outcome"),
    ],
)
def test_bad_inputs_raise_value_error_naming_the_problem(p, q, base, match):
    with pytest.raises(ValueError, match=match):
        kl_divergence(p, q, base=base)
    with pytest.raises(ValueError, match=match):
        cross_entropy(p, q, base=base)


def test_entropy_rejects_bad_inputs():
    with pytest.raises(ValueError, match="negative"):
        entropy([1.5, -0.5])
    with pytest.raises(ValueError, match="sum to 1"):
        entropy([[0.5, 0.5], [0.5, 0.4]])
    with pytest.raises(ValueError, match="decibels"):
        entropy([0.5, 0.5], base="decibels")
    with pytest.raises(ValueError, match="batch shapes"):
        kl_divergence(np.full((2, 3), 1 / 3), np.full((4, 3), 1 / 3))


def test_rounding_within_tolerance_is_accepted_and_cannot_make_kl_negative():
    p = np.array([0.5, 0.5 + 5e-7])  # a float32 softmax can be this far off
    q = np.array([0.5, 0.5 - 5e-7])
    assert kl_divergence(p, q) >= 0.0
    assert kl_divergence(p, q) == pytest.approx(0.0, abs=1e-11)


# --------------------------------------------------------------------------- gaussians


def test_gaussian_entropy_known_values():
    assert gaussian_entropy([0.0]) == pytest.approx(0.5 * (1 + math.log(2 * math.pi)), abs=1e-15)
    # σ² = 4 in 3 dimensions: (3/2) log(2πe) + (3/2) log 4
    expected = 1.5 * math.log(2 * math.pi * math.e) + 1.5 * math.log(4)
    assert gaussian_entropy(np.full(3, math.log(4))) == pytest.approx(expected, abs=1e-12)
    logvar = np.array([[-2.0, 0.5], [1.0, 3.0]])
    torch_h = Normal(torch.zeros(2, 2, dtype=torch.float64),
                     torch.exp(0.5 * torch.from_numpy(logvar))).entropy().sum(-1).numpy()
    np.testing.assert_allclose(gaussian_entropy(logvar), torch_h, atol=1e-12)


@FAST
@given(diagonal_gaussians())
def test_gaussian_kl_matches_torch_distributions(gaussians):
    (mu_q, logvar_q), (mu_p, logvar_p) = gaussians

    def normal(mu, logvar):
        return Normal(torch.from_numpy(mu), torch.exp(0.5 * torch.from_numpy(logvar)))

    expected = torch.distributions.kl_divergence(normal(mu_q, logvar_q), normal(mu_p, logvar_p))
    assert gaussian_kl(mu_q, logvar_q, mu_p, logvar_p) == pytest.approx(
        expected.sum().item(), rel=1e-10, abs=1e-10)


def test_gaussian_kl_to_the_prior_matches_the_training_loss():
    rng = np.random.default_rng(2)
    mu, logvar = rng.standard_normal((6, 4)), rng.uniform(-3, 1, (6, 4))
    from_loss = gaussian_kl_to_standard_normal(torch.from_numpy(mu), torch.from_numpy(logvar))
    np.testing.assert_allclose(gaussian_kl(mu, logvar), from_loss.numpy(), rtol=1e-12)
    assert gaussian_kl(mu, logvar).shape == (6,)


def test_gaussian_kl_known_values_and_asymmetry():
    assert gaussian_kl([1.0], [0.0]) == pytest.approx(0.5)  # N(1, 1) ‖ N(0, 1)
    # N(0, 1) ‖ N(0, 4) = ½(log 4 + 1/4 − 1); reversed ½(−log 4 + 4 − 1)
    narrow, wide = ([0.0], [0.0]), ([0.0], [math.log(4)])
    assert gaussian_kl(*narrow, *wide) == pytest.approx(0.5 * (math.log(4) - 0.75))
    assert gaussian_kl(*wide, *narrow) == pytest.approx(0.5 * (3 - math.log(4)))


@FAST
@given(diagonal_gaussians())
def test_gaussian_cross_entropy_is_entropy_plus_kl_and_kl_is_gibbs(gaussians):
    (mu_q, logvar_q), (mu_p, logvar_p) = gaussians
    kl = gaussian_kl(mu_q, logvar_q, mu_p, logvar_p)
    assert gaussian_cross_entropy(mu_q, logvar_q, mu_p, logvar_p) == pytest.approx(
        gaussian_entropy(logvar_q) + kl, rel=1e-12, abs=1e-10)
    assert gaussian_kl(mu_q, logvar_q, mu_q, logvar_q) == 0.0
    assert kl >= 0.0
    # strictly positive once p differs from q by more than float64 can resolve in the KL
    if max(np.abs(mu_q - mu_p).max(), np.abs(logvar_q - logvar_p).max()) > 1e-4:
        assert kl > 0.0


def test_gaussian_cross_entropy_is_expected_negative_log_density():
    rng = np.random.default_rng(3)
    mu_q, logvar_q, mu_p, logvar_p = [0.3, -1.0], [0.5, -1.0], [0.0, 0.5], [0.2, 0.7]
    z = np.asarray(mu_q) + np.exp(0.5 * np.asarray(logvar_q)) * rng.standard_normal((200_000, 2))
    nll = -gaussian_log_density(z, mu_p, logvar_p)
    assert gaussian_cross_entropy(mu_q, logvar_q, mu_p, logvar_p) == pytest.approx(
        nll.mean(), abs=4 * nll.std() / math.sqrt(len(z)))


def test_gaussian_log_density_matches_torch():
    rng = np.random.default_rng(4)
    z, mu, logvar = rng.standard_normal((3, 5, 4))
    expected = Normal(torch.from_numpy(mu), torch.exp(0.5 * torch.from_numpy(logvar)))
    expected = expected.log_prob(torch.from_numpy(z)).sum(-1).numpy()
    np.testing.assert_allclose(gaussian_log_density(z, mu, logvar), expected, rtol=1e-12)


def test_gaussian_functions_reject_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match="do not broadcast"):
        gaussian_kl(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="mu_q has a non-finite"):
        gaussian_kl([np.nan], [0.0])


# --------------------------------------------------------------------------- full covariance


@FAST
@given(diagonal_gaussians())
def test_full_covariance_kl_equals_diagonal_kl_for_diagonal_covariances(gaussians):
    (mu_q, logvar_q), (mu_p, logvar_p) = gaussians
    full = gaussian_kl_full(mu_q, np.diag(np.exp(logvar_q)), mu_p, np.diag(np.exp(logvar_p)))
    assert full == pytest.approx(gaussian_kl(mu_q, logvar_q, mu_p, logvar_p), rel=1e-9, abs=1e-9)


def test_full_covariance_kl_hand_computed_2x2():
    cov = np.array([[2.0, 1.0], [1.0, 2.0]])  # det 3, inverse [[2, -1], [-1, 2]] / 3
    # q = N([1, 0], cov), p = N(0, I): ½ (tr cov + μᵀμ − 2 − log det cov) = ½ (3 − log 3)
    assert gaussian_kl_full([1.0, 0.0], cov) == pytest.approx(1.5 - 0.5 * math.log(3), abs=1e-14)
    # q = N(0, I), p = N([1, 0], cov): ½ (tr cov⁻¹ + μᵀcov⁻¹μ − 2 + log det cov)
    #                                  = ½ (4/3 + 2/3 − 2 + log 3) = ½ log 3
    assert gaussian_kl_full([0.0, 0.0], np.eye(2), [1.0, 0.0], cov) == pytest.approx(
        0.5 * math.log(3), abs=1e-14)


def test_full_covariance_kl_matches_torch_and_batches():
    rng = np.random.default_rng(5)
    d = 4
    mean_q, mean_p = rng.standard_normal((2, 3, d))
    cov_q = np.stack([_random_spd(rng, d) for _ in range(3)])
    cov_p = np.stack([_random_spd(rng, d) for _ in range(3)])
    expected = torch.distributions.kl_divergence(
        MultivariateNormal(torch.from_numpy(mean_q), torch.from_numpy(cov_q)),
        MultivariateNormal(torch.from_numpy(mean_p), torch.from_numpy(cov_p))).numpy()
    np.testing.assert_allclose(gaussian_kl_full(mean_q, cov_q, mean_p, cov_p), expected, rtol=1e-9)
    itself = gaussian_kl_full(mean_q[0], cov_q[0], mean_q[0], cov_q[0])
    assert itself == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "cov, match",
    [
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "cov_q is not positive definite"),
        (np.array([[1.0, 0.5], [0.0, 1.0]]), "cov_q is not symmetric"),
        (np.eye(3), r"cov_q must have shape \(\.\.\., 2, 2\)"),
    ],
)
def test_full_covariance_kl_rejects_bad_covariances(cov, match):
    with pytest.raises(ValueError, match=match):
        gaussian_kl_full([0.0, 0.0], cov)


# --------------------------------------------------------------------------- Monte Carlo KL


MC_CASE = {"mu_q": [0.5, -1.0, 2.0], "logvar_q": [0.2, -0.5, 1.0],
           "mu_p": [0.0, 0.3, 1.0], "logvar_p": [0.1, 0.4, 0.0]}


def test_monte_carlo_kl_converges_to_the_closed_form():
    exact = gaussian_kl(**MC_CASE)
    estimate, standard_error = monte_carlo_gaussian_kl(**MC_CASE, n_samples=200_000, seed=0)
    assert abs(estimate - exact) < 4 * standard_error
    assert standard_error < 0.01 * exact  # the test above is not vacuous


def test_monte_carlo_standard_error_shrinks_as_one_over_root_n():
    _, se_small = monte_carlo_gaussian_kl(**MC_CASE, n_samples=2_000, seed=1)
    _, se_large = monte_carlo_gaussian_kl(**MC_CASE, n_samples=200_000, seed=2)
    assert 8.0 < se_small / se_large < 12.5  # √100 = 10


def test_monte_carlo_kl_of_q_to_itself_is_exactly_zero_and_seeded():
    mu, logvar = MC_CASE["mu_q"], MC_CASE["logvar_q"]
    assert monte_carlo_gaussian_kl(mu, logvar, mu, logvar, n_samples=100, seed=0) == (0.0, 0.0)
    first = monte_carlo_gaussian_kl(**MC_CASE, n_samples=100, seed=7)
    assert monte_carlo_gaussian_kl(**MC_CASE, n_samples=100, seed=7) == first
    with pytest.raises(ValueError, match="n_samples"):
        monte_carlo_gaussian_kl(**MC_CASE, n_samples=1, seed=0)


def test_monte_carlo_kl_batches():
    mu_q = np.array([[0.0, 0.0], [1.0, -1.0]])
    estimate, standard_error = monte_carlo_gaussian_kl(
        mu_q, np.zeros(2), 0.0, 0.0, n_samples=50_000, seed=3)
    assert estimate.shape == standard_error.shape == (2,)
    np.testing.assert_allclose(estimate, [0.0, 1.0], atol=4 * standard_error.max() + 1e-15)


# --------------------------------------------------------------------------- mutual information


def _reference_mutual_information(mu, logvar, n_samples_per_x, seed):
    """Brute force, N × N × d at once, with the draws in the documented order."""
    n, d = mu.shape
    eps = np.random.default_rng(seed).standard_normal((n, n_samples_per_x, d))
    z = (mu[:, None] + np.exp(0.5 * logvar)[:, None] * eps).reshape(-1, d)
    owner = np.repeat(np.arange(n), n_samples_per_x)
    log_q_z_given_x = gaussian_log_density(z[:, None, :], mu[None], logvar[None])
    log_q_z = logsumexp(log_q_z_given_x, axis=1) - math.log(n)
    return np.mean(log_q_z_given_x[np.arange(len(z)), owner] - log_q_z)


@SLOW
@given(diagonal_gaussians(n=1), st.integers(1, 40))
def test_mutual_information_of_a_collapsed_encoder_is_zero(gaussian, n):
    ((mu, logvar),) = gaussian
    collapsed = np.tile(mu, (n, 1)), np.tile(logvar, (n, 1))
    assert mutual_information_gaussian_encoder(*collapsed, n_samples_per_x=3) == pytest.approx(
        0.0, abs=1e-12)


@SLOW
@given(st.integers(2, 60), st.integers(1, 4), st.floats(0.0, 10.0), st.integers(0, 1000))
def test_mutual_information_is_between_0_and_log_n(n, d, spread, seed):
    rng = np.random.default_rng(seed)
    mu = spread * rng.standard_normal((n, d))
    logvar = rng.uniform(-4.0, 2.0, (n, d))
    mi = mutual_information_gaussian_encoder(mu, logvar, n_samples_per_x=4, seed=seed)
    assert mi <= math.log(n) + ROUNDING
    assert mi >= -0.5  # an estimate: ≥ 0 only in expectation


def test_well_separated_encoder_reaches_log_n_and_beats_a_collapsed_one():
    n, d = 200, 3
    rng = np.random.default_rng(6)
    separated = 100.0 * np.arange(n)[:, None] * np.ones(d), np.zeros((n, d))
    collapsed = np.zeros((n, d)), np.zeros((n, d))
    overlapping = 0.5 * rng.standard_normal((n, d)), np.zeros((n, d))
    mi_separated = mutual_information_gaussian_encoder(*separated)
    mi_overlapping = mutual_information_gaussian_encoder(*overlapping, n_samples_per_x=5)
    mi_collapsed = mutual_information_gaussian_encoder(*collapsed)
    assert mi_separated == pytest.approx(math.log(n), abs=1e-9)
    assert mi_separated > mi_overlapping > mi_collapsed + 0.1
    assert mi_collapsed == pytest.approx(0.0, abs=1e-12)


def test_mutual_information_of_a_gaussian_channel():
    # x ~ N(0, s²), z | x ~ N(x, σ²): I(x; z) = ½ log(1 + s²/σ²) = ½ log 2 for s = σ = 1
    rng = np.random.default_rng(7)
    mu = rng.standard_normal((2000, 1))
    mi = mutual_information_gaussian_encoder(mu, np.zeros_like(mu), n_samples_per_x=10, seed=1)
    assert mi == pytest.approx(0.5 * math.log(2), abs=0.02)


def test_chunked_equals_unchunked_and_the_brute_force_reference():
    rng = np.random.default_rng(8)
    n, d, per_x = 97, 5, 3
    mu, logvar = 2.0 * rng.standard_normal((n, d)), rng.uniform(-3.0, 1.0, (n, d))
    whole = mutual_information_gaussian_encoder(mu, logvar, per_x, seed=4, chunk_size=n * per_x)
    for chunk_size in [1, 7, 64, n * per_x + 5, None]:
        chunked = mutual_information_gaussian_encoder(mu, logvar, per_x, seed=4,
                                                      chunk_size=chunk_size)
        assert chunked == pytest.approx(whole, abs=1e-10)
    assert whole == pytest.approx(_reference_mutual_information(mu, logvar, per_x, 4), abs=1e-10)


def test_mutual_information_is_translation_invariant():
    rng = np.random.default_rng(9)
    mu, logvar = rng.standard_normal((300, 4)), np.full((300, 4), math.log(0.01))
    mi = mutual_information_gaussian_encoder(mu, logvar, seed=5)
    # far from the origin the expanded squares would cancel: about 1e-6 nats lost uncentred
    assert mutual_information_gaussian_encoder(mu + 1e5, logvar, seed=5) == pytest.approx(
        mi, abs=1e-10)


def test_mutual_information_memory_stays_bounded_by_the_chunk():
    n, d = 3000, 8
    rng = np.random.default_rng(10)
    mu, logvar = rng.standard_normal((n, d)), np.zeros((n, d))
    tracemalloc.start()
    try:
        mutual_information_gaussian_encoder(mu, logvar, chunk_size=64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_n_by_n = n * n * 8  # bytes of a single N × N float64 array, 1/d of N × N × d
    assert peak < one_n_by_n / 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mu": np.zeros((5, 2)), "logvar": np.zeros((5, 3))}, "shape"),
        ({"mu": np.zeros(5), "logvar": np.zeros(5)}, r"shape \(N, d\)"),
        ({"mu": np.zeros((5, 2)), "logvar": np.zeros((5, 2)), "chunk_size": 0}, "chunk_size"),
        ({"mu": np.zeros((5, 2)), "logvar": np.zeros((5, 2)), "n_samples_per_x": 0},
         "n_samples_per_x"),
    ],
)
def test_mutual_information_rejects_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mutual_information_gaussian_encoder(**kwargs)
