"""Logged-in `docker.DockerClient`s for the local daemon, the connector's credentials first.

docker-py asks a credential helper (`credsStore` / `credHelpers` in the user's config.json)
before it looks at credentials given to `login()` (docker/docker-py#3281), so a client
"logged in" with the connector's credentials may still push with whatever the helper holds,
or fail when the helper is broken. `patches.connector_first_auth` keeps docker-py's lookup
for every other registry and skips the helpers for the connector's registry only.
"""

from __future__ import annotations

import os
import re

import docker
from docker import auth as docker_auth
from docker.errors import APIError, DockerException

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    CredentialsRejectedError,
    DockerDaemonUnavailableError,
    RegistryError,
)
from zenml_docker_connector.patches import connector_first_auth
from zenml_docker_connector.redaction import shown
from zenml_docker_connector.references import RegistryReference

_USERINFO_PASSWORD = re.compile(r"(://[^/@:]*):[^/@]*@")
"""A password in a DOCKER_HOST URL (`ssh://user:password@host`): never shown."""


def authenticated_docker_client(
    reference: RegistryReference, credentials: Credentials
) -> docker.DockerClient:
    """A DockerClient for the local daemon, logged in to `reference` with these credentials."""
    try:
        client = docker.DockerClient.from_env()
        client.ping()
    except DockerException as error:
        raise _daemon_error(str(error)) from None
    connector_first_auth(client.api, docker_auth, reference.config_key)
    try:
        client.login(
            username=credentials.username,
            password=credentials.secret,
            registry=reference.config_key,
            reauth=True,
        )
    except APIError as error:
        client.close()
        raise _login_error(reference, credentials, error) from None
    except DockerException as error:
        client.close()
        raise _daemon_error(str(error), credentials) from None
    return client


def _daemon_error(
    detail: str, credentials: Credentials | None = None
) -> DockerDaemonUnavailableError:
    """docker-py's first line of `detail`, shown redacted, bounded and printable."""
    first = _hide_url_password(detail.splitlines()[0] if detail else "")
    first = credentials.redactor.shown(first) if credentials else shown(first)
    configured = os.environ.get("DOCKER_HOST")
    where = shown(_hide_url_password(configured)) if configured else None
    return DockerDaemonUnavailableError(
        f"No Docker daemon answered at {where or 'unix:///var/run/docker.sock (the default)'}, "
        f"so no Docker client can be handed out ({first or 'no answer'}). "
        "Start Docker, or point DOCKER_HOST at a running daemon (e.g. "
        "DOCKER_HOST=unix:///run/user/1000/docker.sock). Verifying the connector does not "
        "need a daemon: `zenml service-connector verify`."
    )


def _hide_url_password(text: str) -> str:
    return _USERINFO_PASSWORD.sub(r"\1:********@", text)


def _login_error(
    reference: RegistryReference, credentials: Credentials, error: APIError
) -> RegistryError:
    explanation = credentials.redactor.shown(str(error.explanation or error))
    status = error.status_code
    rejected = status == 401 or "unauthorized" in explanation.lower() or "401" in explanation
    if rejected:
        return CredentialsRejectedError(
            reference.resource_id,
            f"Registry {reference.resource_id} rejected the credentials when the Docker "
            "daemon logged in. Check the password or token stored in the "
            "connector (`zenml service-connector update`), then retry.",
        )
    return RegistryError(
        reference.resource_id,
        f"The Docker daemon could not log in to registry {reference.resource_id}: "
        f"{explanation}. If the registry uses a private CA, the daemon needs it "
        f"in /etc/docker/certs.d/{reference.netloc}/ca.crt.",
    )
