"""Check pyproject's dependency bounds against the policy, using what the CI runs installed.

    python .ci/bounds.py pyproject.toml VENV...

The policy (docs/releasing.md):
- the lower bound (`>=`) of zenml, docker, pydantic and requests is the tested minimum: the
  version the oldest pinned ZenML line (the venv with the lowest zenml) installed;
- zenml, whose internals we patch, is the only dependency with an upper bound: `<` the next
  minor release after the newest ZenML any venv tested, so bug-fix releases of the newest
  tested line install (`<=0.98.0` would refuse 0.98.1);
- no other dependency has an upper bound (`<`, `<=`, `==`, `~=`); ZenML constrains their ranges.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

CHECKED = ("zenml", "docker", "pydantic", "requests")
CAPPED = "zenml"
UPPER = ("<", "<=", "==", "===", "~=")
_QUOTED = re.compile(r'"([^"]+)"')


def declared(pyproject: Path) -> dict[str, Requirement]:
    """Every `dependencies` entry (read as text: no TOML parser on Python 3.10, and the list
    is flat)."""
    text = pyproject.read_text()
    block = text.split("\ndependencies = [", 1)[1].split("]", 1)[0]
    requirements = (Requirement(item) for item in _QUOTED.findall(block))
    return {requirement.name.lower(): requirement for requirement in requirements}


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


def next_minor(version: Version) -> Version:
    return Version(f"{version.major}.{version.minor + 1}")


def problems_of(requirements: dict[str, Requirement], seen: list[dict[str, Version]]) -> list[str]:
    """What in pyproject breaks the policy, given each venv's installed versions."""
    oldest = min(seen, key=lambda versions: versions[CAPPED])
    newest = max(versions[CAPPED] for versions in seen)
    problems = []
    for name in CHECKED:
        if name not in requirements:
            problems.append(f"{name}: not in pyproject's dependencies")
            continue
        lows = [Version(s.version) for s in requirements[name].specifier if s.operator == ">="]
        if lows != [oldest[name]]:
            problems.append(f"{name}: pyproject says {requirements[name]}, the lower bound should "
                            f"be >={oldest[name]} (what ZenML {oldest[CAPPED]}'s run installed)")
    for name, requirement in requirements.items():
        uppers = [s for s in requirement.specifier if s.operator in UPPER]
        if name != CAPPED and uppers:
            problems.append(f"{name}: pyproject says {requirement}; only {CAPPED} may have an "
                            "upper bound")
    cap = next_minor(newest)
    uppers = [s for s in requirements[CAPPED].specifier if s.operator in UPPER]
    if [(s.operator, Version(s.version)) for s in uppers] != [("<", cap)]:
        problems.append(f"{CAPPED}: pyproject says {requirements[CAPPED]}, the upper bound should "
                        f"be <{cap} (the next minor release after the newest tested, {newest})")
    return problems


def main(pyproject: str, venvs: list[str]) -> int:
    requirements = declared(Path(pyproject))
    seen = [installed(venv) for venv in venvs]
    problems = problems_of(requirements, seen)
    for problem in problems:
        print(problem)
    if not problems:
        for name in CHECKED:
            tested = sorted({versions[name] for versions in seen})
            print(f"{name}: {requirements[name]} follows the policy "
                  f"(tested {', '.join(map(str, tested))})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
