"""A TCP proxy on 127.0.0.1 in front of a real service, which can fail on cue.

Faults a real registry gives but never on demand: `on_authorized` runs when a request with
an `Authorization` header passes (a test stops the registry there, between the challenge
and the authenticated ping), and `reset_after_headers` forwards an answer's headers and
then resets the connection (RST). Whatever the proxy cannot forward ends in a reset too,
which is what a client of a registry that died sees.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Callable

from testbed.relay import Flow, Relay


def _reset(connection: socket.socket) -> None:
    """close() with SO_LINGER 0 sends RST instead of FIN."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class _FaultyFlow(Flow):
    def __init__(self, proxy: FaultyProxy) -> None:
        self.proxy = proxy

    def from_client(self, chunk: bytes) -> tuple[bytes, bool]:
        hook = self.proxy.on_authorized
        if hook is not None and b"\nauthorization:" in chunk.lower():
            self.proxy.on_authorized = None
            hook()
        return chunk, True

    def from_upstream(self, chunk: bytes) -> tuple[bytes, bool]:
        if self.proxy.reset_after_headers and b"\r\n\r\n" in chunk:
            self.proxy.reset_after_headers = False
            return chunk[: chunk.index(b"\r\n\r\n") + 4], False
        return chunk, True


class FaultyProxy(Relay):
    """Forwards each connection to `upstream` (host, port); faults are armed by attributes."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(upstream, backlog=16)
        self.on_authorized: Callable[[], None] | None = None
        self.reset_after_headers = False
        self.resets = 0

    def flow(self) -> Flow:
        return _FaultyFlow(self)

    def finish(self, client: socket.socket) -> None:
        """Every connection ends in a reset, as with a registry that died."""
        self.resets += 1
        _reset(client)
