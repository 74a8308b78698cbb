"""Where the tensors live, and in what precision the forward pass runs.

``auto`` takes CUDA when PyTorch sees a GPU and the CPU otherwise, so one
``params.yaml`` serves a laptop and a GPU node; the code path is the same on
both (data set, model and per-epoch sums all live on the chosen device, see
:mod:`latentlab.train.loop`). ``cuda`` is for a run that must fail rather than
quietly fall back to the CPU.

``bf16`` runs the forward pass under ``torch.autocast`` with bfloat16 (weights
and optimiser state stay float32). It is a speed option for GPUs with bf16
tensor cores; on a CPU it is mostly slower, so the default is ``fp32``.
"""

from __future__ import annotations

import contextlib

import torch

from latentlab.errors import LatentlabError


class DeviceError(LatentlabError):
    """The requested device does not exist on this machine."""


def resolve(name: str, section: str = "train.common") -> torch.device:
    """The device ``name`` (``auto`` | ``cpu`` | ``cuda``) stands for on this machine."""
    if name == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if name == "cuda":
        raise DeviceError(f"{section}.device is cuda, but PyTorch sees no CUDA GPU "
                          f"(torch {torch.__version__}, torch.cuda.is_available() is False); "
                          "set it to auto or cpu")
    return torch.device("cpu")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on ``device`` for ``precision == "bf16"``; a no-op context for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def adam(parameters, learning_rate: float, device: torch.device):
    """Adam: on CUDA ``torch.optim.Adam``'s fused kernel (one launch per step instead of
    several per tensor); on the CPU :class:`latentlab.train.optim.Adam`.

    The CPU class computes bitwise what ``torch.optim.Adam`` computes there, without
    the 2 s import of ``torch._dynamo`` that constructing a ``torch.optim`` optimizer
    costs each training stage, and with ~1 ms less per step (see :mod:`latentlab.train.optim`).
    """
    if device.type == "cuda":
        return torch.optim.Adam(parameters, lr=learning_rate, fused=True)
    from latentlab.train.optim import Adam

    return Adam(parameters, lr=learning_rate)
