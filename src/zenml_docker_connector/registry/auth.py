"""Answering a registry's challenge: Basic (the credentials themselves) or Bearer (a token from
the registry's token service, the Docker token protocol), and what the answer grants.

The authenticated `GET /v2/` that proves the answer is the flow's (`verification`): it alone
decides what a refusal means for a remembered challenge.

Tokens: an OAuth2 POST first (`grant_type=password`, or `refresh_token` for an identity token),
then a GET with Basic credentials when the service has no OAuth2 endpoint (404, GHCR's 405, or
a 400/401/403 that is not an OAuth2 `invalid_grant`). The service's own error text is shown
only through `Transport.shown`, and never when the answer came through a redirect (it may be
another, internal service's). A JWT token is decoded without a signature check (the registry
checks it) to report what its `access` claim grants.

Scopes: `type[(class)]:name:action[,action]`; the name may hold `host:port`, so it is split on
the last colon. A JWT's `access` claim answers for its scopes; otherwise
`GET /v2/<repo>/tags/list` answers pull (200, or 404 = not pushed yet; 401/403 = denied).
Push cannot be tested without writing: "not checkable".
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, RegistryError, TokenServiceError
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry import reader
from zenml_docker_connector.registry.challenge import Challenge, Endpoint, unexpected_answer
from zenml_docker_connector.registry.policy import Outgoing
from zenml_docker_connector.registry.reader import HttpResponse, InputLimitError
from zenml_docker_connector.registry.transport import Transport

DEFAULT_EXPIRES_IN = 60
MINIMUM_EXPIRES_IN = 60

_GO_ZERO_TIME = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)
"""What Go services write for an unset `issued_at`; distribution's client reads it as "now"."""

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)


Grant = tuple[str, str, tuple[str, ...]]
"""One entry of a token's `access` claim: type, name, actions."""


@dataclass(frozen=True)
class BearerToken:
    """A token and its lifetime; the value never appears in `repr`."""

    value: str = field(repr=False)
    expires_in: int
    """Lifetime the service announced (after the 60 s default/minimum)."""
    remaining: float
    """Seconds of validity left when we got it (`issued_at` + `expires_in` - now, clamped)."""
    method: str
    """`POST` (OAuth2) or `GET`."""
    access: tuple[Grant, ...] | None
    """Decoded `access` claim; None when the token is not a readable JWT."""

    def granted_actions(self, resource_type: str, name: str) -> tuple[str, ...] | None:
        """Actions granted on `type:name`, or None if the token does not say."""
        if self.access is None:
            return None
        actions: list[str] = []
        for kind, entry, granted in self.access:
            if (kind, entry) == (resource_type, name):
                actions.extend(a for a in granted if a not in actions)
        return tuple(actions)


def parse_token_response(
    registry: str, realm: str, body: bytes, method: str, *, now: float | None = None
) -> BearerToken:
    """Read a token answer; raise `TokenServiceError` when it is not one."""
    data = reader.json_object(body)
    if data is None:
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
    try:
        access = decode_jwt_access(value.strip())
    except InputLimitError as error:
        raise TokenServiceError(
            registry,
            f"The token service {realm} of registry {registry} issued a token whose JWT "
            f"payload is {error}; refusing it.",
        ) from None
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
        method=method,
        access=access,
    )


def _expires_in(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return DEFAULT_EXPIRES_IN
    return max(MINIMUM_EXPIRES_IN, int(value))


def _parse_rfc3339(value: object) -> float | None:
    """Seconds since the epoch, or None when absent (Go writes up to 9 fraction digits).

    Go's zero time counts as absent, as in distribution's token client: a token server that
    leaves `issued_at` unset means "issued now", not "expired two thousand years ago".
    """
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = datetime.timezone.utc
        if zone not in ("Z", "z"):
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
            tz = datetime.timezone(offset if zone[0] == "+" else -offset)
        stamp = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=tz
        )
    except ValueError:
        return None
    if stamp == _GO_ZERO_TIME and not (fraction or "").strip("0"):
        return None
    return stamp.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def decode_jwt_access(token: str) -> tuple[Grant, ...] | None:
    """The `access` claim of a JWT (unverified), or None when `token` is not a JWT; raises
    `InputLimitError` when its payload nests too deeply."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims: Any = reader.load_json(payload.decode("utf-8"))
    except InputLimitError:
        raise
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    access = claims.get("access")
    if access is None:
        return ()
    if not isinstance(access, list):
        return None
    entries: list[Grant] = []
    for item in access:
        if not isinstance(item, dict):
            continue
        kind, name, actions = item.get("type"), item.get("name"), item.get("actions")
        if isinstance(kind, str) and isinstance(name, str) and isinstance(actions, list):
            entries.append((kind, name, tuple(a for a in actions if isinstance(a, str))))
    return tuple(entries)


# --- asking the token service ---------------------------------------------------------

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
    transport: Transport, request: TokenRequest, *, prefer_get: bool = False
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
        error = reader.json_text_field(response.body, "error")
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


_SERVER_FAILED = (
    " The token service failed on its side: try again later, and if it keeps failing, tell"
    " the registry's operator."
)
"""A 5xx says nothing about the credentials: the hint a user needs is to retry."""


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
            f" to a {method} token request{': ' + detail if detail else ''}."
            + (_SERVER_FAILED if response.status >= 500 else ""),
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


# --- answering the challenge ------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """The answer to a challenge: an `Authorization` value (never in `repr`) and its origin."""

    header: str = field(repr=False)
    label: str
    """What `header` is, for step logs: "Basic" or "bearer token"."""
    token: BearerToken | None = None
    realm: str | None = None
    fell_back_to_get: bool = False
    """The token service had no OAuth2 endpoint, found out during this check."""

    @property
    def what(self) -> str:
        return "the Basic credentials" if self.token is None else "the bearer token"

    def rejected(self, transport: Transport, credentials: Credentials) -> RegistryError:
        """The error for a 401 to the authenticated `GET /v2/`."""
        registry = transport.registry
        if self.token is None:
            return CredentialsRejectedError(
                registry,
                f"Registry {registry} rejected the {credentials.who()}: check the password or "
                "access token (it may have expired or been revoked) and that the username is "
                "right.",
            )
        return TokenServiceError(
            registry,
            f"Registry {registry} rejected the token its token service "
            f"{transport.shown_url(self.realm or '')} issued: the registry and its "
            "token service disagree (service name, issuer or signing certificate). Check "
            "the registry's token auth settings.",
        )


def basic_authorization(registry: str, credentials: Credentials) -> Authorization:
    """The Basic answer, or why these credentials cannot give one."""
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
    return Authorization(credentials.basic_header(), "Basic")


def bearer_authorization(
    transport: Transport, credentials: Credentials, endpoint: Endpoint, scopes: tuple[str, ...]
) -> Authorization:
    """A token for `scopes` from the token service the challenge names (anonymous when the
    credentials are incomplete)."""
    challenge = endpoint.challenge
    assert challenge is not None
    realm = check_realm(transport, challenge)
    if not credentials.complete:
        credentials = Credentials(None, None, identity_token=credentials.identity_token)
    request = TokenRequest(realm, challenge.service, scopes, credentials)
    token = request_token(transport, request, prefer_get=endpoint.prefer_get)
    fell_back = token.method == "GET" and credentials.complete and not endpoint.prefer_get
    return Authorization(f"Bearer {token.value}", "bearer token", token, realm, fell_back)


# --- repository access ----------------------------------------------------------------


@dataclass(frozen=True)
class ScopeCheck:
    """The answer for one requested scope."""

    scope: str
    requested: tuple[str, ...]
    granted: tuple[str, ...]
    unknown: tuple[str, ...]
    """Requested actions whose grant could not be checked without writing."""
    source: str

    @property
    def denied(self) -> tuple[str, ...]:
        return tuple(a for a in self.requested if a not in self.granted and a not in self.unknown)

    def describe(self) -> str:
        granted = ",".join(self.granted) or "nothing"
        text = f"{self.scope}: granted {granted}"
        if self.unknown:
            text += f"; {','.join(self.unknown)} not checkable"
        return f"{text} ({self.source})"


def normalize_repository(reference: RegistryReference, repository: str | None) -> str | None:
    """`ns/repo` as the registry names it, validated like the docker CLI does."""
    if repository is None or not repository.strip().strip("/"):
        return None
    parsed = parse_registry_reference(f"{reference.resource_id}/{repository.strip().strip('/')}")
    return parsed.repository


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


def granted_without_auth(scopes: tuple[str, ...]) -> tuple[ScopeCheck, ...]:
    """A registry that needs no credentials grants whatever is asked."""
    return tuple(
        ScopeCheck(scope, requested, requested, (), "the registry requires no authentication")
        for scope, (_k, _n, requested) in zip(scopes, scope_actions(scopes), strict=True)
    )


def check_with_token(
    transport: Transport, base_url: str, scope: str, token: BearerToken
) -> ScopeCheck:
    """The token's `access` claim answers; an opaque token falls back to probing."""
    ((kind, name, requested),) = scope_actions([scope])
    granted = token.granted_actions(kind, name)
    if granted is None:
        authorization = f"Bearer {token.value}"
        return probe(transport, base_url, scope, (authorization, "opaque bearer token"))
    if "*" in granted:
        granted = requested
    granted = tuple(a for a in requested if a in granted)
    return ScopeCheck(scope, requested, granted, (), "the token's access claim")


def probe(transport: Transport, base_url: str, scope: str, auth: tuple[str, str]) -> ScopeCheck:
    """Ask `tags/list` of the repository with `auth` = (header value, label for the log)."""
    ((_kind, name, requested),) = scope_actions([scope])
    authorization, label = auth
    response = transport.request(
        Outgoing(
            "GET",
            f"{base_url}/v2/{quote(name, safe='/')}/tags/list?n=1",
            authorization=authorization,
            auth_label=label,
        )
    )
    unknown = tuple(a for a in requested if a != "pull")
    answer = f"GET /v2/{name}/tags/list answered {response.status}"
    if response.status not in (200, 404, 401, 403):
        raise unexpected_answer(transport.reference, response)
    pulled = ("pull",) if response.status in (200, 404) else ()
    source = f"{answer}: repository not pushed yet" if response.status == 404 else answer
    if unknown:
        source += "; push needs a write to test"
    granted = tuple(a for a in requested if a in pulled)
    return ScopeCheck(scope, requested, granted, unknown, source)
