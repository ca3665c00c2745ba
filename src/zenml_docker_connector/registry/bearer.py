"""Bearer-token registries: a token from the registry's token service, then `GET /v2/` with it.

Tokens are kept in the per-process cache until shortly before they expire, keyed by the
realm, service, scopes and credentials; a token the registry refuses is dropped at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, TokenServiceError
from zenml_docker_connector.registry.cache import token_ttl
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.ping import (
    Endpoint,
    StaleChallengeError,
    fresh_challenge,
    remember,
    require_api_access,
)
from zenml_docker_connector.registry.token_service import TokenRequest, check_realm, request_token
from zenml_docker_connector.registry.tokens import BearerToken
from zenml_docker_connector.registry.urls import v2_root


@dataclass(frozen=True)
class BearerGrant:
    """A token the registry accepted, and how it was obtained."""

    token: BearerToken
    from_cache: bool
    fell_back_to_get: bool
    """The token service had no OAuth2 endpoint, found out during this check."""


def authenticate_bearer(
    context: CheckContext, endpoint: Endpoint, scopes: tuple[str, ...], *, from_cache: bool
) -> BearerGrant:
    """Get (or reuse) a token for `scopes` and check that the registry accepts it."""
    challenge = endpoint.challenge
    assert challenge is not None
    realm = check_realm(context.transport, challenge)
    request = TokenRequest(realm, challenge.service, scopes, _token_credentials(context))
    key = _token_key(context, request)
    token = _cached_token(context, key)
    grant = BearerGrant(token, True, False) if token else _fetch(context, endpoint, request, key)
    response = context.transport.request(
        Outgoing(
            "GET",
            v2_root(endpoint.base_url),
            authorization=f"Bearer {grant.token.value}",
            auth_label="bearer token",
        )
    )
    if response.status == 401:
        context.cache.tokens.discard(key)
        if from_cache and _challenge_changed(challenge, fresh_challenge(response)):
            raise StaleChallengeError()
        raise TokenServiceError(
            context.registry,
            f"Registry {context.registry} rejected the token its token service "
            f"{context.transport.shown_url(realm)} issued: the registry and its "
            "token service disagree (service name, issuer or signing certificate). Check "
            "the registry's token auth settings.",
        )
    require_api_access(context, response, "the bearer token")
    return grant


def _token_credentials(context: CheckContext) -> Credentials:
    """The credentials for the token service; anonymous when they are incomplete."""
    credentials = context.credentials
    if credentials.complete:
        return credentials
    return Credentials(None, None, identity_token=credentials.identity_token)


def _fetch(
    context: CheckContext, endpoint: Endpoint, request: TokenRequest, key: str
) -> BearerGrant:
    try:
        token = request_token(context.transport, request, prefer_get=endpoint.prefer_get)
    except CredentialsRejectedError:
        # Rejected now: a token cached from an earlier success must not vouch for them.
        context.cache.tokens.discard(key)
        raise
    fell_back = token.method == "GET" and request.credentials.complete and not endpoint.prefer_get
    if fell_back:
        remember(context, replace(endpoint, prefer_get=True))
    context.cache.tokens.put(key, token, token_ttl(token.remaining))
    return BearerGrant(token, False, fell_back)


def _token_key(context: CheckContext, request: TokenRequest) -> str:
    credentials = request.credentials
    return context.cache.fingerprint(
        "token",
        request.realm,
        request.service,
        request.scopes,
        credentials.username,
        credentials.secret,
        context.credentials.identity_token,
        context.transport.settings.insecure,
    )


def _cached_token(context: CheckContext, key: str) -> BearerToken | None:
    if not context.use_cache:
        return None
    found = context.cache.tokens.get(key)
    return found if isinstance(found, BearerToken) else None


def _challenge_changed(old: Challenge, new: Challenge | None) -> bool:
    return new is not None and (
        new.scheme != "bearer" or new.realm != old.realm or new.service != old.service
    )
