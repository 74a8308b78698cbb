"""Issue 11: training at the device's pace, against pytorch/examples' VAE on the same device.

Everything is measured in one run on one device, so the ratios hold whatever the machine:

* ``baseline``: pytorch/examples' ``vae/main.py`` training loop, as written there: a
  784-400-20 VAE, a ``DataLoader`` over a ``TensorDataset`` (batch 128, shuffled), each
  batch moved with ``.to(device)``, ``loss.item()`` read every step;
* ``ours@128``: the same 784-400-20 VAE trained by ``latentlab.train.loop.fit`` at batch 128:
  the data set lives on the device, batches are index slices, per-epoch sums stay on the
  device (one host sync per epoch), fused Adam on CUDA;
* ``ours@large``: the widest default model (784-512-256, latent 8) at a large batch; its
  achieved TFLOP/s (3 x sum of 2·in·out per Linear layer per image: forward, and ~2x
  that for the backward pass) against a large
  float32 matmul timed on the same device;
* ``bf16``: the same model trained in fp32 and with bf16 autocast; test ELBOs compared;
* ``iwae``: the importance-weighted log p(x) (K samples) of the test images, in chunks that
  fit ``--max-batch-mb`` (``evaluate.max_batch_mb``).

The data is synthetic MNIST-shaped images (benchlib.synthetic_images): throughput per image
does not depend on the pixels. Defaults are sized per device (a CPU gets a smaller run).

Run (device machine): ``python benchmarks/device_training.py --device cuda --out X.json``
Run (CPU):            ``python benchmarks/device_training.py --device cpu``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

SIZES = {  # n_train, epochs, large batch, IWAE images, IWAE K
    "cuda": {"n": 60000, "epochs": 3, "large_batch": 8192, "iwae_n": 10000, "iwae_k": 5000},
    "cpu": {"n": 6000, "epochs": 1, "large_batch": 1024, "iwae_n": 100, "iwae_k": 5000},
}
WIDEST = (512, 256)  # train.common.hidden_sizes: auto on 28x28 data
LATENT = 8


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


class ExamplesVAE:
    """pytorch/examples vae/main.py's model and loss, verbatim in substance (784-400-20)."""

    @staticmethod
    def build():
        import torch
        from torch import nn
        from torch.nn import functional as F

        class VAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), \
                    nn.Linear(400, 20)
                self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

            def forward(self, x):
                h1 = F.relu(self.fc1(x.view(-1, 784)))
                mu, logvar = self.fc21(h1), self.fc22(h1)
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
                return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar

        def loss_function(recon_x, x, mu, logvar):
            bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
            return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

        return VAE(), loss_function


def baseline_images_per_s(x_host, device, epochs: int) -> float:
    """pytorch/examples' train(): DataLoader, ``.to(device)`` and ``loss.item()`` per batch."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model, loss_function = ExamplesVAE.build()
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(x_host), batch_size=128, shuffle=True)
    model.train()
    sync(device)
    started = time.perf_counter()
    for _ in range(epochs):
        train_loss = 0.0
        for (data,) in loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
    sync(device)
    return epochs * len(x_host) / (time.perf_counter() - started)


def fit_images_per_s(x, x_val, device, hidden, latent, batch: int, epochs: int,
                     precision: str = "fp32") -> tuple[float, object]:
    """latentlab.train.loop.fit on device-resident data; images/s and the trained model."""
    import torch

    from latentlab.models import build_model
    from latentlab.train.loop import fit, vae_training_objective

    torch.manual_seed(0)
    model = build_model("vae", x.shape[1], hidden, latent, "relu").to(device)
    objective = vae_training_objective("bernoulli", 0.1, 1.0)
    run = lambda n: fit(model, x, x_val, objective, epochs=n, batch_size=batch,  # noqa: E731
                        learning_rate=1e-3, patience=n + 1, seed=0, monitor="-elbo",
                        precision=precision)
    run(1)  # warm-up: allocator, kernels, cuBLAS handles
    sync(device)
    started = time.perf_counter()
    run(epochs)
    sync(device)
    return epochs * len(x) / (time.perf_counter() - started), model


def matmul_flops_per_s(device, n: int, repeats: int = 10) -> float:
    """A large float32 matmul (TF32 off): the device's practical fp32 peak."""
    import torch

    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return repeats * 2 * n**3 / (time.perf_counter() - started)


def test_elbo(model, x_test) -> float:
    from latentlab.train.loop import evaluate, vae_training_objective

    return evaluate(model, vae_training_objective("bernoulli", 0.1, 1.0), x_test, x_test)["elbo"]


def iwae_seconds(model, x_test, k: int, max_batch_mb: float) -> float:
    from latentlab.analysis.evaluate import model_log_likelihood
    from latentlab.analysis.iwae import iwae_bound

    device = x_test.device
    sync(device)
    started = time.perf_counter()
    iwae_bound(model.encode, model_log_likelihood(model, "bernoulli", 0.1), x_test, k, seed=0,
               max_batch_mb=max_batch_mb)
    sync(device)
    return time.perf_counter() - started


def run(device_name: str, max_batch_mb: float) -> dict:
    import numpy as np
    import torch

    from latentlab.train import device as devices

    device = devices.resolve(device_name, "--device")
    size = SIZES[device.type]
    torch.set_num_threads(benchlib.pipeline_threads() if device.type == "cpu" else 1)
    images, _ = benchlib.synthetic_images(size["n"] + 2000, seed=0)
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    x_host = torch.bernoulli(torch.from_numpy(pixels), generator=torch.Generator().manual_seed(0))
    x = x_host[:size["n"]].to(device)
    x_val, x_test = x_host[size["n"]:size["n"] + 1000].to(device), x_host[-1000:].to(device)

    out = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
           "sizes": size, "epochs": size["epochs"]}
    base = baseline_images_per_s(x_host[:size["n"]], device, size["epochs"])
    ours128, _ = fit_images_per_s(x, x_val, device, (400,), 20, 128, size["epochs"])
    out["batch128"] = {"baseline_images_per_s": base, "ours_images_per_s": ours128,
                       "ratio": ours128 / base}

    batch = size["large_batch"]
    epochs = max(size["epochs"], 3)
    rate32, model32 = fit_images_per_s(x, x_val, device, WIDEST, LATENT, batch, epochs)
    rate16, model16 = fit_images_per_s(x, x_val, device, WIDEST, LATENT, batch, epochs, "bf16")
    peak = matmul_flops_per_s(device, 8192 if device.type == "cuda" else 2048)
    per_image = 3.0 * benchlib.linear_flops(benchlib.model_linear_shapes(model32))  # fwd + bwd
    elbo32, elbo16 = test_elbo(model32, x_test), test_elbo(model16, x_test)
    out["large"] = {"batch": batch, "images_per_s": rate32, "tflops": rate32 * per_image / 1e12,
                    "matmul_peak_tflops": peak / 1e12,
                    "share_of_peak": rate32 * per_image / peak,
                    "bf16_images_per_s": rate16, "bf16_speedup": rate16 / rate32,
                    "test_elbo_fp32": elbo32, "test_elbo_bf16": elbo16,
                    "bf16_elbo_rel_diff": abs(elbo16 - elbo32) / abs(elbo32)}
    # the held-out images when there are enough, else the first iwae_n images of the set
    x_iwae = (x_test if size["iwae_n"] <= len(x_test) else x_host.to(device))[:size["iwae_n"]]
    seconds = iwae_seconds(model32, x_iwae, size["iwae_k"], max_batch_mb)
    out["iwae"] = {"images": len(x_iwae), "k": size["iwae_k"], "max_batch_mb": max_batch_mb,
                   "seconds": seconds}
    return out


def render(r: dict) -> str:
    b, lg, iw = r["batch128"], r["large"], r["iwae"]
    return "\n".join([
        f"device: {r['device']}  (synthetic 784-d, {r['sizes']['n']} images)",
        f"batch 128, 784-400-20: pytorch/examples loop {b['baseline_images_per_s']:,.0f} img/s, "
        f"latentlab fit {b['ours_images_per_s']:,.0f} img/s, ratio {b['ratio']:.2f}x",
        f"batch {lg['batch']}, 784-512-256-8: {lg['images_per_s']:,.0f} img/s = "
        f"{lg['tflops']:.3f} TFLOP/s, {100 * lg['share_of_peak']:.0f} % of the "
        f"{lg['matmul_peak_tflops']:.2f} TFLOP/s fp32 matmul",
        f"bf16 autocast: {lg['bf16_speedup']:.2f}x fp32's speed; test ELBO "
        f"{lg['test_elbo_bf16']:.2f} vs {lg['test_elbo_fp32']:.2f} "
        f"({100 * lg['bf16_elbo_rel_diff']:.2f} % apart)",
        f"IWAE log p(x): {iw['images']} images x K={iw['k']} in {iw['seconds']:.2f} s "
        f"(chunks <= {iw['max_batch_mb']:.0f} MB)",
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--max-batch-mb", type=float, default=2048.0,
                    help="IWAE memory cap per chunk (evaluate.max_batch_mb)")
    ap.add_argument("--out", type=Path, help="write the numbers as JSON here")
    args = ap.parse_args()
    return benchlib.publish(run(args.device, args.max_batch_mb), render, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
