"""The unit tests' promise, enforced: no network connection and no child process.

`tests/unit/conftest.py` imports the autouse fixture `no_sockets_or_subprocesses`, so a unit
test that reaches for a registry, a daemon, a ZenML server or a credential helper fails at
once instead of quietly becoming an integration test.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest


class ImpureTestError(AssertionError):
    """A unit test tried to open a connection or start a process."""


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise ImpureTestError(f"unit tests must not {what}; move the test to tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def no_sockets_or_subprocesses(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Connecting a socket (TCP or unix) or starting a program raises `ImpureTestError`."""
    monkeypatch.setattr(socket.socket, "connect", _refuse("connect a socket"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse("connect a socket"))
    monkeypatch.setattr(subprocess.Popen, "_execute_child", _refuse("start a process"))
    monkeypatch.setattr(os, "system", _refuse("start a process"))
    yield
