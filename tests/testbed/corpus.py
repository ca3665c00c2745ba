"""The bad-input corpus: cases as YAML data, the checks every case gets, the summary line.

Each YAML file under tests/integration/corpus/ lists the cases of one input kind; its
runner turns each (case, path) into one test. Every case states the error type it expects
and a fragment of the message, which must name the problem. Whatever the path, a case is
handled cleanly only when: that error (and no other exception) is raised, or the `zenml`
CLI exits non-zero through click with no traceback; the message holds the fragment, is
printable and bounded; no registered test secret appears in it in any form; no watched
file (docker config, auth.json, the ZenML store) changed. The plugin prints one line at
the end of the session, e.g. `bad-input corpus: 231 cases tried, 231 handled cleanly`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from pydantic import ValidationError

from testbed.leaks import assert_no_secret
from testbed.zenml_fixtures import ZenCli
from zenml_docker_connector.errors import LocalConfigError

CORPUS_DIR = Path(__file__).resolve().parent.parent / "integration" / "corpus"
MAX_MESSAGE = 4000
"""A message longer than this is not "bounded"; real ones are a few hundred characters."""

ERRORS: dict[str, type[Exception]] = {
    "ValueError": ValueError,
    "ValidationError": ValidationError,
    "LocalConfigError": LocalConfigError,
}
"""The error types a case may expect, by the name its YAML uses."""

_counts = {"tried": 0, "handled": 0}


@dataclass(frozen=True)
class Case:
    """One bad input: `fields` hold the input (kind-specific), `paths` where it is tried."""

    id: str
    message: str
    error: str
    fields: dict[str, Any] = field(default_factory=dict)
    paths: tuple[str, ...] = ()

    @property
    def error_type(self) -> type[Exception]:
        return ERRORS[self.error]


def expand(value: Any) -> Any:
    """`{repeat: s, times: n, prefix: p, suffix: q}` builds long strings; other values pass."""
    if isinstance(value, dict) and "repeat" in value:
        body = str(value["repeat"]) * int(value["times"])
        return f"{value.get('prefix', '')}{body}{value.get('suffix', '')}"
    return value


def with_secret(value: Any, secret: str) -> Any:
    """`{secret}` in a case's text replaced by the test's password."""
    return value.replace("{secret}", secret) if isinstance(value, str) else value


def load(kind: str, default_paths: tuple[str, ...]) -> list[Case]:
    """The cases of `CORPUS_DIR/<kind>.yaml`; ids must be unique."""
    raw = yaml.safe_load((CORPUS_DIR / f"{kind}.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in raw["cases"]:
        entry = dict(entry)
        case_id = entry.pop("id")
        message = entry.pop("message")
        error = entry.pop("error", raw.get("error", "ValueError"))
        paths = tuple(entry.pop("paths", default_paths))
        cases.append(Case(case_id, message, error, {k: expand(v) for k, v in entry.items()}, paths))
    ids = [case.id for case in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate case ids in {kind}.yaml: {duplicates}"
    return cases


def params(cases: list[Case]) -> list[Any]:
    """One pytest param per (case, path), with readable ids."""
    return [
        pytest.param(case, path, id=f"{case.id}-{path}") for case in cases for path in case.paths
    ]


@contextlib.contextmanager
def counted() -> Iterator[None]:
    """Count the case as tried, and as handled cleanly when the block finishes."""
    _counts["tried"] += 1
    yield
    _counts["handled"] += 1


def check_message(message: str, case: Case, secrets: tuple[str, ...]) -> None:
    """The message names the problem, is bounded and printable, and holds no secret."""
    flat = " ".join(message.split())
    assert case.message in flat, f"{case.id}: {case.message!r} not in {message[:600]!r}"
    assert len(message) <= MAX_MESSAGE, f"{case.id}: message is {len(message)} characters"
    assert all(ch.isprintable() or ch in "\n\t" for ch in message), f"{case.id}: unprintable"
    assert "Traceback" not in message
    assert_no_secret([message], *secrets, usernames=["alice", "testbed", "<token>"])


def check_cli(result: Result, case: Case, secrets: tuple[str, ...]) -> None:
    """The `zenml` command failed through click: non-zero, no uncaught exception."""
    out = result.output
    assert result.exit_code != 0, f"{case.id}: exit code 0:\n{out[-2000:]}"
    assert isinstance(result.exception, SystemExit), f"{case.id}: {result.exception!r}"
    check_message(out, case, secrets)


@dataclass
class CorpusRun:
    """What one case's test works with: the CLI, a fresh connector name and password."""

    zen: ZenCli
    name: str
    secret: str
    """A registered test password, for the case's `{secret}` and the connector."""
    watched: tuple[Path, ...]

    def auto_configure(self, resource_id: str) -> Result:
        """`zenml service-connector register NAME --type docker --auto-configure`."""
        return self.zen.register_docker(
            self.name, "--auto-configure", f"--resource-id={resource_id}"
        )

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """Count the case; when the block is done, no watched file may have changed."""
        with counted():
            before = fingerprint(*self.watched)
            yield
            assert fingerprint(*self.watched) == before, "a watched file changed"


def fingerprint(*roots: Path) -> dict[str, str]:
    """sha256 of every regular file under the roots (symlinks, FIFOs and sockets skipped)."""
    found: dict[str, str] = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in paths:
            if path.is_file() and not path.is_symlink() and path.name != "calls.jsonl":
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _counts["tried"]:
        terminalreporter.write_line(
            f"bad-input corpus: {_counts['tried']} cases tried, "
            f"{_counts['handled']} handled cleanly"
        )
