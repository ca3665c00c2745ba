"""Registries that cannot be reached, on loopback: for the reachability policy's tests.

- `closed_port()`: nothing listens there, so a connection is refused at once.
- `ResettingListener`: accepts every connection and resets it (RST) before any answer, and
  counts them: "was the registry asked again?" is `listener.connections`.
- `SilentListener`: a listening socket whose accept queue is full, so the kernel drops
  every further SYN and a connect times out; a firewall that drops packets looks like this.

All in-process and loopback-only, so unit tests may use them too (`testbed.purity`).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from testbed.net import LOOPBACK, free_port


def closed_port() -> int:
    """A loopback port nobody listens on (refused connections)."""
    return free_port()


class ResettingListener:
    """Accepts and resets every connection; `connections` counts the attempts."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])
        self._socket.settimeout(0.05)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._count = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def connections(self) -> int:
        with self._lock:
            return self._count

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._count += 1
            # Read the request first, so the reset reaches a client waiting for the answer
            # (reset before its send completes, it may see a broken pipe instead).
            connection.settimeout(1)
            with contextlib.suppress(OSError):
                connection.recv(65536)
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    def __enter__(self) -> ResettingListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


class SilentListener:
    """A port whose connects time out: listening, backlog 0, one connection never accepted."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind((LOOPBACK, 0))
        self._socket.listen(0)
        self.port = int(self._socket.getsockname()[1])
        self._filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> SilentListener:
        self._filler.connect((LOOPBACK, self.port))  # fills the accept queue
        return self

    def __exit__(self, *exc: object) -> None:
        self._filler.close()
        self._socket.close()
