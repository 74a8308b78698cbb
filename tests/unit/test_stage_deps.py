"""dvc.yaml's code deps are exactly the latentlab modules each stage imports.

Why it matters, and what counts as imported: :mod:`latentlab.pipeline.code_deps`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from latentlab.pipeline.code_deps import import_closure, problems, stage_code_deps

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


@pytest.mark.parametrize("stage", sorted(stage_code_deps(ROOT / "dvc.yaml")))
def test_every_module_a_stage_imports_is_a_dep_and_nothing_else(stage):
    assert problems(ROOT / "dvc.yaml", ROOT)[stage] == []


def test_the_closure_follows_imports_inside_functions_and_from_package_imports(tmp_path):
    # the train stage imports the trainer inside main(), as `from latentlab.train import trainer`
    closure = import_closure(ROOT / "stages/train.py", SRC)
    assert SRC / "latentlab/train/trainer.py" in closure
    assert SRC / "latentlab/train/loop.py" in closure  # one step further
    assert SRC / "latentlab/models/__init__.py" in closure  # runs code: build_model
    assert SRC / "latentlab/train/__init__.py" not in closure  # a docstring only
    assert SRC / "latentlab/tracking/worker.py" not in closure  # another process
    script = tmp_path / "stage.py"
    script.write_text("def main():\n    from latentlab.analysis import iwae\n")
    assert import_closure(script, SRC) >= {SRC / "latentlab/analysis/iwae.py",
                                           SRC / "latentlab/train/losses.py"}


def _dvc_yaml_without(tmp_path: Path, line: str) -> Path:
    text = (ROOT / "dvc.yaml").read_text()
    assert text.count(line) >= 1
    edited = tmp_path / "dvc.yaml"
    edited.write_text(text.replace(line, "", 1))
    return edited


def test_a_removed_dep_is_reported(tmp_path):
    # the first stage listing iwae.py is evaluate; drop it there
    edited = _dvc_yaml_without(tmp_path, "      - src/latentlab/analysis/iwae.py\n")
    assert problems(edited, ROOT)["evaluate"] == ["add src/latentlab/analysis/iwae.py"]


def test_a_needless_dep_is_reported(tmp_path):
    text = (ROOT / "dvc.yaml").read_text()
    edited = tmp_path / "dvc.yaml"
    extra = "      - stages/download.py\n      - src/latentlab/analysis/iwae.py"
    edited.write_text(text.replace("      - stages/download.py", extra, 1))
    assert problems(edited, ROOT)["download"] == [
        "drop src/latentlab/analysis/iwae.py (never imported)"]


def test_the_command_prints_the_deps_and_passes_on_this_repository():
    out = subprocess.run([sys.executable, "-m", "latentlab.pipeline.code_deps", str(ROOT)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "evaluate:\n" in out.stdout and "  - src/latentlab/analysis/iwae.py" in out.stdout


# The params sections each stage validates as its own: DVC reruns a stage only when a value it
# lists changes, so a key listed one by one lets a typo beside them (`preprocess.val_fracton`)
# pass as "nothing changed"; a section listed whole reruns the stage, which refuses the typo.
OWN_SECTIONS = {"download": ["data"], "preprocess": ["preprocess"],
                "train": ["train.common", "train.${item.model}"], "evaluate": ["evaluate"],
                "latent_stats": ["latent_stats", "dae_sweep"], "report": ["report"],
                "baseline": ["baselines.${key}"]}


def _listed_params(stage: dict) -> list[str]:
    body = stage.get("do", stage)
    return [p for p in body.get("params", []) if isinstance(p, str)]


@pytest.mark.parametrize("name", sorted(OWN_SECTIONS))
def test_each_stage_lists_its_own_params_sections_whole(name):
    import yaml

    listed = _listed_params(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][name])
    for section in OWN_SECTIONS[name]:
        assert section in listed, f"{name}: list `{section}` whole, not key by key"
        assert not any(p.startswith(section + ".") for p in listed), \
            f"{name}: `{section}` is listed whole; drop its single keys"


def test_the_report_lists_the_params_it_shows_and_not_params_yaml_as_a_file():
    import yaml

    from latentlab.params import RUN_TIME_SECTIONS, TOP_LEVEL

    report = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]
    assert _listed_params(report) == [s for s in TOP_LEVEL if s not in RUN_TIME_SECTIONS]
    assert "params.yaml" not in report["deps"]  # a file dep reruns it on a comment edit
