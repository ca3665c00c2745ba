"""The package's layers, read from the source: every import of every module, including the
ones inside functions, checked against the table below (PLAN.md's target tree).

An own module may import its own group and any group of a lower layer; `MAY_ALSO_IMPORT`
lists the exceptions. Third-party imports are limited per group, so only the glue imports
ZenML. Imports inside functions hide import cycles and start-up cost, so they are allowed
only where `DEFERRED_ALLOWED` says why; there is no import cycle among our modules.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import zenml_docker_connector

PACKAGE = "zenml_docker_connector"

# --- the table (update it when a module moves) ----------------------------------------

SHARED = ("references", "credentials", "errors", "redaction", "printable", "patches")
"""Root modules of layer 0."""
FACADE = ("__init__", "pull_secrets")
"""Root modules that are public import paths over the glue."""

LAYERS: dict[str, int] = {
    "shared": 0,
    "registry": 1,
    "local": 1,
    "helper": 1,
    "kubernetes": 2,
    "glue": 3,
    "facade": 3,
    "cli": 4,
}
THIRD_PARTY: dict[str, set[str]] = {
    "shared": set(),
    "registry": {"requests", "urllib3"},
    "local": {"docker"},
    "helper": set(),
    "kubernetes": {"yaml"},
    "glue": {"zenml", "pydantic", "click"},
    "facade": set(),
    "cli": {"click"},
}
MAY_ALSO_IMPORT: dict[str, set[str]] = {
    "facade": {"glue"},
    # `__version__` only: the package root is loaded before any of its modules anyway.
    "helper": {"facade"},
}
KUBERNETES_FROM_LOCAL = {f"{PACKAGE}.local.client_files", f"{PACKAGE}.local.atomic"}
"""The only `local/` modules `kubernetes/` may use: the client-file model."""
DEFERRED_ALLOWED = {
    f"{PACKAGE}.glue.activation": "the .pth line runs it at every Python start",
    f"{PACKAGE}.__init__.__getattr__": "`import zenml_docker_connector` never imports ZenML",
}

# ---------------------------------------------------------------------------------------

SOURCE = Path(zenml_docker_connector.__file__).parent


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module, dotted."""
    target: str
    """What is imported, dotted (for `from a import b`, `a.b` when that is one of ours)."""
    where: str
    """Dotted path of the function it is in, empty at module level."""
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join((PACKAGE, *parts))


MODULES = {_module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def _is_ours(name: str) -> bool:
    return name in MODULES or f"{name}.__init__" in MODULES


def _own_name(name: str) -> str:
    """`a.b` as the key of MODULES (`a.b.__init__` for a package)."""
    return name if name in MODULES else f"{name}.__init__"


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        self.scope: list[str] = []
        self.found: list[Import] = []

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def _add(self, target: str, node: ast.AST) -> None:
        where = ".".join(self.scope) if self.scope else ""
        self.found.append(Import(self.module, target, where, getattr(node, "lineno", 0)))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: from the module's package (`pkg.__init__` is in `pkg`)
            package = self.module.split(".")[: -node.level]
            base = ".".join([*package, base] if base else package)
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if _is_ours(candidate) else base, node)

    def visit_Call(self, node: ast.Call) -> None:
        """`importlib.import_module("x")` and `__import__("x")` with a literal name count too."""
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node)
        self.generic_visit(node)


def _imports() -> list[Import]:
    found: list[Import] = []
    for module, path in MODULES.items():
        collector = _Collector(module)
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        found += collector.found
    return found


IMPORTS = _imports()


def _group(module: str) -> str:
    parts = module.split(".")[1:]
    if len(parts) == 1:
        return "shared" if parts[0] in SHARED else "facade" if parts[0] in FACADE else "?"
    return parts[0]


def test_the_table_names_every_module() -> None:
    unknown = sorted(m for m in MODULES if _group(m) not in LAYERS)
    assert unknown == [], "add these modules to the table at the top of this test"


def test_own_imports_go_down_the_layers() -> None:
    wrong = []
    for imp in IMPORTS:
        if not _is_ours(imp.target) and imp.target != PACKAGE:
            continue
        source, target = _group(imp.module), _group(_own_name(imp.target))
        allowed = (
            source == target
            or LAYERS[target] < LAYERS[source]
            or target in MAY_ALSO_IMPORT.get(source, set())
        )
        if source == "kubernetes" and target == "local":
            allowed = _own_name(imp.target) in KUBERNETES_FROM_LOCAL
        if not allowed:
            wrong.append(f"{imp.module}:{imp.line} ({source}) imports {imp.target} ({target})")
    assert wrong == []


def test_third_party_imports_stay_in_their_layer_and_only_the_glue_imports_zenml() -> None:
    wrong = []
    for imp in IMPORTS:
        top = imp.target.split(".")[0]
        if top in (PACKAGE, "__future__") or top in sys.stdlib_module_names:
            continue
        if top not in THIRD_PARTY[_group(imp.module)]:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert wrong == []
    zenml_users = {_group(imp.module) for imp in IMPORTS if imp.target.split(".")[0] == "zenml"}
    assert zenml_users == {"glue"}


def test_imports_inside_functions_only_where_allowed() -> None:
    deferred = []
    for imp in IMPORTS:
        if not imp.where:
            continue
        if imp.module in DEFERRED_ALLOWED or f"{imp.module}.{imp.where}" in DEFERRED_ALLOWED:
            continue
        deferred.append(f"{imp.module}:{imp.line} in {imp.where}() imports {imp.target}")
    assert deferred == []


def test_activation_imports_only_what_every_interpreter_has_loaded() -> None:
    module = f"{PACKAGE}.glue.activation"
    top_level = {imp.target for imp in IMPORTS if imp.module == module and not imp.where}
    typing_only = {"collections.abc", "types", "typing"}  # under `if TYPE_CHECKING:`
    assert top_level - typing_only == {"__future__", "_thread", "os", "sys"}


def test_no_import_cycle_among_our_modules() -> None:
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if _is_ours(imp.target):
            graph[imp.module].add(_own_name(imp.target))
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checks_see_imports_inside_functions() -> None:
    """The collector itself: a deferred import and an import cycle are found."""
    source = "def f():\n    from zenml_docker_connector.glue import connector\n"
    collector = _Collector(f"{PACKAGE}.glue.zenml_settings")
    collector.visit(ast.parse(source))
    (found,) = collector.found
    assert (found.target, found.where) == (f"{PACKAGE}.glue.connector", "f")
