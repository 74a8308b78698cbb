"""latentlab.train.optim.Adam is torch.optim.Adam's update, bitwise, on the CPU."""

from __future__ import annotations

import pytest
import torch

from latentlab.models import build_model
from latentlab.train.optim import Adam


def _train_pair(kind: str, steps: int, lr: float, *, freeze_decoder_every: int = 0):
    """The same model trained twice from the same weights: torch's Adam, then ours."""
    torch.manual_seed(0)
    ours = build_model(kind, 64, (32, 16), 4, "relu")
    reference = build_model(kind, 64, (32, 16), 4, "relu")
    reference.load_state_dict(ours.state_dict())
    pairs = [(reference, torch.optim.Adam(reference.parameters(), lr=lr)),
             (ours, Adam(ours.parameters(), lr=lr))]
    x = torch.rand(96, 64)
    for step in range(steps):
        batch = x[(step % 3) * 32:(step % 3 + 1) * 32]
        for model, optimizer in pairs:
            torch.manual_seed(step)  # the VAE's reparameterisation noise
            out = model(batch)
            logits = out[0] if isinstance(out, tuple) else out
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch)
            if freeze_decoder_every and step % freeze_decoder_every == 0:
                loss = model.encode(batch)[0].pow(2).mean() if kind == "vae" else \
                    model.encode(batch).pow(2).mean()  # the decoder gets no gradient
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return reference, ours


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_bitwise_equal_to_torch_adam_over_many_steps(kind):
    reference, ours = _train_pair(kind, steps=200, lr=3e-3)
    for (name, a), b in zip(reference.named_parameters(), ours.parameters()):
        assert torch.equal(a, b), name


def test_a_parameter_without_gradient_is_skipped_and_keeps_its_own_step_count():
    reference, ours = _train_pair("ae", steps=30, lr=1e-2, freeze_decoder_every=4)
    for (name, a), b in zip(reference.named_parameters(), ours.parameters()):
        assert torch.equal(a, b), name


def test_zero_grad_and_bad_arguments():
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = Adam([weight], lr=0.1)
    weight.sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert torch.equal(weight.grad, torch.zeros(3))
    optimizer.zero_grad()
    assert weight.grad is None
    optimizer.step()  # no gradient: nothing moves
    assert torch.equal(weight, torch.ones(3).requires_grad_())
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([], lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate"):
        Adam([weight], lr=0.0)
