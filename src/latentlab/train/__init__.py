"""Training: the loop with its guards, the run of one model, and what the loop needs.

``loop`` (``fit``, ``evaluate``, the objectives, seeding), ``trainer`` (one
model of ``train@<model>``: train, encode every split, save and load),
``losses`` (per-example reconstruction NLL, the ELBO terms), ``optim`` (Adam
without ``torch._dynamo`` on the CPU), ``device`` (cpu | cuda, precision),
``kl_schedule`` (the VAE's effective beta per epoch) and ``progress`` (the
terminal bar). Nothing here knows MLflow: results leave through ``on_epoch``.
"""
