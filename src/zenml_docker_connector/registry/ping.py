"""`GET /v2/`: what a registry wants, and what its answers mean when they are not 200/401.

200 means no credentials at all, 401 carries `WWW-Authenticate` challenges (Basic or
Bearer), anything else means the server does not speak the registry API. A loopback registry
named without a scheme is tried over http first and, when the port speaks TLS (Go's "Client
sent an HTTP request to an HTTPS server"), once more over https, as Docker does.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_docker_connector.errors import (
    AccessDeniedError,
    NotARegistryError,
    RegistryError,
    RegistryUnreachableError,
)
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry.cache import CHALLENGE_TTL
from zenml_docker_connector.registry.challenges import (
    Challenge,
    ChallengeLimitError,
    parse_each,
    select_challenge,
)
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.responses import HttpResponse, json_object
from zenml_docker_connector.registry.urls import base_of, shown_url, v2_root

HTTPS_EXPECTED = b"Client sent an HTTP request to an HTTPS server"
"""Go's net/http answer (HTTP 400) when plain HTTP reaches a TLS port."""


@dataclass(frozen=True)
class Endpoint:
    """Where the registry's API answers and what it asks for (None: nothing)."""

    base_url: str
    challenge: Challenge | None
    prefer_get: bool = False
    """The token service proved to have no OAuth2 endpoint: go straight to GET."""


class StaleChallengeError(Exception):
    """A remembered challenge no longer matches the registry; start over with a ping."""


def cached_endpoint(context: CheckContext) -> Endpoint | None:
    """The endpoint remembered from an earlier check (explicit checks ignore it)."""
    if not context.use_cache:
        return None
    found = context.cache.challenges.get(_cache_key(context))
    return found if isinstance(found, Endpoint) else None


def remember(context: CheckContext, endpoint: Endpoint) -> None:
    context.cache.challenges.put(_cache_key(context), endpoint, CHALLENGE_TTL)


def forget(context: CheckContext) -> None:
    context.cache.challenges.discard(_cache_key(context))


def _cache_key(context: CheckContext) -> str:
    reference = context.reference
    return context.cache.fingerprint(
        "challenge",
        reference.api_url,
        reference.scheme_explicit,
        context.transport.settings.insecure,
    )


def discover(context: CheckContext) -> Endpoint:
    """Ping the registry anonymously and read its challenge."""
    reference = context.reference
    base_url = reference.api_url
    response = _ping(context, base_url)
    if (
        response.status == 400
        and HTTPS_EXPECTED in response.body
        and reference.scheme == "http"
        and not reference.scheme_explicit
    ):
        base_url = f"https://{reference.netloc}"
        context.steps.append("the port speaks HTTPS: retrying over https")
        context.transport.base_url = base_url
        response = _ping(context, base_url)
    if response.status == 200:
        _require_registry_body(context.registry, response)
        return Endpoint(base_url, None)
    if response.status == 401:
        return Endpoint(base_url, _challenge_from(context.registry, response))
    raise unexpected_answer(reference, response)


def fresh_challenge(response: HttpResponse) -> Challenge | None:
    """The challenge an authenticated request was answered with (to detect a stale one)."""
    try:
        return select_challenge(parse_each(response.www_authenticate)[0])
    except ChallengeLimitError:
        return None


def _ping(context: CheckContext, base_url: str) -> HttpResponse:
    return context.transport.request(Outgoing("GET", v2_root(base_url)))


def _challenge_from(registry: str, response: HttpResponse) -> Challenge:
    try:
        challenges, problems = parse_each(response.www_authenticate)
    except ChallengeLimitError as error:
        raise NotARegistryError(
            registry,
            f"{v2_root(base_of(response.url))} sent {error}; refusing to read them. Check the "
            "host and port.",
        ) from None
    chosen = select_challenge(challenges)
    if chosen is not None:
        if chosen.scheme == "bearer" and not chosen.realm:
            raise NotARegistryError(
                registry,
                f"Registry {registry} asks for a bearer token but names no token "
                "realm in its WWW-Authenticate challenge; no client can log in to it. "
                "Check the registry's auth configuration.",
            )
        return chosen
    url = v2_root(base_of(response.url))
    if challenges:
        schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
        raise NotARegistryError(
            registry,
            f"{url} asks for authentication scheme(s) {schemes}; Docker registries use "
            "Basic or Bearer, so this is not a registry endpoint the connector can log in "
            "to. Check the host and port.",
        )
    why = f" ({response.shown(problems[0], 200)})" if problems else " (no WWW-Authenticate header)"
    raise NotARegistryError(
        registry,
        f"{url} answered 401 without a usable authentication challenge{why}; it does not "
        "behave like an OCI distribution (Docker registry v2) API. Check the host and port.",
    )


def _require_registry_body(registry: str, response: HttpResponse) -> None:
    version = response.headers.get("Docker-Distribution-API-Version", "")
    if version.lower().startswith("registry/2"):
        return
    body = response.body.strip()
    if body in (b"", b"{}") or json_object(body) is not None:
        return
    raise NotARegistryError(
        registry,
        f"{shown_url(response.url)} answered 200 with something that is not a registry API "
        f"answer ({response.content_kind()}); it does not speak the OCI distribution (Docker "
        "registry v2) API. Check the host, port and scheme.",
    )


def require_api_access(context: CheckContext, response: HttpResponse, what: str) -> None:
    """An authenticated `GET /v2/` must answer 200; 403 means valid but not allowed."""
    if response.status == 200:
        return
    if response.status == 403:
        raise AccessDeniedError(
            context.registry,
            f"Registry {context.registry} accepted {what} but refuses access to its API "
            "(HTTP 403). Ask the registry's administrators for "
            "access.",
        )
    raise unexpected_answer(context.reference, response)


def unexpected_answer(reference: RegistryReference, response: HttpResponse) -> RegistryError:
    """The error for an answer where a registry answers 200 or 401."""
    registry = reference.resource_id
    url = v2_root(base_of(response.url))
    if response.status == 400 and HTTPS_EXPECTED in response.body:
        return NotARegistryError(
            registry,
            f"{url} is an HTTPS port but registry {registry} was named with http://: "
            f"name it https://{reference.netloc}.",
        )
    if response.status == 429:
        return RegistryError(
            registry,
            f"Registry {registry} is rate-limiting requests (HTTP 429); try again later.",
        )
    if response.status >= 500:
        return RegistryUnreachableError(
            registry,
            f"Registry {registry} answered HTTP {response.status} at {url}: it (or a "
            "proxy in front of it) is failing. Is the registry running? Try again later.",
        )
    return NotARegistryError(
        registry,
        f"{url} answered HTTP {response.status} ({response.content_kind()}) where a "
        "registry answers 200 or 401: it does not speak the OCI distribution (Docker "
        "registry v2) API. Check the host and port (registries served under a path "
        "prefix are not supported, by Docker either).",
    )
