"""The package layout keeps its promises: no import circles, no module too long to read."""

from __future__ import annotations

from pathlib import Path

from latentlab.pipeline.code_deps import import_graph

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 400
LONGER_BY_DESIGN = {"latentlab/params.py"}  # the params schema: one table, read by key


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_among_latentlab_modules():
    graph = import_graph(SRC)
    # a package importing its own submodules is not a circle: drop edges to a module's parents
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_400_lines_but_the_params_schema():
    long = {str(p.relative_to(SRC)): n for p in (SRC / "latentlab").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert set(long) <= LONGER_BY_DESIGN, long


def test_no_two_test_modules_share_a_file_name():
    """tests/ has no packages: pytest imports test modules by their base name, so two
    `test_x.py` in different folders collide ("import file mismatch") and the run errors."""
    from collections import Counter
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    names = Counter(p.name for p in tests.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
