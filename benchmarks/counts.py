"""Section 1: requests the registry and its token server saw for one verification/login.

Counts come from the test bed itself (the registry's access log, the token server's record),
never from the client's own bookkeeping; requests are also attributed by User-Agent so that
the Docker daemon's own login during `connect()` is shown apart from our verification.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bed import Bed, SeenRequest, Window
from clients import Contender, Target
from connections import connects_by_port, strace_prefix

from testbed.registry import Registry
from testbed.token_server import TokenRequest

COLD = "ours, cold (in-process, cache cleared)"
WARM = "ours, warm (same process, 2nd call)"
FRESH = "ours, cold (fresh python -c process)"
FLOW_CLIENT = "ZenML get_service_connector_client()"
FLOW_CONNECT = "ZenML connect()"
FLOW_OURS = "ZenML connect(): our requests"
FLOW_DAEMON = "ZenML connect(): dockerd's own login"
FLOW_TOTAL = "ZenML flow total (both calls)"
DOCKER = "docker login (CLI, no daemon)"
SKOPEO = "skopeo login"


@dataclass
class Count:
    """What one scenario cost on the wire; `error` is set when it could not be measured."""

    scenario: str
    registry_requests: list[SeenRequest] = field(default_factory=list)
    token_requests: list[TokenRequest] = field(default_factory=list)
    error: str | None = None
    connections: tuple[int, int] | None = None
    """TCP connects (to the registry, to the token server) seen by strace, if traced."""
    self_reported: tuple[int, int] | None = None
    """(registry, token) requests our VerificationReport says it made, to cross-check."""

    @property
    def registry_total(self) -> int:
        return len(self.registry_requests)

    @property
    def token_total(self) -> int:
        return len(self.token_requests)

    def as_json(self) -> dict[str, object]:
        return {
            "scenario": self.scenario,
            "registry_requests": self.registry_total,
            "token_requests": self.token_total,
            "registry_detail": [list(r) for r in self.registry_requests],
            "token_detail": [
                {
                    "method": t.method,
                    "path": t.path,
                    "status": t.status,
                    "grant": t.params.grant,
                    "client_id": t.params.client_id,
                    "scopes": list(t.params.scopes),
                }
                for t in self.token_requests
            ],
            "tcp_connects": list(self.connections) if self.connections else None,
            "self_reported": list(self.self_reported) if self.self_reported else None,
            "error": self.error,
        }


def measure(scenario: str, registry: Registry, action: Callable[[], object]) -> Count:
    """Run `action` once and collect exactly the requests made meanwhile."""
    window = Window(registry)
    try:
        action()
    except Exception as error:  # noqa: BLE001 - reported in the table, not fatal
        seen, tokens = window.close()
        return Count(scenario, seen, tokens, error=f"{type(error).__name__}: {error}")
    seen, tokens = window.close()
    return Count(scenario, seen, tokens)


def run_contender(
    scenario: str, registry: Registry, contender: Contender, trace_dir: Path | None
) -> Count:
    """One run of `contender`; under strace (connects counted too) when `trace_dir` is set."""
    if trace_dir is None or not contender.spawns:
        return measure(scenario, registry, contender.prepare(()))
    trace_dir.mkdir(parents=True, exist_ok=True)
    trace = trace_dir / f"{uuid.uuid4().hex}.strace"
    count = measure(scenario, registry, contender.prepare(strace_prefix(trace)))
    ports = connects_by_port(trace)
    token_port = registry.token_server.port if registry.token_server is not None else None
    count.connections = (ports[registry.port], ports[token_port] if token_port else 0)
    return count


def ours_cold_and_warm(registry: Registry, target: Target) -> tuple[Count, Count]:
    """Cold: cache emptied; warm: the same call again in the same process."""
    from zenml_docker_connector import auth_cache
    from zenml_docker_connector.references import parse_registry_reference
    from zenml_docker_connector.verification import verify_registry_access

    reference = parse_registry_reference(target.host)
    reports: list[tuple[int, int]] = []

    def verify() -> None:
        report = verify_registry_access(reference, target.username, target.password)
        reports.append((report.registry_requests, report.token_requests))

    auth_cache.clear_cache()
    cold = measure(COLD, registry, verify)
    warm = measure(WARM, registry, verify)
    for count, reported in zip((cold, warm), reports, strict=False):
        count.self_reported = reported
    return cold, warm


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def zenml_flow(bed: Bed, registry: Registry, target: Target, docker_config: str) -> list[Count]:
    """Register a connector, then (cache cleared) `get_service_connector_client()` and
    `connect()` as ZenML's own code does; each step counted on its own."""
    from zenml.client import Client

    from zenml_docker_connector import auth_cache

    name = f"bench-{target.kind}-{uuid.uuid4().hex[:8]}"
    daemon_host = bed.dockerd.host if bed.dockerd is not None else "unix:///nonexistent.sock"
    with _environ(DOCKER_HOST=daemon_host, DOCKER_CONFIG=docker_config):
        client = Client()
        try:
            client.create_service_connector(
                name=name,
                connector_type="docker",
                auth_method="password",
                resource_type="docker-registry",
                configuration={
                    "username": target.username,
                    "password": target.password,
                    "registry": target.host,
                },
            )
        except Exception as error:  # noqa: BLE001 - reported in the table, not fatal
            failed = f"registering the connector failed: {type(error).__name__}: {error}"
            return [Count(FLOW_CLIENT, error=failed), Count(FLOW_CONNECT, error="not run")]
        try:
            return _client_and_connect(bed, registry, client, name, auth_cache.clear_cache)
        finally:
            with contextlib.suppress(Exception):
                client.delete_service_connector(name)


def _client_and_connect(
    bed: Bed, registry: Registry, client: Any, name: str, clear_cache: Callable[[], None]
) -> list[Count]:
    clear_cache()
    holder: dict[str, Any] = {}

    def get_client() -> None:
        holder["connector"] = client.get_service_connector_client(
            name, resource_type="docker-registry"
        )

    steps = [measure(FLOW_CLIENT, registry, get_client)]
    connector = holder.get("connector")
    if connector is None:
        steps.append(Count(FLOW_CONNECT, error="no connector client"))
    elif bed.dockerd is None:
        steps.append(Count(FLOW_CONNECT, error=f"no dockerd: {bed.dockerd_problem}"))
    else:

        def connect() -> None:
            connector.connect().close()

        steps.append(measure(FLOW_CONNECT, registry, connect))
    return steps


def split_by_agent(count: Count) -> tuple[Count, Count]:
    """Our requests vs everybody else's (the Docker daemon's login inside `connect()`).

    Registry requests are told apart by User-Agent, token requests by `client_id`
    (Docker sends `docker`).
    """
    ours = Count(
        count.scenario,
        [r for r in count.registry_requests if not r.agent.startswith("docker/")],
        [t for t in count.token_requests if t.params.client_id != "docker"],
    )
    others = Count(
        count.scenario,
        [r for r in count.registry_requests if r.agent.startswith("docker/")],
        [t for t in count.token_requests if t.params.client_id == "docker"],
    )
    return ours, others
