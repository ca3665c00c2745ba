"""The real test bed (tests/testbed) started outside pytest, plus who-sent-what attribution.

The benchmark reuses the project's test-bed modules unchanged; this wrapper only adds what a
non-pytest caller needs: one context manager that starts everything and stops it all, and a
view of the registry's access log that keeps the User-Agent, so that requests the Docker
daemon sends on our behalf can be told apart from our own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from testbed.accesslog import SYNC_PREFIX  # noqa: E402
from testbed.dockerd import Dockerd, DockerdStartError, start_dockerd  # noqa: E402
from testbed.factory import Testbed  # noqa: E402
from testbed.registry import Registry  # noqa: E402
from testbed.token_server import TokenRequest  # noqa: E402

_COMBINED_WITH_AGENT = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>\S+) (?P<uri>\S+) [^"]*" (?P<status>\d{3}) \S+'
    r'(?: "[^"]*" "(?P<agent>[^"]*)")?'
)


class SeenRequest(NamedTuple):
    """One registry request with the client that sent it (User-Agent, first word)."""

    method: str
    path: str
    status: int
    agent: str


@dataclass
class Bed:
    """Registries with a known user each; `dockerd` is None when no daemon could start."""

    testbed: Testbed
    registries: dict[str, Registry]
    dockerd: Dockerd | None
    dockerd_problem: str | None


@contextlib.contextmanager
def started(root: Path, *, with_dockerd: bool = True) -> Iterator[Bed]:
    """Start an htpasswd and a token registry (and a private dockerd); stop all on exit."""
    registry_binary = _need("docker-registry", "docker-registry")
    htpasswd_binary = _need("htpasswd", "apache2-utils")
    testbed = Testbed(root=root, registry_binary=registry_binary, htpasswd_binary=htpasswd_binary)
    with contextlib.ExitStack() as stack:
        stack.callback(testbed.stop)
        registries = {
            "htpasswd": testbed.registry("htpasswd"),
            "token": testbed.registry("token"),
        }
        daemon, problem = (None, "skipped") if not with_dockerd else _start_dockerd()
        if daemon is not None:
            stack.callback(daemon.stop)
        yield Bed(testbed, registries, daemon, problem)


def _need(program: str, package: str) -> str:
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if found is None:
        raise SystemExit(f"benchmark needs {program!r} (apt-get install {package})")
    return found


def _start_dockerd() -> tuple[Dockerd | None, str | None]:
    binary = shutil.which("dockerd") or shutil.which("dockerd", path="/usr/sbin:/usr/bin")
    if binary is None:
        return None, "dockerd not installed (apt-get install docker.io)"
    if os.geteuid() != 0:
        return None, "a private dockerd needs root"
    try:
        return start_dockerd(binary), None
    except DockerdStartError as error:
        return None, str(error).splitlines()[0]


class Window:
    """Requests a registry (and its token server) answered between `open` and `close`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._mark = registry.mark()
        self._offset = registry.access_log.path.stat().st_size
        server = registry.token_server
        self._token_mark = server.mark() if server is not None else 0

    def close(self) -> tuple[list[SeenRequest], list[TokenRequest]]:
        """The registry's requests (with User-Agent) and the token server's, in order."""
        counted = self.registry.requests_since(self._mark)
        with self.registry.access_log.path.open("rb") as stream:
            stream.seek(self._offset)
            text = stream.read().decode("utf-8", "replace")
        seen: list[SeenRequest] = []
        for line in text.splitlines():
            match = _COMBINED_WITH_AGENT.match(line)
            if match is None or match["uri"].startswith(SYNC_PREFIX):
                continue
            agent = (match["agent"] or "?").split(" ", 1)[0]
            path = match["uri"].split("?", 1)[0]
            seen.append(SeenRequest(match["method"], path, int(match["status"]), agent))
        if [(r.method, r.path, r.status) for r in seen] != [tuple(r) for r in counted]:
            # The raw log disagreeing with the test bed's own count would make every figure
            # suspect: fall back to the test bed's list, without agents.
            seen = [SeenRequest(r.method, r.path, r.status, "?") for r in counted]
        server = self.registry.token_server
        tokens = server.requests_since(self._token_mark) if server is not None else []
        return seen, tokens
