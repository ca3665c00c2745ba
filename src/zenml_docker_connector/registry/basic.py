"""HTTP Basic registries: the credentials themselves go with an authenticated `GET /v2/`."""

from __future__ import annotations

from zenml_docker_connector.errors import CredentialsRejectedError
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.ping import (
    Endpoint,
    StaleChallengeError,
    fresh_challenge,
    require_api_access,
)
from zenml_docker_connector.registry.urls import v2_root


def authenticate_basic(context: CheckContext, endpoint: Endpoint, *, from_cache: bool) -> str:
    """Check the credentials; return the `Authorization` value that worked."""
    credentials = context.credentials
    registry = context.registry
    if not credentials.complete:
        raise CredentialsRejectedError(
            registry,
            f"Registry {registry} requires credentials, but none are configured: "
            "set a username and a password or access token.",
        )
    if credentials.identity_token:
        raise CredentialsRejectedError(
            registry,
            f"Registry {registry} uses Basic authentication, which takes a password, "
            "not an identity token: configure the username and password instead.",
        )
    authorization = credentials.basic_header()
    response = context.transport.request(
        Outgoing("GET", v2_root(endpoint.base_url), authorization=authorization, auth_label="Basic")
    )
    if response.status == 401:
        newer = fresh_challenge(response)
        if from_cache and newer is not None and newer.scheme != "basic":
            raise StaleChallengeError()
        raise CredentialsRejectedError(
            registry,
            f"Registry {registry} rejected the {credentials.who()}: check the password or "
            "access token (it may have expired or been revoked) and that the username is right.",
        )
    require_api_access(context, response, "the Basic credentials")
    return authorization
