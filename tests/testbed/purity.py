"""The unit tests' promise, enforced: no service, no child process, only loopback sockets.

`tests/unit/conftest.py` imports the autouse fixture `no_sockets_or_subprocesses`. A unit test
may connect only to loopback addresses (127.0.0.0/8, ::1), where its in-process servers
(`testbed.local_http.LocalServer`, through `testbed.loopback`) listen; a test that reaches for
another host, a unix socket (a daemon), or starts a program (a credential helper, a ZenML
server, a registry) fails at once instead of quietly becoming an integration test.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

_MOVE = "move the test to tests/integration"


class ImpureTestError(AssertionError):
    """A unit test tried to connect anywhere but loopback, or to start a process."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise ImpureTestError(f"unit tests must not {what}; {_MOVE}")

    return refuse


def is_loopback_address(address: object) -> bool:
    """True for an (IPv4 or IPv6) socket address on 127.0.0.0/8 or ::1; False for unix paths
    and for host names (callers that resolve names first, like urllib3, connect to IPs)."""
    if not isinstance(address, tuple) or not address or not isinstance(address[0], str):
        return False
    try:
        return ipaddress.ip_address(address[0].split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _loopback_only(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(self: socket.socket, address: Any, /) -> Any:
        if not is_loopback_address(address):
            raise ImpureTestError(
                f"unit tests may connect only to in-process loopback servers, not to "
                f"{address!r}; {_MOVE}"
            )
        return original(self, address)

    return connect


@pytest.fixture(autouse=True)
def no_sockets_or_subprocesses(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Connecting a socket anywhere but loopback (TCP elsewhere, unix) or starting a program
    raises `ImpureTestError`."""
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, _loopback_only(getattr(socket.socket, name)))
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse("start a process"))
    monkeypatch.setattr(os, "system", _refuse("start a process"))
    yield
