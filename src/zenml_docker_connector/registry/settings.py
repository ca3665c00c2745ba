"""How to connect to a registry: time bounds, certificate checks, where per-host CAs live,
and which destinations a request may reach.

One value travels from the connector to the transport so that no function on the way needs
a parameter per knob.

- `deadline` (default `DEFAULT_DEADLINE` = 30 s) bounds a whole verification: every request,
  redirect and token request of it, and the wait for an identical check already running.
  `Timeouts` bound connecting and each read within it.
- `refuse_private_destinations` is what a ZenML server needs: the connector then runs for
  every user of the server, and a registry (or its token realm, or a redirect) must not make
  the server reach its own loopback, link-local or private network. The registry's own host
  stays reachable (the user named it). The glue turns it on when the process is a ZenML
  server, unless the server's environment sets `ALLOW_PRIVATE_NETWORKS_ENV` to true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_DEADLINE = 30.0
ALLOW_PRIVATE_NETWORKS_ENV = "ZENML_DOCKER_CONNECTOR_ALLOW_PRIVATE_NETWORKS"
"""Set to `true` on a ZenML server whose registries' token services live on private networks."""


@dataclass(frozen=True)
class Timeouts:
    """Bounds for one HTTP round trip: connecting, and each read of an answer."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything about *how* to reach a registry (never *who* is asking)."""

    insecure: bool = False
    """Skip certificate verification for the registry's own host (never its token realm)."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    deadline: float = DEFAULT_DEADLINE
    """Seconds one whole verification may take, every request and redirect included."""
    cert_dirs: Sequence[Path] | None = None
    """Roots of per-host CA directories (`certs.d`); None = Docker's and containers' own."""
    refuse_private_destinations: bool = False
    """Refuse loopback, link-local and private addresses other than the registry's host."""


def private_networks_allowed(environ: Mapping[str, str]) -> bool:
    """Did the operator opt in to private destinations (`ALLOW_PRIVATE_NETWORKS_ENV`)?"""
    value = environ.get(ALLOW_PRIVATE_NETWORKS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")
