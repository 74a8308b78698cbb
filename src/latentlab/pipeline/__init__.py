"""The DVC pipeline as a whole, beside its stages.

``run`` (``python -m latentlab.pipeline.run repro|exp run``: DVC under one
parent MLflow run), ``rerun_status`` (``python -m
latentlab.pipeline.rerun_status``: which stages rerun and why) and
``sandbox`` (a throwaway copy of the repository for tests, benchmarks and the
team check).
"""
