"""dvc.yaml's code deps are exactly the latentlab modules each stage imports.

DVC reruns a stage when one of its deps changes, and it knows nothing of Python
imports: a module a stage imports but does not list is an edit that silently
leaves stale results; a listed module the stage never imports is an edit that
reruns work for nothing. This test reads every import statement (those inside
functions too) of each stage script, follows them through ``src/latentlab``
and compares the files reached with the ``src/`` deps of that stage in
``dvc.yaml``. A dep may name a folder; it then stands for every ``.py`` file in
it, and all of them must be imported. A package's ``__init__.py`` counts only
when it runs code (more than a docstring and constants).

Not counted: modules a stage starts as another process (the tracking worker,
``python -m latentlab.tracking.worker``): they talk to MLflow and write no DVC
output.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
SCRIPT = re.compile(r"python (stages/\w+\.py)")


def module_file(module: str) -> Path | None:
    """The file that defines ``module`` (``a.b`` → ``src/a/b.py`` or ``src/a/b/__init__.py``)."""
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def runs_code(init: Path) -> bool:
    """Whether a package's ``__init__.py`` does more than hold a docstring and constants.

    ``latentlab/__init__.py`` (a docstring and ``__version__``) changes no
    result, so editing it reruns nothing; ``models/__init__.py`` (imports and
    ``build_model``) does.
    """
    def inert(node: ast.stmt) -> bool:
        return (isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Constant)
                or isinstance(node, ast.ImportFrom) and node.module == "__future__")

    return not all(inert(node) for node in ast.parse(init.read_text()).body)


def imported_modules(path: Path) -> set[str]:
    """Every ``latentlab`` module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "latentlab")
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; latentlab imports absolutely"
            if node.module and node.module.split(".")[0] == "latentlab":
                for alias in node.names:  # `from pkg import module` imports the module
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if module_file(sub) is not None else node.module)
    return found


def import_closure(script: Path) -> set[Path]:
    """The files under ``src/`` whose code runs when ``script`` has imported all it imports."""
    seen: set[str] = set()
    todo = list(imported_modules(script))
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            name = ".".join(parts[:depth])
            if name in seen:
                continue
            seen.add(name)
            path = module_file(name)
            assert path is not None, f"{script.name} imports {name}, which does not exist"
            todo.extend(imported_modules(path))
    files = {module_file(m) for m in seen}
    return {f for f in files if f.name != "__init__.py" or runs_code(f)}


def stage_code_deps() -> dict[str, tuple[Path, list[str]]]:
    """Per stage family of dvc.yaml: its script and the deps under ``src/`` and ``stages/``."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in spec.items():
        body = stage.get("do", stage)  # foreach stages keep cmd and deps under `do`
        (script,) = SCRIPT.findall(body["cmd"])
        deps = [d for d in body.get("deps", []) if d.startswith(("src/", "stages/"))]
        out[name] = (ROOT / script, deps)
    return out


def covered_files(dep: str) -> set[Path]:
    """The .py files a dep path stands for: the file itself, or every one under a folder."""
    path = ROOT / dep
    assert path.exists(), f"dvc.yaml lists {dep}, which does not exist"
    return set(path.rglob("*.py")) if path.is_dir() else {path}


STAGES = stage_code_deps()


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_module_a_stage_imports_is_a_dep_and_nothing_else(stage):
    script, deps = STAGES[stage]
    needed = import_closure(script) | {script}
    listed = {f: dep for dep in deps for f in covered_files(dep)}
    missing = sorted(str(f.relative_to(ROOT)) for f in needed - set(listed))
    assert not missing, f"{stage}: add to its deps in dvc.yaml: {missing}"
    unused = sorted({listed[f] for f in set(listed) - needed
                     if f.name != "__init__.py" or runs_code(f)})
    assert not unused, f"{stage}: deps it never imports (edits rerun it for nothing): {unused}"


def test_the_closure_follows_imports_inside_functions_and_from_package_imports(tmp_path):
    # the train stage imports the trainer inside main(), as `from latentlab.train import trainer`
    closure = import_closure(ROOT / "stages/train.py")
    assert SRC / "latentlab/train/trainer.py" in closure
    assert SRC / "latentlab/train/loop.py" in closure  # one step further
    assert SRC / "latentlab/models/__init__.py" in closure  # runs code: build_model
    assert SRC / "latentlab/train/__init__.py" not in closure  # a docstring only
    script = tmp_path / "stage.py"
    script.write_text("def main():\n    from latentlab.analysis import iwae\n")
    assert import_closure(script) >= {SRC / "latentlab/analysis/iwae.py",
                                      SRC / "latentlab/train/losses.py"}


def test_a_removed_dep_is_reported():
    script, deps = STAGES["evaluate"]
    dropped = "src/latentlab/analysis/iwae.py"
    assert dropped in deps
    remaining = {f for dep in deps if dep != dropped for f in covered_files(dep)}
    assert SRC / "latentlab/analysis/iwae.py" in import_closure(script) - remaining
