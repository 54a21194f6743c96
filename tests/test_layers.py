"""The README's "Layout" promise, checked on the source: four layers, data one way.

``domain`` imports no other layer, ``http`` only ``domain``, ``host`` only those two,
``plugin`` any of them; and no module imports itself back through others at import
time (no import cycle). Imports under ``if TYPE_CHECKING:`` do not run and are left
out; imports inside functions count for the layering (they still make the lower layer
depend on the higher one) but not for cycles (they run after every module loaded).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_syncmap"
LAYERS = ("domain", "http", "host", "plugin")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """Package modules ``path`` imports: (at import time, anywhere)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    eager: set[str] = set()
    every: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [base] + [f"{base}.{alias.name}" for alias in child.names]
            for name in names:
                if name == "pytest_syncmap" or name.startswith("pytest_syncmap."):
                    every.add(name)
                    if not in_function:
                        eager.add(name)
            nested = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, nested)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return eager, every


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "child" not in p.parts}


def _known(name: str) -> str | None:
    """The package module ``name`` is (``a.b.C`` imports from module ``a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


@pytest.mark.parametrize("module", [m for m in MODULES if _layer(m) is not None])
def test_a_layer_imports_only_the_layers_below_it(module: str) -> None:
    own = _layer(module)
    assert own is not None
    _, every = _imports(MODULES[module])
    higher = sorted(
        name
        for name in every
        if (target := _known(name)) is not None
        and (layer := _layer(target)) is not None
        and layer > own
    )
    assert not higher, f"{module} ({LAYERS[own]}) imports a higher layer: {higher}"


def test_no_import_cycle() -> None:
    graph = {
        module: {t for name in _imports(path)[0] if (t := _known(name)) and t != module}
        for module, path in MODULES.items()
    }
    done: set[str] = set()

    def walk(module: str, trail: list[str]) -> None:
        if module in trail:
            cycle = [*trail[trail.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            if module.startswith(target + ".") or target.startswith(module + "."):
                continue  # a package and its own submodules
            walk(target, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])


def test_the_check_sees_the_layers() -> None:
    """Guard against a vacuous pass: every layer has modules that import a lower one."""
    seen = {LAYERS[layer] for m in MODULES if (layer := _layer(m)) is not None}
    assert seen == set(LAYERS)
    _, every = _imports(MODULES["pytest_syncmap.plugin.fixtures"])
    assert any(name.startswith("pytest_syncmap.host") for name in every)
