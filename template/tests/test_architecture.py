"""The core's import graph: no module imports a layer above its own (or beside it), and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest


def module_name(path: Path, root: Path) -> str:
    """`layer.module` for core/layer/module.py (`layer` for its __init__.py)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path, package: str) -> set[str]:
    """The core modules `path` imports, at the top or inside functions, as `layer.module` names."""
    here = module_name(path, root).split(".")
    inside = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):  # `import <package>.core.layer.module`
            dotted = [alias.name.split(".") for alias in node.names if alias.name.startswith(f"{package}.")]
            found |= {".".join(parts[len(package.split(".")) :]) for parts in dotted}
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = inside[: len(inside) - node.level + 1] + (node.module.split(".") if node.module else [])
        elif node.module and node.module.startswith(f"{package}."):
            base = node.module.split(".")[len(package.split(".")) :]
        else:
            continue
        for alias in node.names:
            candidate = [*base, alias.name]
            is_module = root.joinpath(*candidate).with_suffix(".py").is_file() or root.joinpath(*candidate).is_dir()
            found.add(".".join(candidate if is_module else base))
    return found - {""}


@pytest.fixture(scope="module")
def graph(core: ModuleType) -> dict[str, set[str]]:
    """Every core module -> the core modules it imports."""
    root = Path(core.__file__).parent
    return {module_name(path, root): imported(path, root, core.__name__) for path in sorted(root.rglob("*.py"))}


@pytest.fixture(scope="module")
def rank(core: ModuleType) -> dict[str, int]:
    """Each subpackage's rank, 0 at the bottom (core/__init__.py's LAYERS)."""
    return {name: number for number, names in enumerate(core.LAYERS) for name in names}


def test_every_subpackage_has_a_layer(core, rank):
    assert {path.parent.name for path in Path(core.__file__).parent.glob("*/__init__.py")} == set(rank)


def test_the_graph_sees_the_imports(graph):
    assert {"basics.config", "catalog.registry", "trainer.tracking"} <= graph["trainer.training"]
    assert {"inference.app", "inference.entry_point"} <= graph["inference.serving"]
    assert "inference.handling" in graph["inference.entry_point"]


def test_a_module_imports_its_own_layer_or_lower_ones(graph, rank):
    def layer(module: str) -> str:
        return module.split(".")[0]

    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in sorted(targets)
        if "." in module and layer(target) != layer(module) and rank[layer(target)] >= rank[layer(module)]
    ]
    assert not wrong, "imports of a layer above or beside their own:\n" + "\n".join(wrong)


def test_no_import_cycles(graph):
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != "open", f"import cycle: {' -> '.join([*path, target])}"
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_the_server_of_a_bundle_needs_only_inference_and_basics(graph):
    reached, todo = set(), ["inference.serving"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(graph.get(module, ()))
    assert {name.split(".")[0] for name in reached} <= {"inference", "basics"}, sorted(reached)


def test_model_code_of_the_flat_core_still_imports_with_a_warning(core):
    for name, layer in core.MOVED.items():
        with pytest.warns(DeprecationWarning, match=rf"core\.{name} is core\.{layer}\.{name} now"):
            assert getattr(core, name) is getattr(core, layer).__dict__[name]
    with pytest.raises(AttributeError):
        core.nothing_of_that_name  # noqa: B018


@pytest.mark.parametrize("module", ["basics.config", "loading.data"])
def test_names_earlier_model_code_calls_are_still_found_with_a_warning(core, module):
    layer, name = module.split(".")
    found = getattr(getattr(core, layer), name)
    for old, sibling in found.MOVED.items():
        with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is {layer}\.{sibling}\.{old} now"):
            assert getattr(found, old) is getattr(getattr(getattr(core, layer), sibling), old)
    with pytest.raises(AttributeError):
        found.nothing_of_that_name  # noqa: B018
