"""The report's section "Provenance": where the numbers came from.

The git commit the run started from and its uncommitted changes
(:mod:`latentlab.report.gitstate`), the data's checksums and origin
(:func:`~latentlab.report.sections_data.provenance_items`), the versions of
Python and of the packages behind the results, and ``params.yaml`` verbatim. No
timestamp or run id: the report is a DVC output.
"""

from __future__ import annotations

import importlib.metadata
import platform

from latentlab.report.blocks import para as _p
from latentlab.report.inputs import ReportInputs
from latentlab.report.sections_data import provenance_items
from latentlab.report.words import DASH

VERSIONED_PACKAGES = ("torch", "scikit-learn", "dvc", "mlflow", "numpy", "matplotlib")


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
    src, git = inputs.source, inputs.git
    commit = git.commit or f"none ({git.reason})"
    changed = ", ".join(git.changed) if git.changed else "none"
    items = [("git commit (HEAD when rendered)", commit),
             ("uncommitted changes then", changed if git.commit else DASH),
             ("data sha256", src["sha256"]), ("data origin", str(src["origin"]))]
    if "sklearn_version" in src:
        items.append(("scikit-learn that produced the data", str(src["sklearn_version"])))
    items += provenance_items(inputs)
    items.append(("python", platform.python_version()))
    items += [(name, version) for name, version in package_versions().items()]
    return [
        _p("The git commit is HEAD when the report was rendered, the commit the run started "
           "from: the numbers come from its code and params plus the uncommitted changes "
           "listed (`params.yaml`, `dvc.yaml`, `src/`, `stages/`). Once the results are "
           "committed, that commit is their commit's parent. Package versions are those "
           "installed when the report was rendered; the params are the whole `params.yaml` "
           "below. The report holds no timestamp or run id: it is a DVC output and changes "
           "only when its inputs (or the commit it compares with) do. The report stage's "
           "MLflow run carries the same commit (`mlflow.source.git.commit`) and the report "
           "as artifacts; `outputs/report/link.json` finds it."),
        {"kind": "kv", "items": items},
        {"kind": "code", "summary": "params.yaml", "language": "yaml",
         "text": inputs.params_text.rstrip("\n")},
    ]
