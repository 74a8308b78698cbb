"""The DAE's corruptions do what their params say."""

import pytest
import torch

from latentlab.data.noise import gaussian_noise, make_corruption, masking_noise


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 0.9])
def test_masking_zeroes_the_asked_fraction(fraction):
    x = torch.ones(400, 250)
    gen = torch.Generator().manual_seed(1)
    zeroed = (masking_noise(x, fraction, gen) == 0).float().mean().item()
    assert zeroed == pytest.approx(fraction, abs=0.01)


def test_masking_scales_the_kept_pixels_so_the_expected_input_is_the_clean_one():
    x = torch.rand(50, 20, generator=torch.Generator().manual_seed(0)) + 0.1
    out = masking_noise(x, 0.3, torch.Generator().manual_seed(2))
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / 0.7)  # as nn.Dropout(0.3) in training
    ones = torch.ones(2000, 500)
    mean = masking_noise(ones, 0.25, torch.Generator().manual_seed(3)).mean().item()
    assert mean == pytest.approx(1.0, abs=0.005)  # E[corrupt(x)] = x: clean test inputs match


def test_gaussian_noise_has_the_asked_std():
    x = torch.zeros(500, 200)
    out = gaussian_noise(x, 0.3, torch.Generator().manual_seed(0))
    assert out.std().item() == pytest.approx(0.3, rel=0.02)
    assert out.mean().item() == pytest.approx(0.0, abs=0.01)


def test_same_generator_seed_same_corruption():
    x = torch.ones(10, 10)
    a = make_corruption("masking", 0.5)(x, torch.Generator().manual_seed(3))
    b = make_corruption("masking", 0.5)(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_unknown_noise_type():
    with pytest.raises(ValueError, match="unknown noise type"):
        make_corruption("salt", 0.1)
