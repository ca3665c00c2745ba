"""One time budget for a whole verification, and the watchdog that enforces it on sockets.

urllib3's read timeout applies to each `recv`: a server that sends its status line, headers
or body one byte per second never trips it. So the deadline is enforced from outside: every
socket a transport opens is registered here (a duplicate of its descriptor, so the socket
can still be reached while TLS wraps it), and when the budget runs out a timer thread shuts
them all down. A blocked read then returns at once, and the transport reports the deadline.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Deadline:
    """Seconds left for one verification, from its start (waiting included)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


class SocketWatchdog:
    """Shuts down every registered socket when `deadline` runs out; `close()` disarms it."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def arm(self) -> None:
        """Start the timer (once); called before the first request."""
        with self._lock:
            if self._timer is not None or self._closed:
                return
            self._timer = threading.Timer(self.deadline.remaining(), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def track(self, sock: socket.socket) -> None:
        """Register a freshly connected socket (shut down at once if the time is up)."""
        try:
            duplicate = sock.dup()
        except OSError:
            return
        with self._lock:
            keep = not self._closed
            if keep:
                self._sockets.append(duplicate)
            fired = self.fired
        if not keep:
            duplicate.close()
        elif fired:
            _shut(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        logger.debug(
            "deadline of %g s reached: closing %d socket(s)", self.deadline.seconds, len(sockets)
        )
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        """Disarm the timer and let go of the duplicates (the connections close with them)."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            sockets, self._sockets = self._sockets, []
        if timer is not None:
            timer.cancel()
        for sock in sockets:
            sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
