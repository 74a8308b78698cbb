"""The only door to MLflow.

``store`` (the one tracking URI, the experiment, the client), ``sqlite_store``
(a local database built whole, then linked into place), ``stage_run`` (a
stage's run, driven by a worker process, and its DVC link file), ``worker``
(the process that imports mlflow and talks to the store), ``run_record``
(a run's params and its saved copy, on the stage's side), ``mlflow_runs``
(creating runs, logging events, replaying saved runs), ``parent_run`` (one
parent run per pipeline run), ``model_export`` (the VAE encoder as an
MLflow model), ``owner`` (the process that ends a run, as tags), ``reaper``
(ending runs whose owner is gone), ``store_errors`` (a store failure in one
line; retrying a locked store) and ``ui`` (``make ui``: ``mlflow ui`` opened on
the runs table). ``python -m latentlab.tracking init|uri|replay|reap|ui``.
"""
