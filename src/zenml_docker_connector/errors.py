"""Exceptions with messages a user can act on, and the scrubbing that keeps secrets out of them.

These are independent of ZenML so the registry client and the credential-store code can be
used (and tested) without importing it; `connector.py` maps them onto ZenML's exceptions.
Every message names the registry and suggests what to try; none may carry a secret.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable


class DockerConnectorError(Exception):
    """Base class: `str(error)` is a complete, secret-free message for the user."""


class RegistryError(DockerConnectorError):
    """Something went wrong talking to a registry."""

    def __init__(self, registry: str, message: str) -> None:
        super().__init__(message)
        self.registry = registry


class CredentialsRejectedError(RegistryError):
    """The registry (or its token service) refused the username and password."""


class AccessDeniedError(RegistryError):
    """The credentials are valid, but the requested repository access was not granted."""


class RegistryUnreachableError(RegistryError):
    """No HTTP answer: DNS, refused connection, timeout."""


class RegistryTLSError(RegistryError):
    """The TLS handshake or certificate verification failed."""


class NotARegistryError(RegistryError):
    """Something answered, but it does not speak the OCI distribution API."""


class InsecureTransportError(RegistryError):
    """We refused to send credentials over an unprotected channel."""


class TokenServiceError(RegistryError):
    """The registry's token service misbehaved (bad answer, oversize body, wrong scheme)."""


class DockerDaemonUnavailableError(DockerConnectorError):
    """No Docker daemon answers where docker-py looked for one."""


class CredentialSourceError(DockerConnectorError):
    """A local credential store (config.json, a credential helper, auth.json) is unusable."""


class LocalConfigError(DockerConnectorError):
    """A local client configuration file cannot be read or safely updated."""


REDACTED = "********"


def secret_variants(
    secrets: Iterable[str | None], usernames: Iterable[str | None] = ()
) -> list[str]:
    """The forms a secret may leak in: clear text and the base64 encodings Docker uses."""
    clear = [s for s in secrets if s]
    users = [u for u in usernames if u]
    variants: set[str] = set()
    for secret in clear:
        variants.add(secret)
        variants.add(base64.b64encode(secret.encode()).decode())
        for user in users:
            variants.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    # Longest first so that a secret's prefix never leaves the rest of it behind.
    return sorted((v for v in variants if len(v) >= 4), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None], usernames: Iterable[str | None] = ()) -> str:
    """Replace every known form of the given secrets in `text` (usernames stay visible)."""
    for variant in secret_variants(secrets, usernames):
        text = text.replace(variant, REDACTED)
    return text
