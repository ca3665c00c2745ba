"""Asking a registry's token service for a bearer token (the Docker token protocol).

An OAuth2 POST first (`grant_type=password`, or `grant_type=refresh_token` for an identity
token), a GET with Basic credentials when the service has no OAuth2 endpoint (404, GHCR's
405, or a 400/401/403 that is not an OAuth2 `invalid_grant`). Every refusal becomes an
error naming the registry, its token service and what to try; the service's own error text
is shown only redacted, printable and bounded (`Transport.shown`), and never when the answer
came through a redirect (it may be another service's, an internal one's for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, TokenServiceError
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.responses import HttpResponse, json_text_field
from zenml_docker_connector.registry.tokens import BearerToken, parse_token_response
from zenml_docker_connector.registry.transport import Transport

MAX_TOKEN_BODY = 1024 * 1024
"""Token answers are a few KiB; anything above 1 MiB is refused unread."""
CLIENT_ID = "zenml-docker-connector"


@dataclass(frozen=True)
class TokenRequest:
    """Everything a token request needs; the credentials hide their secret in `repr`."""

    realm: str
    service: str | None
    scopes: tuple[str, ...]
    credentials: Credentials


def check_realm(transport: Transport, challenge: Challenge) -> str:
    """The challenge's realm, if it is an http(s) URL (where credentials may go to it is the
    request policy's decision, made for every token request)."""
    registry = transport.registry
    realm = (challenge.realm or "").strip()
    parts = urlsplit(realm)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TokenServiceError(
            registry,
            f"Registry {registry} asks for bearer tokens but its token realm "
            f"{transport.shown(realm, 120)!r} is not an http(s) URL, so no token can be "
            "requested. Check the registry's auth settings.",
        )
    return realm


def request_token(
    transport: Transport,
    request: TokenRequest,
    *,
    prefer_get: bool = False,
) -> BearerToken:
    """Get a token: OAuth2 POST, falling back to GET (straight to GET if `prefer_get`)."""
    credentials = request.credentials
    if credentials.identity_token:
        if not credentials.secret:
            raise CredentialsRejectedError(
                transport.registry,
                f"No identity token configured for registry {transport.registry}.",
            )
        response = _post(transport, request)
        if response.status in (404, 405):
            raise TokenServiceError(
                transport.registry,
                f"The token service of registry {transport.registry} has no OAuth2 endpoint "
                f"(HTTP {response.status}), so the identity token cannot be used there. "
                "Configure the username and password (or access token) instead.",
            )
        return _token_from(transport, request, response, "POST")
    if credentials.complete and not prefer_get:
        response = _post(transport, request)
        if not _oauth_unsupported(response):
            return _token_from(transport, request, response, "POST")
    response = _get(transport, request)
    return _token_from(transport, request, response, "GET")


def _oauth_unsupported(response: HttpResponse) -> bool:
    """True when the POST answer means "no OAuth2 here" rather than "bad credentials"."""
    if response.status in (404, 405):
        return True
    if response.status in (400, 401, 403):
        error = json_text_field(response.body, "error")
        return error not in ("invalid_grant", "invalid_client", "unauthorized_client")
    return False


def _post(transport: Transport, request: TokenRequest) -> HttpResponse:
    credentials = request.credentials
    form: dict[str, str] = {"client_id": CLIENT_ID}
    if credentials.identity_token:
        form["grant_type"] = "refresh_token"
        form["refresh_token"] = credentials.secret or ""
    else:
        form["grant_type"] = "password"
        form["username"] = credentials.username or ""
        form["password"] = credentials.secret or ""
    if request.service:
        form["service"] = request.service
    if request.scopes:
        form["scope"] = " ".join(request.scopes)
    return transport.request(
        Outgoing(
            "POST",
            request.realm,
            role="token",
            auth_label="OAuth2 " + form["grant_type"],
            form=form,
            form_has_credentials=True,
            max_body=MAX_TOKEN_BODY,
        )
    )


def _get(transport: Transport, request: TokenRequest) -> HttpResponse:
    credentials = request.credentials
    params: list[tuple[str, str]] = []
    if request.service:
        params.append(("service", request.service))
    params.extend(("scope", scope) for scope in request.scopes)
    authorization = None
    if credentials.complete and credentials.username:
        params.append(("account", credentials.username))
        authorization = credentials.basic_header()
    params.append(("client_id", CLIENT_ID))
    return transport.request(
        Outgoing(
            "GET",
            request.realm,
            role="token",
            authorization=authorization,
            auth_label="Basic" if authorization else "anonymous",
            params=tuple(params),
            max_body=MAX_TOKEN_BODY,
        )
    )


def _token_from(
    transport: Transport, request: TokenRequest, response: HttpResponse, method: str
) -> BearerToken:
    registry = transport.registry
    realm = transport.shown_url(request.realm)
    if response.status in (401, 403):
        raise _rejected(transport, realm, request, response)
    if response.status == 429:
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} is rate-limiting requests "
            "(HTTP 429); try again later.",
        )
    if response.status != 200:
        detail = _error_text(transport, response)
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} answered HTTP {response.status}"
            f" to a {method} token request{': ' + detail if detail else ''}.",
        )
    return parse_token_response(registry, realm, response.body, method)


def _rejected(
    transport: Transport, realm: str, request: TokenRequest, response: HttpResponse
) -> CredentialsRejectedError:
    registry, credentials = transport.registry, request.credentials
    if not credentials.username:
        return CredentialsRejectedError(
            registry,
            f"Registry {registry} requires credentials (its token service {realm} refused "
            "an anonymous request): configure a username and password or access token.",
        )
    detail = _error_text(transport, response)
    return CredentialsRejectedError(
        registry,
        f"Registry {registry} (token service {realm}) rejected the {credentials.who()}"
        f"{': ' + detail if detail else ''}. Check the password or access token (it may "
        "have expired or been revoked) and that the username is right.",
    )


def _error_text(transport: Transport, response: HttpResponse) -> str:
    """A short, secret-free, printable summary of a token service's error answer; nothing
    for an answer that came through a redirect (it may be another service's)."""
    data = response.quotable_json()
    text = ""
    for name in ("error_description", "details", "error", "message"):
        found = data.get(name)
        if isinstance(found, str) and found:
            text = found
            break
    errors = data.get("errors")
    if not text and isinstance(errors, list):
        messages = [str(e.get("message")) for e in errors[:8] if isinstance(e, dict)]
        text = "; ".join(m for m in messages if m and m != "None")
    return transport.shown(text) if text else ""
