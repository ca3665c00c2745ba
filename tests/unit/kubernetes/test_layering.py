"""`kubernetes/` stays ZenML-free and off the network: its imports, read from the source."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import zenml_docker_connector.kubernetes as package

ALLOWED_OWN = {
    "zenml_docker_connector.credentials",
    "zenml_docker_connector.errors",
    "zenml_docker_connector.printable",
    "zenml_docker_connector.references",
    "zenml_docker_connector.local.client_files",
    "zenml_docker_connector.local.atomic",
}
ALLOWED_THIRD_PARTY = {"yaml"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_the_standard_library_pyyaml_and_shared_modules_are_imported() -> None:
    for path in Path(package.__file__).parent.glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            own = name.startswith("zenml_docker_connector.kubernetes") or name in ALLOWED_OWN
            assert (
                own
                or top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or name == "__future__"
            ), f"{path.name} imports {name}"
