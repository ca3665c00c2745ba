"""A TCP proxy on 127.0.0.1 in front of a real service, which can fail on cue.

Faults a real registry gives but never on demand: `on_authorized` runs when a request with
an `Authorization` header passes (a test stops the registry there, between the challenge
and the authenticated ping), and `reset_after_headers` forwards an answer's headers and
then resets the connection (RST). Whatever the proxy cannot forward ends in a reset too,
which is what a client of a registry that died sees.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Callable

from testbed.net import LOOPBACK


def _reset(connection: socket.socket) -> None:
    """close() with SO_LINGER 0 sends RST instead of FIN."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


class FaultyProxy:
    """Forwards each connection to `upstream` (host, port); faults are armed by attributes."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.on_authorized: Callable[[], None] | None = None
        self.reset_after_headers = False
        self.resets = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def netloc(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._socket.accept()
            except OSError:
                continue
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        """Both directions in this one thread: a reset closes a socket no other thread
        blocks on (a blocked recv elsewhere would hold the close, and the RST, back)."""
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self._fail(client)
            return
        with contextlib.suppress(OSError):
            self._pump(client, upstream)
        self._fail(client)
        upstream.close()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            if client in ready:
                chunk = client.recv(65536)
                if not chunk:
                    return
                hook = self.on_authorized
                if hook is not None and b"\nauthorization:" in chunk.lower():
                    self.on_authorized = None
                    hook()
                upstream.sendall(chunk)
            if upstream in ready:
                chunk = upstream.recv(65536)
                if not chunk:
                    return
                if self.reset_after_headers and b"\r\n\r\n" in chunk:
                    self.reset_after_headers = False
                    client.sendall(chunk[: chunk.index(b"\r\n\r\n") + 4])
                    return
                client.sendall(chunk)

    def _fail(self, client: socket.socket) -> None:
        self.resets += 1
        _reset(client)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
