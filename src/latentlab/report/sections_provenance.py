"""The report's section "Provenance": where the numbers came from.

Where the code and data are identified (``dvc.lock``, committed beside the report; each
run's git commit on its MLflow run), the data's checksums and origin
(:func:`~latentlab.report.sections_data.provenance_items`), the versions of
Python and of the packages behind the results, and the values of ``params.yaml``. No
timestamp, run id or git commit: the report is a DVC output, a function of its deps
alone, so a fresh clone re-renders the committed bytes.
"""

from __future__ import annotations

import importlib.metadata
import platform

from latentlab.report.blocks import para as _p
from latentlab.report.inputs import ReportInputs
from latentlab.report.sections_data import provenance_items

VERSIONED_PACKAGES = ("torch", "scikit-learn", "dvc", "mlflow", "numpy", "matplotlib")
PROVENANCE = (
    "The code and data these numbers come from are identified by `dvc.lock`, committed "
    "beside this report: it records the md5 of every dependency of every stage (code, data, "
    "params). The git commit of each run is on its MLflow run (tag "
    "`mlflow.source.git.commit`; `outputs/report/link.json` finds the report stage's run, "
    "which also holds this report as artifacts). What changed since the last commit (params, "
    "data set, code, and the metrics that moved beyond their noise) is not part of this "
    "report: `make changes` (`python -m latentlab.report.changes`) prints it and writes the "
    "git-ignored `reports/changes.md`, and `make repro` does so after every run and logs it "
    "to the pipeline's parent MLflow run (`report/changes.md`). Package versions are those "
    "installed when the report was rendered; the params below are every value of "
    "`params.yaml` but `tracking` (which changes no result), without its comments. "
    "The report holds no timestamp, run id or git commit: it is a DVC output and changes "
    "only when its inputs do.")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages behind the results, read without importing them."""
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance_blocks(inputs: ReportInputs) -> list[dict]:
    """The section: what the numbers depend on, as a list, and the params."""
    src = inputs.source
    items = [("source data sha256 (data/raw, as downloaded)", src["sha256"]),
             ("splits sha256 (splits.npz; MLflow tag latentlab.splits_sha256)",
              inputs.splits_sha256),
             ("data origin", str(src["origin"]))]
    if "sklearn_version" in src:
        items.append(("scikit-learn that produced the data", str(src["sklearn_version"])))
    items += provenance_items(inputs)
    items.append(("python", platform.python_version()))
    items += [(name, version) for name, version in package_versions().items()]
    return [
        _p(PROVENANCE),
        {"kind": "kv", "items": items},
        {"kind": "code", "summary": "params.yaml", "language": "yaml",
         "text": inputs.params_text.rstrip("\n")},
    ]
