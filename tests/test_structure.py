"""The package's shape, checked: module-level imports between parley's modules form no cycle, and the CLI's
start-up does not import the server (issue 17)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, package: str) -> set[str]:
    """parley modules imported when ``path`` is imported: top-level statements only, not under TYPE_CHECKING
    and not inside functions (deferred imports are how a leaf stays a leaf)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("parley"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.startswith("parley"):
                found.add(base)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in (SRC / "parley").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for target in runtime_imports(path, package):
            # "from parley.x import y" may name a submodule y or an attribute of x; both depend on x.
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles by depth-first search. A package's edge to its own child (an __init__ re-exporting it) is skipped."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep.startswith(node + "."):
                continue
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"p": {"p.x"}, "p.x": {"p"}}) == []  # a package re-exporting its child
    assert find_cycles({"p": {"q"}, "q": {"p.x"}, "p.x": {"p"}}) == [["p", "q", "p.x", "p"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_modules() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_cli_starts_without_importing_the_server() -> None:
    code = (
        "import sys, parley.cli; heavy = [m for m in ('sqlalchemy', 'starlette', 'ctranslate2', 'faster_whisper', "
        "'numpy', 'parley.live.runtime', 'parley.store') if m in sys.modules]; print(heavy); sys.exit(bool(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
