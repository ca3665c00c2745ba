"""Loopback listeners that note when each connection came and went, for listings.

`TimedRelay` forwards every connection to a real registry and records when it was opened;
`SilentListener` accepts connections and never answers (a registry that hangs), recording
when each was opened and when the client gave up. Their timestamps show whether checks ran
side by side, without any timing threshold. `SlowRelay` is a `TimedRelay` that holds every
answer back for a while: a slow registry that still answers within the client's deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from testbed.net import LOOPBACK


class _Listener:
    """Accepts on 127.0.0.1 in a daemon thread and hands each connection to `_serve`."""

    def __init__(self) -> None:
        self.opened: list[float] = []
        self._sock = socket.create_server((LOOPBACK, 0))
        self.port: int = self._sock.getsockname()[1]
        self.host = f"{LOOPBACK}:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.opened.append(time.monotonic())
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._sock.close()


class SilentListener(_Listener):
    """Takes every connection and reads it to the end, never sending a byte."""

    def __init__(self) -> None:
        self.closed: list[float] = []
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while conn.recv(65536):
                pass
        self.closed.append(time.monotonic())


class TimedRelay(_Listener):
    """Forwards each connection to `target` (host, port), byte for byte."""

    delay = 0.0
    """Seconds each chunk from `target` waits before it is passed on (none here)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            conn.close()
            return
        threading.Thread(target=_pump, args=(upstream, conn, self.delay), daemon=True).start()
        _pump(conn, upstream)


class SlowRelay(TimedRelay):
    """Forwards like `TimedRelay`, but every chunk the registry sends waits `delay` seconds
    before it goes on: each answer arrives late, requests still go out at once."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.delay = delay
        super().__init__(target)


def _pump(source: socket.socket, sink: socket.socket, delay: float = 0.0) -> None:
    """Copy (each chunk `delay` seconds late) until either side ends, then end both."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            if delay:
                time.sleep(delay)
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
