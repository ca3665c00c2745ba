"""Unit tests: one file per module of the package, no services, no sockets, no processes."""

from __future__ import annotations

from testbed.purity import no_sockets_or_subprocesses

__all__ = ["no_sockets_or_subprocesses"]  # autouse for everything under tests/unit
