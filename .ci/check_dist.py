"""Check the built sdist and wheel as they would be published, before anything installs them.

    python .ci/check_dist.py DIST_DIR

`python -m build` (run by .ci/run and the release workflow without `--sdist`/`--wheel`) builds
the wheel from the unpacked sdist, so a wheel that passes here also proves the sdist holds
what is needed to build it. Checked:
- one sdist and one wheel, both carrying the version `__version__` says (the one place it lives);
- the wheel holds exactly the package's source files, the activation `.pth` file, `py.typed`
  and its metadata: no tests, no caches, nothing else;
- the wheel's license file is the repository's LICENSE;
- its entry points (console scripts and the `zenml.init_hooks` hook) are the ones pyproject
  declares, and each names a function its module defines;
- the sdist holds pyproject, README, LICENSE, CHANGELOG and every source file, and no caches.
Needs Python 3.11+ (tomllib). Prints one line per artifact; exits 1 listing every problem.
"""

from __future__ import annotations

import ast
import configparser
import re
import sys
import tarfile
import zipfile
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "zenml_docker_connector"
PTH = "zenml_docker_connector_activate.pth"
CACHE_PARTS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")
SDIST_NEEDS = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", f"src/{PTH}")


def source_version() -> str:
    """`__version__` as the package source spells it (hatch reads the same line)."""
    text = (ROOT / "src" / PACKAGE / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if not found:
        raise SystemExit("no `__version__ = \"...\"` line in the package's __init__.py")
    return found.group(1)


def source_files() -> dict[str, bytes]:
    """The package's files as the wheel should hold them (path inside the wheel -> content)."""
    files = {f"{PACKAGE}/{p.relative_to(ROOT / 'src' / PACKAGE).as_posix()}": p.read_bytes()
             for p in sorted((ROOT / "src" / PACKAGE).rglob("*"))
             if p.is_file() and not is_cache(p.as_posix())}
    files[PTH] = (ROOT / "src" / PTH).read_bytes()
    return files


def is_cache(path: str) -> bool:
    return path.endswith((".pyc", ".pyo")) or any(part in CACHE_PARTS for part in path.split("/"))


def declared_entry_points() -> dict[str, dict[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"console_scripts": dict(project.get("scripts", {}))}
    groups.update({name: dict(points) for name, points in project.get("entry-points", {}).items()})
    return groups


def defines(module_source: bytes, name: str) -> bool:
    """Whether a module defines `name` at top level (def, class, assignment or import)."""
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found = {node.name}
        elif isinstance(node, ast.Assign):
            found = {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found = {node.target.id}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found = {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            continue
        if name in found:
            return True
    return False


def check_entry_points(text: str, files: dict[str, bytes]) -> list[str]:
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    shipped = {group: dict(parser[group]) for group in parser.sections()}
    declared = declared_entry_points()
    problems = []
    if shipped != declared:
        problems.append(f"entry points: wheel has {shipped}, pyproject declares {declared}")
    for group, points in shipped.items():
        for name, target in points.items():
            module, _, attr = target.partition(":")
            path = module.replace(".", "/")
            source = files.get(f"{path}.py", files.get(f"{path}/__init__.py"))
            if source is None or not attr or not defines(source, attr):
                problems.append(f"entry point {group}:{name} = {target}: not defined in the wheel")
    return problems


def check_wheel(wheel: Path, version: str) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    info = f"{PACKAGE}-{version}.dist-info"
    expected = source_files()
    problems = [f"wheel: {name} holds a cache" for name in files if is_cache(name)]
    problems += [f"wheel: {name} is not a package file"
                 for name in files if name not in expected and not name.startswith(f"{info}/")]
    problems += [f"wheel: {name} is missing" for name in expected if name not in files]
    problems += [f"wheel: {name} differs from the source tree"
                 for name, content in expected.items() if files.get(name, content) != content]
    if files.get(f"{info}/licenses/LICENSE") != (ROOT / "LICENSE").read_bytes():
        problems.append(f"wheel: {info}/licenses/LICENSE is not the repository's LICENSE")
    if f"{PACKAGE}/py.typed" not in files:
        problems.append("wheel: no py.typed")
    metadata = files.get(f"{info}/METADATA", b"").decode()
    if f"\nVersion: {version}\n" not in metadata:
        problems.append(f"wheel: METADATA does not say Version: {version}")
    points = files.get(f"{info}/entry_points.txt")
    if points is None:
        return [*problems, "wheel: no entry_points.txt"]
    return problems + check_entry_points(points.decode(), files)


def check_sdist(sdist: Path, version: str) -> list[str]:
    top = f"{PACKAGE}-{version}"
    with tarfile.open(sdist) as archive:
        names = {m.name.removeprefix(f"{top}/") for m in archive.getmembers() if m.isfile()}
    needed = [*SDIST_NEEDS, "PKG-INFO"]
    needed += [f"src/{name}" for name in source_files() if name != PTH]
    problems = [f"sdist: {name} is missing" for name in needed if name not in names]
    problems += [f"sdist: {name} holds a cache" for name in sorted(names) if is_cache(name)]
    problems += [f"sdist: {name} should not be shipped" for name in sorted(names)
                 if name.startswith((".venv", "dist/", "build/", ".ci/logs/"))]
    return problems


def main(dist: Path) -> int:
    version = source_version()
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    want_wheel = f"{PACKAGE}-{version}-py3-none-any.whl"
    want_sdist = f"{PACKAGE}-{version}.tar.gz"
    if [w.name for w in wheels] != [want_wheel] or [s.name for s in sdists] != [want_sdist]:
        print(f"{dist} should hold exactly {want_sdist} and {want_wheel}, "
              f"holds {[p.name for p in wheels + sdists]}")
        return 1
    problems = check_wheel(wheels[0], version) + check_sdist(sdists[0], version)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{want_wheel}: the package files, {PTH}, py.typed, LICENSE, entry points "
              f"{declared_entry_points()}; no tests or caches")
        print(f"{want_sdist}: {', '.join(SDIST_NEEDS)} and every source file; no caches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
