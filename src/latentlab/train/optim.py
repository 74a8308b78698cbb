"""Adam for the CPU, without ``torch.optim``'s start-up cost.

Why not ``torch.optim.Adam`` on the CPU: constructing any ``torch.optim``
optimizer imports ``torch._dynamo`` (``Optimizer._patch_step_function`` is
wrapped in ``torch._disable_dynamo``), 2.0–2.7 s of every training stage here,
and each ``step()`` goes through dynamo's disable wrapper, the profiler hooks
and a per-tensor Python loop: ~1 ms per step for the digits MLP's twelve
tensors, as long as its forward pass (``benchmarks/training_throughput.py``
times both). This class is the same update, written as a handful of
``torch._foreach_*`` calls over all parameters at once.

It computes exactly what ``torch.optim.Adam(lr=...)`` computes on the CPU
(defaults: betas (0.9, 0.999), eps 1e-8, no weight decay, no AMSGrad), in the
same order of floating-point operations, so the results are bitwise equal
(``tests/unit/test_optim.py`` checks it over many steps). On CUDA the pipeline
uses ``torch.optim.Adam(fused=True)`` instead (see :func:`latentlab.train.device.adam`):
one kernel launch per step matters there, start-up does not.
"""

from __future__ import annotations

from typing import Iterable

import torch


class Adam:
    """Adam (Kingma & Ba 2015) over a fixed list of parameters, bias-corrected.

    Only what the training loop uses: ``zero_grad(set_to_none=True)`` and
    ``step()``. Parameters without a gradient in a step are skipped in that
    step, as ``torch.optim`` does.
    """

    def __init__(self, parameters: Iterable[torch.nn.Parameter], lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in parameters if p.requires_grad]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"invalid learning rate {lr}")
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.steps = [0] * len(self.params)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format)
                        for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format)
                           for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if len(live) == len(self.params) and min(self.steps) == max(self.steps):
            self._update(live)  # the usual case: every tensor, all at the same step
            return
        groups: dict[int, list[int]] = {}  # bias correction depends on each tensor's own count
        for i in live:
            groups.setdefault(self.steps[i], []).append(i)
        for indices in groups.values():
            self._update(indices)

    def _update(self, indices: list[int]) -> None:
        """The update of ``torch.optim.adam._single_tensor_adam`` (float lr, not capturable)."""
        for i in indices:
            self.steps[i] += 1
        step = self.steps[indices[0]]
        params = [self.params[i] for i in indices]
        grads = [self.params[i].grad for i in indices]
        exp_avg = [self.exp_avg[i] for i in indices]
        exp_avg_sq = [self.exp_avg_sq[i] for i in indices]

        torch._foreach_lerp_(exp_avg, grads, 1 - self.beta1)
        torch._foreach_mul_(exp_avg_sq, self.beta2)
        torch._foreach_addcmul_(exp_avg_sq, grads, grads, 1 - self.beta2)
        bias_correction1 = 1 - self.beta1 ** step
        bias_correction2 = 1 - self.beta2 ** step
        step_size = self.lr / bias_correction1
        denom = torch._foreach_sqrt(exp_avg_sq)
        torch._foreach_div_(denom, bias_correction2 ** 0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, exp_avg, denom, -step_size)
