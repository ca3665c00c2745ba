"""A loopback TCP relay in front of a real service: what the test bed's proxies share.

Each accepted connection gets a thread of its own that carries the bytes both ways in one
select loop, so a close or a reset of one side is never held back by a recv blocked in another
thread. A subclass sees every chunk through its `Flow` (one per connection), which decides what
is forwarded and whether the connection goes on, and decides how a connection ends (`finish`).
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import TypeVar

from testbed.net import LOOPBACK

R = TypeVar("R", bound="Relay")


class Flow:
    """One connection's hooks; each returns (the bytes to forward, whether to go on)."""

    def from_client(self, chunk: bytes) -> tuple[bytes, bool]:
        return chunk, True

    def from_upstream(self, chunk: bytes) -> tuple[bytes, bool]:
        return chunk, True


class Relay:
    """Forwards every connection on `host` to `upstream` (host, port) until either side ends."""

    def __init__(self, upstream: tuple[str, int], host: str = LOOPBACK, backlog: int = 64) -> None:
        self.upstream = upstream
        self.host = host
        self._socket = socket.create_server((host, 0), backlog=backlog)
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=type(self).__name__)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def flow(self) -> Flow:
        """The hooks of a new connection (here: forward everything)."""
        return Flow()

    def accepted(self) -> None:
        """Called for each connection as it is accepted, before a byte is relayed."""

    def finish(self, client: socket.socket) -> None:
        """How the client's side ends (here: closed; a subclass may reset it)."""
        client.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._socket.accept()
            except OSError:
                continue
            self.accepted()
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            self.finish(client)
            return
        with contextlib.suppress(OSError):
            self._pump(client, upstream, self.flow())
        self.finish(client)
        upstream.close()

    @staticmethod
    def _pump(client: socket.socket, upstream: socket.socket, flow: Flow) -> None:
        directions = ((client, upstream, flow.from_client), (upstream, client, flow.from_upstream))
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            for source, sink, hook in directions:
                if source not in ready:
                    continue
                chunk = source.recv(65536)
                if not chunk:
                    return
                forward, go_on = hook(chunk)
                sink.sendall(forward)
                if not go_on:
                    return

    def __enter__(self: R) -> R:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()
