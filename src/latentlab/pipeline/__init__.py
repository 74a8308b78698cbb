"""The DVC pipeline as a whole, beside its stages.

``run`` (``python -m latentlab.pipeline.run repro|exp run``: DVC under one
parent MLflow run), ``rerun_status`` (``python -m
latentlab.pipeline.rerun_status``: which stages rerun and why), ``compare``
(``python -m latentlab.pipeline.compare``, ``make compare``: the experiments
side by side, only the params that differ and the headline metrics), ``stdout``
(a command's answer printed; a closed pipe ends it quietly) and ``sandbox``
(a throwaway copy of the repository for tests, benchmarks and the team check).
"""
