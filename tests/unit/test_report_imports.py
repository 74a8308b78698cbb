"""The report package's shape: the builder on top, matplotlib in the figure modules only.

No import circle and no module over 400 lines hold for every package
(``tests/unit/test_layout.py``); these are the report's own promises. Read from the
source, not by importing, so every import counts: those inside functions and under
``TYPE_CHECKING`` too, which never run but still tie two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

from latentlab.pipeline.code_deps import import_graph

SRC = Path(__file__).resolve().parents[2] / "src"
REPORT = "latentlab.report"
BUILDER = f"{REPORT}.build"
FIGURE_MODULES = ("figures_curves", "figures_images", "figures_latent", "figures_render")


def report_graph() -> dict[str, set[str]]:
    """Each module of the report package -> the latentlab modules it imports."""
    return {m: deps for m, deps in import_graph(SRC).items() if m.startswith(REPORT + ".")}


def importers_of(module: str, graph: dict[str, set[str]]) -> list[str]:
    return sorted(m for m, deps in graph.items() if module in deps)


def test_no_report_module_imports_the_builder():
    """build.py imports the sections; a section importing it back, even for a type under
    TYPE_CHECKING, is the circle the shared types of blocks.py are there to avoid."""
    assert importers_of(BUILDER, report_graph()) == []


def test_a_module_importing_the_builder_is_found():
    graph = {f"{REPORT}.sections_data": {f"{REPORT}.blocks", BUILDER}, BUILDER: set()}
    assert importers_of(BUILDER, graph) == [f"{REPORT}.sections_data"]


def _imports_matplotlib(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(name.split(".")[0] == "matplotlib" for name in names):
            return True
    return False


def test_only_the_figure_modules_import_matplotlib():
    users = sorted(p.stem for p in (SRC / "latentlab").rglob("*.py") if _imports_matplotlib(p))
    assert users == sorted(FIGURE_MODULES)


def test_the_report_package_docstring_names_every_module():
    """``report/__init__.py`` is the package's map: a docstring only, naming each module."""
    init = SRC / "latentlab/report/__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
    modules = sorted(p.stem for p in init.parent.glob("*.py") if p.stem != "__init__")
    docstring = ast.get_docstring(tree)
    assert [m for m in modules if f":mod:`{REPORT}.{m}`" not in docstring] == []
