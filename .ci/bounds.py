"""Check that pyproject's bounds for zenml, docker, pydantic and requests are exactly the range
the CI runs tested: each lower bound (`>=`) is the oldest version installed in any of the given
venvs, each upper bound (`<=`) the newest.

    python .ci/bounds.py pyproject.toml VENV...
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

CHECKED = ("zenml", "docker", "pydantic", "requests")
_QUOTED = re.compile(r'"([^"]+)"')


def declared(pyproject: Path) -> dict[str, Requirement]:
    """The `dependencies` entries of the checked packages (read as text: no TOML parser on
    Python 3.10, and the list is flat)."""
    text = pyproject.read_text()
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    found = {}
    for item in _QUOTED.findall(block):
        requirement = Requirement(item)
        if requirement.name in CHECKED:
            found[requirement.name] = requirement
    return found


def installed(venv: str) -> dict[str, Version]:
    code = (
        "import importlib.metadata as m\n"
        f"for name in {CHECKED!r}:\n"
        "    print(name, m.version(name))\n"
    )
    done = subprocess.run(
        [f"{venv}/bin/python", "-c", code], capture_output=True, text=True, check=True
    )
    return {name: Version(v) for name, v in (line.split() for line in done.stdout.splitlines())}


def bound(requirement: Requirement, operator: str) -> Version | None:
    versions = [Version(s.version) for s in requirement.specifier if s.operator == operator]
    return versions[0] if len(versions) == 1 else None


def main(pyproject: str, venvs: list[str]) -> int:
    requirements = declared(Path(pyproject))
    seen = [installed(venv) for venv in venvs]
    problems = []
    for name in CHECKED:
        tested = sorted(versions[name] for versions in seen)
        requirement = requirements.get(name)
        wanted = f"{name}>={tested[0]},<={tested[-1]}"
        low = bound(requirement, ">=") if requirement else None
        high = bound(requirement, "<=") if requirement else None
        if (low, high) != (tested[0], tested[-1]):
            problems.append(f"{name}: pyproject says {requirement}, the runs tested {wanted}")
        else:
            print(f"{name}: {requirement} = tested {', '.join(map(str, tested))}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
