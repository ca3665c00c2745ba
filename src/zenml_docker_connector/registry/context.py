"""What every step of one check shares: the registry, the credentials, the transport, the cache."""

from __future__ import annotations

from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.transport import Transport


@dataclass(frozen=True)
class CheckContext:
    """One check of one set of credentials against one registry."""

    reference: RegistryReference
    credentials: Credentials
    transport: Transport
    cache: AuthCache
    use_cache: bool
    """False for explicit checks: cached challenges and tokens are not read (still written)."""

    def __post_init__(self) -> None:
        # Whatever the servers of this check echo is shown without these credentials' secret.
        self.transport.redactor = self.credentials.redactor

    @property
    def registry(self) -> str:
        return self.reference.resource_id

    @property
    def steps(self) -> list[str]:
        return self.transport.steps
