"""The size rules of the code base, read from the source: no function over 60 lines, none with
more than 6 parameters (`self`/`cls` not counted). A function that grows past them is a sign
it does two jobs."""

from __future__ import annotations

import ast
from pathlib import Path

import zenml_docker_connector

SOURCE = Path(zenml_docker_connector.__file__).parent
MAX_LINES = 60
MAX_PARAMETERS = 6


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((f"{path.relative_to(SOURCE)}:{node.lineno} {node.name}", node))
    return found


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    args = node.args
    names = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    count = len(names) + (args.vararg is not None) + (args.kwarg is not None)
    return count - (bool(names) and names[0].arg in ("self", "cls"))


def test_no_function_is_over_60_lines() -> None:
    long = [
        f"{where}: {node.end_lineno - node.lineno + 1} lines"
        for where, node in _functions()
        if (node.end_lineno or node.lineno) - node.lineno + 1 > MAX_LINES
    ]
    assert long == []


def test_no_function_takes_more_than_6_parameters() -> None:
    wide = [
        f"{where}: {_parameters(node)} parameters"
        for where, node in _functions()
        if _parameters(node) > MAX_PARAMETERS
    ]
    assert wide == []
