"""Shared tracking for a team: an MLflow server on a PostgreSQL backend store.

A team points every pipeline at one ``mlflow server`` with
``MLFLOW_TRACKING_URI=http://…``; the server keeps runs in PostgreSQL and
artifacts under its own ``--artifacts-destination``, so no client needs the
database or the artifact store. This package builds that set-up from real
parts on one machine, for a demo (``python -m latentlab.team serve``) and for
the check that the pipeline works against it (``python -m latentlab.team
check``, ``make team-tracking-check``, ``tests/e2e/test_team_tracking.py``):

* :mod:`latentlab.team.postgres`: a throwaway PostgreSQL cluster on a free
  loopback port;
* :mod:`latentlab.team.server`: ``mlflow server`` on that cluster, and the REST
  calls the check makes;
* :mod:`latentlab.team.check`: the pipeline in a throwaway copy of the
  repository, logging through the server, and what must then be on it.
"""

from latentlab.errors import LatentlabError


class TeamTrackingError(LatentlabError):
    """PostgreSQL or the MLflow server is missing, failed to start, or a check failed."""
