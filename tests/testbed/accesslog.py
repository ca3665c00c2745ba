"""Exact request counts from distribution's access log.

The registry writes one Apache "combined" line per HTTP request to stdout (gorilla's logging
handler), including 401s and 404s; logrus' "response completed" lines on stderr skip errors, so
they cannot count. Lines are written when the handler returns, which in practice is before the
client has the whole response, but to be certain `settle()` sends a marker request and waits
for its line, then for a short quiet spell.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

SYNC_PREFIX = "/testbed-sync/"
_COMBINED = re.compile(
    r'^(?P<remote>\S+) \S+ \S+ \[[^\]]*\] "(?P<method>\S+) (?P<uri>\S+) [^"]*" '
    r"(?P<status>\d{3}) \S+"
)


class RegistryRequest(NamedTuple):
    """One request as the registry saw it; `path` has no query string."""

    method: str
    path: str
    status: int


class AccessLog:
    """Tails the registry's stdout file and parses each complete line once."""

    def __init__(self, path: Path, send_marker: Callable[[str], None]) -> None:
        self.path = path
        self._send_marker = send_marker
        self._offset = 0
        self._partial = b""
        self._entries: list[RegistryRequest] = []
        self._uris: list[str] = []
        self._markers: set[str] = set()
        self._lock = threading.Lock()

    def _read_new(self) -> bool:
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            chunk = stream.read()
        if not chunk:
            return False
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for raw in lines:
            match = _COMBINED.match(raw.decode("utf-8", "replace"))
            if match is None:
                continue
            uri = match["uri"]
            path = urlsplit(uri).path
            if path.startswith(SYNC_PREFIX):
                self._markers.add(path)
                continue
            self._entries.append(RegistryRequest(match["method"], path, int(match["status"])))
            self._uris.append(uri)
        return True

    def settle(self, timeout: float = 5.0, quiet: float = 0.03) -> None:
        """Return once every request answered before this call is in the log."""
        marker = f"{SYNC_PREFIX}{uuid.uuid4().hex}"
        self._send_marker(marker)
        deadline = time.monotonic() + timeout
        with self._lock:
            quiet_since = time.monotonic()
            while time.monotonic() < deadline:
                if self._read_new():
                    quiet_since = time.monotonic()
                elif marker in self._markers and time.monotonic() - quiet_since >= quiet:
                    return
                time.sleep(0.005)
        raise TimeoutError(f"registry access log {self.path} did not show {marker}")

    def mark(self) -> int:
        """A position in the log; requests made after this call come after it."""
        self.settle()
        with self._lock:
            return len(self._entries)

    def requests_since(self, mark: int) -> list[RegistryRequest]:
        """Every request (method, path, status) the registry answered since `mark`."""
        self.settle()
        with self._lock:
            return self._entries[mark:]

    def uris_since(self, mark: int) -> list[str]:
        """The raw request URIs (with query strings) since `mark`, same order."""
        self.settle()
        with self._lock:
            return self._uris[mark:]
