"""Docker/OCI bearer tokens: asking the token service for one, and reading what it says.

The flow follows the Docker token specification: an OAuth2 POST first (`grant_type=password`,
or `grant_type=refresh_token` for an identity token), a GET with Basic credentials when the
service has no OAuth2 endpoint (404, GHCR's 405, or a 400/401/403 that is not an OAuth2
`invalid_grant`). The answer carries `token` or `access_token`, `expires_in` (default and
minimum 60 s) and `issued_at`. A token that is a JWT is decoded (without a signature check:
we are a client, the registry checks it) to report which actions its `access` claim grants.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from zenml_docker_connector.challenges import Challenge
from zenml_docker_connector.errors import (
    CredentialsRejectedError,
    InsecureTransportError,
    TokenServiceError,
    redact,
)
from zenml_docker_connector.transport import (
    HttpResponse,
    Transport,
    credentials_allowed,
)

MAX_TOKEN_BODY = 1024 * 1024
"""Token answers are a few KiB; anything above 1 MiB is refused unread."""
DEFAULT_EXPIRES_IN = 60
MINIMUM_EXPIRES_IN = 60
CLIENT_ID = "zenml-docker-connector"
IDENTITY_TOKEN_USERNAME = "<token>"
"""The username credential helpers return when the secret is an identity token."""

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class GrantedAccess:
    """One entry of a token's `access` claim."""

    type: str
    name: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class BearerToken:
    """A token and its lifetime; the value never appears in `repr`."""

    value: str = field(repr=False)
    expires_in: int
    """Lifetime the service announced (after the 60 s default/minimum)."""
    remaining: float
    """Seconds of validity left when we got it (`issued_at` + `expires_in` - now, clamped)."""
    obtained_at: float
    """`time.monotonic()` when the answer arrived."""
    method: str
    """`POST` (OAuth2) or `GET`."""
    access: tuple[GrantedAccess, ...] | None
    """Decoded `access` claim; None when the token is not a readable JWT."""

    def granted_actions(self, resource_type: str, name: str) -> tuple[str, ...] | None:
        """Actions granted on `type:name`, or None if the token does not say."""
        if self.access is None:
            return None
        actions: list[str] = []
        for entry in self.access:
            if entry.type == resource_type and entry.name == name:
                actions.extend(a for a in entry.actions if a not in actions)
        return tuple(actions)


@dataclass(frozen=True)
class TokenRequest:
    """Everything a token request needs; the password never appears in `repr`."""

    realm: str
    service: str | None
    scopes: tuple[str, ...]
    username: str | None
    password: str | None = field(repr=False)
    identity_token: bool = False


def basic_authorization(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def check_realm(transport: Transport, challenge: Challenge, registry_url: str) -> str:
    """The challenge's realm, if it is a URL we may send credentials to."""
    registry = transport.registry
    realm = (challenge.realm or "").strip()
    parts = urlsplit(realm)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TokenServiceError(
            registry,
            f"Registry {registry} asks for bearer tokens but its token realm {realm!r} is not "
            "an http(s) URL, so no token can be requested. Check the registry's auth settings.",
        )
    if parts.scheme.lower() == "http":
        registry_plain = urlsplit(registry_url).scheme.lower() == "http"
        if not registry_plain or not credentials_allowed(realm, transport.reference):
            raise InsecureTransportError(
                registry,
                f"Registry {registry} names a plain-HTTP token realm {parts.scheme}://"
                f"{parts.netloc}{parts.path}; credentials go to a token service over https only "
                "(plain HTTP is accepted only when the registry itself is a plain-HTTP loopback "
                "registry). Fix the registry's token realm.",
            )
    return realm


def request_token(
    transport: Transport,
    request: TokenRequest,
    *,
    prefer_get: bool = False,
) -> BearerToken:
    """Get a token: OAuth2 POST, falling back to GET (straight to GET if `prefer_get`)."""
    has_credentials = bool(request.username) and request.password is not None
    if request.identity_token:
        if not request.password:
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
    if has_credentials and not prefer_get:
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
        error = _json_field(response.body, "error")
        return error not in ("invalid_grant", "invalid_client", "unauthorized_client")
    return False


def _post(transport: Transport, request: TokenRequest) -> HttpResponse:
    form: dict[str, str] = {"client_id": CLIENT_ID}
    if request.identity_token:
        form["grant_type"] = "refresh_token"
        form["refresh_token"] = request.password or ""
    else:
        form["grant_type"] = "password"
        form["username"] = request.username or ""
        form["password"] = request.password or ""
    if request.service:
        form["service"] = request.service
    if request.scopes:
        form["scope"] = " ".join(request.scopes)
    return transport.request(
        "POST",
        request.realm,
        role="token",
        data=form,
        data_has_credentials=True,
        auth_label="OAuth2 " + form["grant_type"],
        max_body=MAX_TOKEN_BODY,
    )


def _get(transport: Transport, request: TokenRequest) -> HttpResponse:
    params: list[tuple[str, str]] = []
    if request.service:
        params.append(("service", request.service))
    params.extend(("scope", scope) for scope in request.scopes)
    authorization = None
    if request.username and request.password is not None:
        params.append(("account", request.username))
        authorization = basic_authorization(request.username, request.password)
    params.append(("client_id", CLIENT_ID))
    return transport.request(
        "GET",
        request.realm,
        role="token",
        params=params,
        authorization=authorization,
        auth_label="Basic" if authorization else "anonymous",
        max_body=MAX_TOKEN_BODY,
    )


def _realm_text(realm: str) -> str:
    parts = urlsplit(realm)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _token_from(
    transport: Transport, request: TokenRequest, response: HttpResponse, method: str
) -> BearerToken:
    registry = transport.registry
    realm = _realm_text(request.realm)
    if response.status in (401, 403):
        if not request.username:
            raise CredentialsRejectedError(
                registry,
                f"Registry {registry} requires credentials (its token service {realm} refused "
                "an anonymous request): configure a username and password or access token.",
            )
        who = (
            "identity token"
            if request.identity_token
            else f"credentials of user '{request.username}'"
        )
        detail = _error_text(response, request)
        raise CredentialsRejectedError(
            registry,
            f"Registry {registry} (token service {realm}) rejected the {who}"
            f"{': ' + detail if detail else ''}. Check the password or access token (it may "
            "have expired or been revoked) and that the username is right.",
        )
    if response.status == 429:
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} is rate-limiting requests "
            "(HTTP 429); try again later.",
        )
    if response.status != 200:
        detail = _error_text(response, request)
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} answered HTTP {response.status}"
            f" to a {method} token request{': ' + detail if detail else ''}.",
        )
    return parse_token_response(registry, realm, response.body, method)


def parse_token_response(
    registry: str,
    realm: str,
    body: bytes,
    method: str,
    *,
    now: float | None = None,
    monotonic: float | None = None,
) -> BearerToken:
    """Read a token answer; raise `TokenServiceError` when it is not one."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} did not answer with a JSON "
            "object; is the realm really a Docker token endpoint?",
        )
    value = data.get("token") or data.get("access_token")
    if not isinstance(value, str) or not value.strip():
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} answered without a token "
            "(neither 'token' nor 'access_token').",
        )
    expires_in = _expires_in(data.get("expires_in"))
    wall = time.time() if now is None else now
    remaining = float(expires_in)
    issued_at = _parse_rfc3339(data.get("issued_at"))
    if issued_at is not None:
        remaining = max(0.0, min(float(expires_in), issued_at + expires_in - wall))
    return BearerToken(
        value=value.strip(),
        expires_in=expires_in,
        remaining=remaining,
        obtained_at=time.monotonic() if monotonic is None else monotonic,
        method=method,
        access=decode_jwt_access(value.strip()),
    )


def _expires_in(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_EXPIRES_IN
    return max(MINIMUM_EXPIRES_IN, int(value))


def _parse_rfc3339(value: object) -> float | None:
    """Seconds since the epoch, or None (Go writes up to 9 fraction digits)."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if zone in ("Z", "z"):
            tz = datetime.timezone.utc
        else:
            sign = 1 if zone[0] == "+" else -1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = datetime.timezone(sign * offset)
        stamp = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None
    return stamp.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def decode_jwt_access(token: str) -> tuple[GrantedAccess, ...] | None:
    """The `access` claim of a JWT (unverified), or None when `token` is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims: Any = json.loads(payload)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    access = claims.get("access")
    if access is None:
        return ()
    if not isinstance(access, list):
        return None
    entries: list[GrantedAccess] = []
    for item in access:
        if not isinstance(item, dict):
            continue
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if isinstance(kind, str) and isinstance(name, str) and isinstance(actions, list):
            entries.append(
                GrantedAccess(kind, name, tuple(a for a in actions if isinstance(a, str)))
            )
    return tuple(entries)


def _json_field(body: bytes, name: str) -> str | None:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get(name), str):
        value: str = data[name]
        return value
    return None


def _error_text(response: HttpResponse, request: TokenRequest) -> str:
    """A short, secret-free summary of a token service's error answer."""
    text = ""
    for name in ("error_description", "details", "error", "message"):
        found = _json_field(response.body, name)
        if found:
            text = found
            break
    if not text:
        try:
            data = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("errors"), list):
            messages = [
                str(e.get("message"))
                for e in data["errors"]
                if isinstance(e, dict) and e.get("message")
            ]
            text = "; ".join(messages)
    text = " ".join(text.split())[:200]
    return redact(text, [request.password], [request.username])


def requested_scopes(repository: str | None, push: bool) -> tuple[str, ...]:
    """`repository:ns/repo:pull[,push]`, or nothing (what `docker login` asks for)."""
    if not repository:
        return ()
    return (f"repository:{repository}:{'pull,push' if push else 'pull'}",)


def scope_actions(scopes: Sequence[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(type, name, actions) for each scope; the name may contain `host:port`."""
    parsed: list[tuple[str, str, tuple[str, ...]]] = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        parsed.append((kind.split("(", 1)[0], name, tuple(a for a in actions.split(",") if a)))
    return parsed
