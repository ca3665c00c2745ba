"""Loopback helpers: free ports, polling, and HTTP sessions that ignore proxy settings."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import requests

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (the caller retries if it loses the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll `check` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def loopback_session() -> requests.Session:
    """A session that never uses proxies or netrc from the environment (loopback only)."""
    session = requests.Session()
    session.trust_env = False
    return session
