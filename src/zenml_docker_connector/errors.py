"""Exceptions whose message a user can act on: what failed, for which registry, what to try.

Independent of ZenML (`glue.connector` maps them onto its exceptions); no message may carry
a secret.
"""

from __future__ import annotations

from zenml_docker_connector.printable import printable


class DockerConnectorError(Exception):
    """Base class: `str(error)` is a complete, secret-free message for the user."""


class RegistryError(DockerConnectorError):
    """Something went wrong talking to a registry; the message (which may quote the server)
    is made printable here, whatever its parts went through."""

    def __init__(self, registry: str, message: str) -> None:
        super().__init__(printable(message))
        self.registry = registry


class CredentialsRejectedError(RegistryError):
    """The registry (or its token service) refused the username and password."""


class AccessDeniedError(RegistryError):
    """The credentials are valid, but the requested repository access was not granted."""


class RegistryUnreachableError(RegistryError):
    """No usable HTTP answer: no connection, no answer in time, or an HTTP 5xx."""


class RegistryOutOfReachError(RegistryUnreachableError):
    """No connection, or no answer in time, from where the check ran: the host name does not
    resolve, the connection was refused or reset, there is no route, or it timed out.

    This says nothing about the registry or the credentials: it may well answer elsewhere
    (a name that resolves only inside a cluster's network). The glue decides what that means
    for a check (see docs/reachability.md); TLS failures and HTTP errors are not this kind.
    `remembered` marks an error repeated from the per-process cache without asking again.
    """

    def __init__(self, registry: str, message: str, *, remembered: bool = False) -> None:
        super().__init__(registry, message)
        self.remembered = remembered


class RegistryTLSError(RegistryError):
    """The TLS handshake or certificate verification failed."""


class NotARegistryError(RegistryError):
    """Something answered, but it does not speak the OCI distribution API."""


class InsecureTransportError(RegistryError):
    """We refused to send credentials over an unprotected channel."""


class DestinationRefusedError(RegistryError):
    """A request would reach an address the request policy forbids (inside a ZenML server:
    loopback, link-local or private networks other than the registry itself)."""


class TokenServiceError(RegistryError):
    """The registry's token service misbehaved (bad answer, oversize body, wrong scheme)."""


class DockerDaemonUnavailableError(DockerConnectorError):
    """No Docker daemon answers where docker-py looked for one."""


class LocalConfigError(DockerConnectorError):
    """A local client file or credential helper is unusable, or holds nothing for a registry."""
