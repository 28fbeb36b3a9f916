"""The package layout the architecture promises (docs/architecture.md).

- no import cycle between the package's modules (imports inside functions
  count too: a lazy import only hides a cycle);
- production code does not depend on the NumPy yardsticks in ``reference/``
  (``experiments/`` runs them, so it may);
- examples use the training contract, not the engine's raw state.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"brian_dendrites": ROOT / "brian_dendrites", "brian_dendrites.models": ROOT / "models"}


def _modules():
    mods = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            if prefix == "brian_dendrites" and parts[:1] == ["models"]:
                continue
            mods[name] = (path, path.name == "__init__.py")
    return mods


def _imports(name, path, is_pkg, known):
    """Modules of the package imported anywhere in ``path``."""
    tree = ast.parse(path.read_text())
    package = name if is_pkg else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                out.add(t)
    return out


def _graph():
    mods = _modules()
    return {name: _imports(name, path, is_pkg, mods) for name, (path, is_pkg) in mods.items()}


def _cycle(graph):
    """One import cycle among non-package modules, or None.

    A package's ``__init__`` importing its own submodules (and a submodule
    importing a sibling through the package) is how Python packages work;
    cycles are looked for between modules, each package standing for its
    ``__init__`` only when imported from outside it.
    """
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack = []

    def edges(n):
        for m in graph[n]:
            # a package imported by one of its own submodules: it is being initialised
            if n.startswith(m + "."):
                continue
            yield m

    def visit(n):
        colour[n] = GREY
        stack.append(n)
        for m in edges(n):
            if colour[m] == GREY:
                return stack[stack.index(m):] + [m]
            if colour[m] == WHITE:
                found = visit(m)
                if found:
                    return found
        colour[n] = BLACK
        stack.pop()
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    graph = _graph()
    assert len(graph) > 20
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"p": {"p.x"}, "p.x": {"p"}}) is None  # a package and its submodule


@pytest.mark.parametrize("name", sorted(n for n in _graph() if not n.startswith(
    ("brian_dendrites.reference", "brian_dendrites.experiments", "brian_dendrites.lab"))))
def test_production_code_does_not_import_the_yardsticks(name):
    """Only experiments and the rule laboratory run the NumPy yardsticks (the lab compares
    rules with the backprop gradient and the NumPy rules).
    """
    assert not any(m.startswith("brian_dendrites.reference") for m in _graph()[name]), name


def test_examples_use_the_contract_not_raw_engine_state():
    for path in (ROOT / "examples").glob("*.py"):
        text = path.read_text()
        assert "state_variables" not in text, path.name
        assert "spec_from_file_location" not in text, path.name
