"""Keep the workflows in step with .ci/run: every workflow that tests pinned ZenML lines tests
exactly .ci/run's `pinned` lines, each on the same Python, and every latest-ZenML matrix covers
exactly the Python versions pyproject's classifiers promise.

    python .ci/check_matrix.py

Read as text: the workflows write each line as `- zenml: "V"` followed by `python-version: "P"`,
the latest matrices as `python-version: ["3.10", ...]`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_PINNED = re.compile(r'^pinned=\(([^)]*)\)$', re.MULTILINE)
_LINE = re.compile(r'- zenml: "([^"]+)"\s*\n\s*python-version: "([^"]+)"')
_LATEST = re.compile(r'python-version: \[([^\]]*)\]')
_CLASSIFIER = re.compile(r'"Programming Language :: Python :: (3\.\d+)"')


def main() -> int:
    found = _PINNED.search((ROOT / ".ci" / "run").read_text())
    if not found:
        print(".ci/run: no `pinned=(...)` line")
        return 1
    pinned = [tuple(entry.split()) for entry in re.findall(r'"([^"]+)"', found.group(1))]
    pythons = _CLASSIFIER.findall((ROOT / "pyproject.toml").read_text())
    problems = []
    for workflow in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        text = workflow.read_text()
        lines = _LINE.findall(text)
        if lines and lines != pinned:
            problems.append(f"{workflow.name}: ZenML lines {lines}, .ci/run pins {pinned}")
        for matrix in _LATEST.findall(text):
            versions = re.findall(r'"([^"]+)"', matrix)
            if versions != pythons:
                problems.append(f"{workflow.name}: Pythons {versions}, pyproject says {pythons}")
        print(f"{workflow.name}: {len(lines)} pinned ZenML lines, "
              f"{len(_LATEST.findall(text))} latest-ZenML matrices checked")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
