"""Which ``src/`` files each stage runs, read from its imports; and whether dvc.yaml lists them.

DVC reruns a stage when one of its deps changes and knows nothing of Python
imports: a module a stage imports but does not list is an edit that silently
leaves stale results; a listed module the stage never imports is an edit that
reruns work for nothing. So each stage's code deps in ``dvc.yaml`` are exactly
the files its script's imports reach: every import statement counts, those
inside functions too, followed through ``src/latentlab``. A dep may name a
folder; it then stands for every ``.py`` file in it, and all of them must be
reached. A package's ``__init__.py`` counts only when it runs code (more than
a docstring and constants).

Not counted: modules a stage starts as another process (the tracking worker,
``python -m latentlab.tracking.worker``): they talk to MLflow and write no DVC
output.

``python -m latentlab.pipeline.code_deps`` prints the deps each stage needs
and exits 1 if dvc.yaml differs (``tests/unit/test_stage_deps.py`` runs the
same check).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

SCRIPT = re.compile(r"python (stages/\w+\.py)")
CODE_DIRS = ("src/", "stages/")


def module_file(module: str, src: Path) -> Path | None:
    """The file that defines ``module`` (``a.b`` → ``src/a/b.py`` or ``src/a/b/__init__.py``)."""
    base = src.joinpath(*module.split("."))
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


def imported_modules(path: Path, src: Path) -> set[str]:
    """Every ``latentlab`` module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "latentlab")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise ValueError(f"{path}: relative import; latentlab imports absolutely")
            if node.module and node.module.split(".")[0] == "latentlab":
                for alias in node.names:  # `from pkg import module` imports the module
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if module_file(sub, src) is not None else node.module)
    return found


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module → the latentlab modules it imports, for every module under ``src/latentlab``."""
    graph = {}
    for path in sorted((src / "latentlab").rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = imported_modules(path, src)
    return graph


def import_closure(script: Path, src: Path) -> set[Path]:
    """The files under ``src/`` whose code runs once ``script`` has imported all it imports."""
    seen: set[str] = set()
    todo = list(imported_modules(script, src))
    while todo:
        parts = todo.pop().split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            name = ".".join(parts[:depth])
            if name in seen:
                continue
            seen.add(name)
            path = module_file(name, src)
            if path is None:
                raise ValueError(f"{script.name} imports {name}, which does not exist")
            todo.extend(imported_modules(path, src))
    files = {module_file(m, src) for m in seen}
    return {f for f in files if f.name != "__init__.py" or runs_code(f)}


def stage_code_deps(dvc_yaml: Path) -> dict[str, tuple[str, list[str]]]:
    """Per stage family of dvc.yaml: its script and its deps under ``src/`` and ``stages/``."""
    import yaml

    out = {}
    for name, stage in yaml.safe_load(dvc_yaml.read_text())["stages"].items():
        body = stage.get("do", stage)  # foreach stages keep cmd and deps under `do`
        (script,) = SCRIPT.findall(body["cmd"])
        out[name] = (script, [d for d in body.get("deps", []) if d.startswith(CODE_DIRS)])
    return out


def covered_files(dep: str, root: Path) -> set[Path]:
    """The .py files a dep stands for: the file itself, or every one under a folder."""
    path = root / dep
    if not path.exists():
        raise ValueError(f"dvc.yaml lists {dep}, which does not exist")
    return set(path.rglob("*.py")) if path.is_dir() else {path}


def problems(dvc_yaml: Path, root: Path) -> dict[str, list[str]]:
    """Per stage: one line per missing or needless code dep (empty when dvc.yaml is right)."""
    out = {}
    for stage, (script, deps) in stage_code_deps(dvc_yaml).items():
        needed = import_closure(root / script, root / "src") | {root / script}
        listed = {f: dep for dep in deps for f in covered_files(dep, root)}
        lines = [f"add {f.relative_to(root)}" for f in sorted(needed - set(listed))]
        lines += [f"drop {dep} (never imported)" for dep in sorted(
            {listed[f] for f in set(listed) - needed if f.name != "__init__.py" or runs_code(f)})]
        out[stage] = lines
    return out


def main(argv: list[str] | None = None) -> int:
    """Print each stage's code deps as its imports need them; exit 1 if dvc.yaml differs."""
    root = Path(argv[0] if argv else ".").resolve()
    wrong = 0
    for stage, (script, _) in stage_code_deps(root / "dvc.yaml").items():
        print(f"{stage}:")
        for f in sorted(import_closure(root / script, root / "src")):
            print(f"  - {f.relative_to(root)}")
    for stage, lines in problems(root / "dvc.yaml", root).items():
        for line in lines:
            print(f"dvc.yaml, stage {stage}: {line}", file=sys.stderr)
            wrong += 1
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
