"""Unit tests: one file per module of the package; no services, no subprocesses.

The only sockets are in-process loopback servers (`testbed.loopback`: a `LocalServer` on
127.0.0.1, scripted per test), reached through the package's real, unpatched code;
`testbed.purity` refuses any other connection and any child process.
"""

from __future__ import annotations

from testbed.loopback import loopback, loopback_cert, loopback_server
from testbed.purity import no_sockets_or_subprocesses

__all__ = [
    "loopback",
    "loopback_cert",
    "loopback_server",
    "no_sockets_or_subprocesses",  # autouse for everything under tests/unit
]
