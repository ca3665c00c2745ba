"""How to connect to a registry: time bounds, certificate checks, where per-host CAs live.

One value travels from the connector to the transport so that no function on the way needs
a parameter per knob.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0


@dataclass(frozen=True)
class Timeouts:
    """Bounds for one HTTP round trip: connecting, each read, and the whole exchange."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT
    total: float | None = None
    """Deadline for one request including its body; default `connect + read`."""

    @property
    def deadline(self) -> float:
        return self.total if self.total is not None else self.connect + self.read


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything about *how* to reach a registry (never *who* is asking)."""

    insecure: bool = False
    """Skip certificate verification for the registry's own host (never its token realm)."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    cert_dirs: Sequence[Path] | None = None
    """Roots of per-host CA directories (`certs.d`); None = Docker's and containers' own."""
