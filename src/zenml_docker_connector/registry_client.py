"""The OCI distribution authentication flow: ping, answer the challenge, check access.

`GET /v2/` without credentials tells what the registry wants: 200 means no credentials at
all, 401 carries `WWW-Authenticate` challenges (Basic or Bearer), anything else means the
server does not speak the registry API. Basic registries get the same request with
credentials; Bearer registries get a token from their token service first. With a
repository, the check is scoped: the token is asked for `repository:ns/repo:pull[,push]` and
its `access` claim says what was granted; where the token is opaque, or the registry uses
Basic, `GET /v2/<repo>/tags/list` answers the pull question (200, or 404 NAME_UNKNOWN for a
repository not pushed yet = allowed; 401/403 = denied). Push cannot be tested without
writing to the registry, so it is reported as unknown there.

Cold, this costs what `docker login` costs: Basic 2 registry requests, Bearer 2 + 1 token
request. A cached challenge (see `auth_cache`) saves the anonymous ping on later checks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit

from zenml_docker_connector.auth_cache import CHALLENGE_TTL, AuthCache, default_cache, token_ttl
from zenml_docker_connector.challenges import Challenge, parse_each, select_challenge
from zenml_docker_connector.errors import (
    AccessDeniedError,
    CredentialsRejectedError,
    NotARegistryError,
    RegistryError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.tokens import (
    IDENTITY_TOKEN_USERNAME,
    BearerToken,
    TokenRequest,
    basic_authorization,
    check_realm,
    request_token,
    requested_scopes,
    scope_actions,
)
from zenml_docker_connector.transport import (
    HttpResponse,
    RequestCounter,
    Timeouts,
    Transport,
)

logger = logging.getLogger(__name__)

HTTPS_EXPECTED = b"Client sent an HTTP request to an HTTPS server"
"""Go's net/http answer (HTTP 400) when plain HTTP reaches a TLS port."""


@dataclass(frozen=True)
class CachedChallenge:
    """What a registry asked for, at which base URL; `prefer_get` once POST proved useless."""

    base_url: str
    challenge: Challenge
    prefer_get: bool = False


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


@dataclass(frozen=True)
class AuthOutcome:
    """A successful check, with everything a report needs and no secret."""

    base_url: str
    scheme: str
    transport: str
    auth_scheme: str
    """`none`, `basic` or `bearer`."""
    realm: str | None
    service: str | None
    anonymous: bool
    challenge: str | None
    token_method: str | None
    token_lifetime: float | None
    token_remaining: float | None
    scopes: tuple[ScopeCheck, ...]
    notes: tuple[str, ...]
    used_cached_challenge: bool
    used_cached_token: bool

    @property
    def url(self) -> str:
        return f"{self.base_url}/v2/"


class _StaleChallengeError(Exception):
    """The cached challenge no longer matches the registry; start over with a ping."""


class RegistryClient:
    """Checks one set of credentials against one registry; counts its round trips."""

    def __init__(
        self,
        reference: RegistryReference,
        username: str | None,
        password: str | None,
        *,
        insecure: bool = False,
        identity_token: bool = False,
        timeouts: Timeouts | None = None,
        cache: AuthCache | None = None,
        use_cache: bool = True,
        cert_dirs: Sequence[Path] | None = None,
    ) -> None:
        self.reference = reference
        self.registry = reference.resource_id
        self.username = username or None
        self._password = password
        self.identity_token = identity_token or username == IDENTITY_TOKEN_USERNAME
        self.insecure = insecure
        self.cache = cache if cache is not None else default_cache()
        self.use_cache = use_cache
        self.counter = RequestCounter()
        self.steps: list[str] = []
        self.transport = Transport(
            reference,
            insecure=insecure,
            timeouts=timeouts,
            counter=self.counter,
            steps=self.steps,
            cert_dirs=cert_dirs,
        )
        self._challenge_key = self.cache.fingerprint(
            "challenge", reference.api_url, reference.scheme_explicit, insecure
        )

    def __repr__(self) -> str:
        return f"RegistryClient(registry={self.registry!r}, username={self.username!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- entry point ---------------------------------------------------------------------

    def check(self, repository: str | None = None, push: bool = False) -> AuthOutcome:
        """Authenticate (and check repository access); raise an `errors` exception.

        `repository` is `ns/repo` (Docker Hub: `repo` means `library/repo`); a malformed
        one raises `ValueError` before any request.
        """
        scopes = requested_scopes(normalize_repository(self.reference, repository), push)
        cached = self._cached_challenge()
        if cached is not None:
            self.steps.append(f"cached challenge: {cached.challenge.describe()}")
            try:
                return self._authenticate(cached, scopes, from_cache=True)
            except (_StaleChallengeError, TokenServiceError, NotARegistryError):
                self.steps.append("cached challenge is stale: asking the registry again")
                self.cache.challenges.discard(self._challenge_key)
        return self._fresh(scopes)

    # -- ping ----------------------------------------------------------------------------

    def _cached_challenge(self) -> CachedChallenge | None:
        if not self.use_cache:
            return None
        found = self.cache.challenges.get(self._challenge_key)
        return found if isinstance(found, CachedChallenge) else None

    def _remember(self, cached: CachedChallenge) -> None:
        self.cache.challenges.put(self._challenge_key, cached, CHALLENGE_TTL)

    def _ping(self, base_url: str) -> HttpResponse:
        return self.transport.request("GET", f"{base_url}/v2/", role="registry")

    def _fresh(self, scopes: tuple[str, ...]) -> AuthOutcome:
        base_url = self.reference.api_url
        response = self._ping(base_url)
        if (
            response.status == 400
            and HTTPS_EXPECTED in response.body
            and self.reference.scheme == "http"
            and not self.reference.scheme_explicit
        ):
            # A loopback registry named without scheme: Docker tries both; so do we.
            base_url = f"https://{self.reference.netloc}"
            self.steps.append("the port speaks HTTPS: retrying over https")
            response = self._ping(base_url)
        base_url = self._effective_base(base_url, response)
        if response.status == 200:
            self._require_registry_body(response)
            return self._anonymous(base_url, scopes)
        if response.status == 401:
            challenge = self._challenge_from(response)
            cached = CachedChallenge(base_url, challenge)
            self._remember(cached)
            return self._authenticate(cached, scopes, from_cache=False)
        raise self._unexpected_ping(response)

    def _effective_base(self, base_url: str, response: HttpResponse) -> str:
        """Follow a same-host move of `/v2/` (e.g. http -> https) for later requests."""
        final = urlsplit(response.url)
        start = urlsplit(base_url)
        if final.path == "/v2/" and final.hostname == start.hostname:
            return f"{final.scheme}://{final.netloc}"
        return base_url

    def _challenge_from(self, response: HttpResponse) -> Challenge:
        challenges, problems = parse_each(response.www_authenticate)
        chosen = select_challenge(challenges)
        if chosen is not None:
            if chosen.scheme == "bearer" and not chosen.realm:
                raise NotARegistryError(
                    self.registry,
                    f"Registry {self.registry} asks for a bearer token but names no token "
                    "realm in its WWW-Authenticate challenge; no client can log in to it. "
                    "Check the registry's auth configuration.",
                )
            return chosen
        url = f"{urlsplit(response.url).scheme}://{urlsplit(response.url).netloc}/v2/"
        if challenges:
            schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
            raise NotARegistryError(
                self.registry,
                f"{url} asks for authentication scheme(s) {schemes}; Docker registries use "
                "Basic or Bearer, so this is not a registry endpoint the connector can log in "
                "to. Check the host and port.",
            )
        why = f" ({problems[0]})" if problems else " (no WWW-Authenticate header)"
        raise NotARegistryError(
            self.registry,
            f"{url} answered 401 without a usable authentication challenge{why}; it does not "
            "behave like an OCI distribution (Docker registry v2) API. Check the host and port.",
        )

    def _require_registry_body(self, response: HttpResponse) -> None:
        version = response.headers.get("Docker-Distribution-API-Version", "")
        if version.lower().startswith("registry/2"):
            return
        body = response.body.strip()
        if body in (b"", b"{}"):
            return
        try:
            if isinstance(json.loads(body), dict):
                return
        except ValueError:
            pass
        raise NotARegistryError(
            self.registry,
            f"{response.url} answered 200 with something that is not a registry API answer "
            f"({_content_kind(response)}); it does not speak the OCI distribution (Docker "
            "registry v2) API. Check the host, port and scheme.",
        )

    def _unexpected_ping(self, response: HttpResponse) -> RegistryError:
        url = f"{urlsplit(response.url).scheme}://{urlsplit(response.url).netloc}/v2/"
        if response.status == 400 and HTTPS_EXPECTED in response.body:
            return NotARegistryError(
                self.registry,
                f"{url} is an HTTPS port but registry {self.registry} was named with http://: "
                f"name it https://{self.reference.netloc}.",
            )
        if response.status == 429:
            return RegistryError(
                self.registry,
                f"Registry {self.registry} is rate-limiting requests (HTTP 429); try again later.",
            )
        if response.status >= 500:
            return RegistryUnreachableError(
                self.registry,
                f"Registry {self.registry} answered HTTP {response.status} at {url}: it (or a "
                "proxy in front of it) is failing. Is the registry running? Try again later.",
            )
        return NotARegistryError(
            self.registry,
            f"{url} answered HTTP {response.status} ({_content_kind(response)}) where a "
            "registry answers 200 or 401: it does not speak the OCI distribution (Docker "
            "registry v2) API. Check the host and port (registries served under a path "
            "prefix are not supported, by Docker either).",
        )

    # -- answering the challenge ---------------------------------------------------------

    def _authenticate(
        self, cached: CachedChallenge, scopes: tuple[str, ...], *, from_cache: bool
    ) -> AuthOutcome:
        if cached.challenge.scheme == "basic":
            return self._basic(cached, scopes, from_cache=from_cache)
        return self._bearer(cached, scopes, from_cache=from_cache)

    def _who(self) -> str:
        return "identity token" if self.identity_token else f"credentials of user '{self.username}'"

    def _require_credentials(self) -> tuple[str, str]:
        if not self.username or self._password is None:
            raise CredentialsRejectedError(
                self.registry,
                f"Registry {self.registry} requires credentials, but none are configured: "
                "set a username and a password or access token.",
            )
        return self.username, self._password

    def _basic(
        self, cached: CachedChallenge, scopes: tuple[str, ...], *, from_cache: bool
    ) -> AuthOutcome:
        username, password = self._require_credentials()
        if self.identity_token:
            raise CredentialsRejectedError(
                self.registry,
                f"Registry {self.registry} uses Basic authentication, which takes a password, "
                "not an identity token: configure the username and password instead.",
            )
        authorization = basic_authorization(username, password)
        response = self.transport.request(
            "GET",
            f"{cached.base_url}/v2/",
            role="registry",
            authorization=authorization,
            auth_label="Basic",
        )
        if response.status == 401:
            newer = select_challenge(parse_each(response.www_authenticate)[0])
            if from_cache and newer is not None and newer.scheme != "basic":
                raise _StaleChallengeError()
            raise CredentialsRejectedError(
                self.registry,
                f"Registry {self.registry} rejected the {self._who()}"
                f"{_dropped_note(response)}: check the password or access token (it may have "
                "expired or been revoked) and that the username is right.",
            )
        self._require_ok(response, "the Basic credentials")
        checks = tuple(
            self._probe_scope(cached.base_url, scope, authorization, "Basic") for scope in scopes
        )
        return self._outcome(cached, from_cache=from_cache, scopes=checks, auth_scheme="basic")

    def _bearer(
        self, cached: CachedChallenge, scopes: tuple[str, ...], *, from_cache: bool
    ) -> AuthOutcome:
        challenge = cached.challenge
        realm = check_realm(self.transport, challenge, cached.base_url)
        has_credentials = bool(self.username) and self._password is not None
        request = TokenRequest(
            realm=realm,
            service=challenge.service,
            scopes=scopes,
            username=self.username if has_credentials else None,
            password=self._password if has_credentials else None,
            identity_token=self.identity_token,
        )
        token_key = self.cache.fingerprint(
            "token",
            realm,
            challenge.service,
            scopes,
            request.username,
            request.password,
            self.identity_token,
            self.insecure,
        )
        token = self._cached_token(token_key)
        used_cached_token = token is not None
        if token is None:
            try:
                token = request_token(self.transport, request, prefer_get=cached.prefer_get)
            except CredentialsRejectedError:
                # Rejected now: a token cached from an earlier success must not vouch for them.
                self.cache.tokens.discard(token_key)
                raise
            if token.method == "GET" and has_credentials and not cached.prefer_get:
                cached = replace(cached, prefer_get=True)
                self._remember(cached)
            self.cache.tokens.put(token_key, token, token_ttl(token.remaining))
        authorization = f"Bearer {token.value}"
        response = self.transport.request(
            "GET",
            f"{cached.base_url}/v2/",
            role="registry",
            authorization=authorization,
            auth_label="bearer token",
        )
        if response.status == 401:
            self.cache.tokens.discard(token_key)
            newer = select_challenge(parse_each(response.www_authenticate)[0])
            if (
                from_cache
                and newer is not None
                and (
                    newer.scheme != "bearer"
                    or newer.realm != challenge.realm
                    or newer.service != challenge.service
                )
            ):
                raise _StaleChallengeError()
            raise TokenServiceError(
                self.registry,
                f"Registry {self.registry} rejected the token its token service "
                f"{_short_url(realm)} issued{_dropped_note(response)}: the registry and its "
                "token service disagree (service name, issuer or signing certificate). Check "
                "the registry's token auth settings.",
            )
        self._require_ok(response, "the bearer token")
        checks = tuple(
            self._token_scope(cached.base_url, scope, token, authorization) for scope in scopes
        )
        return self._outcome(
            cached,
            from_cache=from_cache,
            scopes=checks,
            auth_scheme="bearer",
            token=token,
            used_cached_token=used_cached_token,
            anonymous=not has_credentials,
        )

    def _cached_token(self, key: str) -> BearerToken | None:
        if not self.use_cache:
            return None
        found = self.cache.tokens.get(key)
        return found if isinstance(found, BearerToken) else None

    def _require_ok(self, response: HttpResponse, what: str) -> None:
        if response.status == 200:
            return
        if response.status == 403:
            raise AccessDeniedError(
                self.registry,
                f"Registry {self.registry} accepted {what} of the {self._who()} but refuses "
                "access to its API (HTTP 403). Ask the registry's administrators for access.",
            )
        raise self._unexpected_ping(response)

    # -- scopes ----------------------------------------------------------------------------

    def _token_scope(
        self, base_url: str, scope: str, token: BearerToken, authorization: str
    ) -> ScopeCheck:
        ((kind, name, requested),) = scope_actions([scope])
        granted = token.granted_actions(kind, name)
        if granted is None:
            return self._probe_scope(base_url, scope, authorization, "opaque bearer token")
        if "*" in granted:
            granted = requested
        return ScopeCheck(
            scope=scope,
            requested=requested,
            granted=tuple(a for a in requested if a in granted),
            unknown=(),
            source="the token's access claim",
        )

    def _probe_scope(self, base_url: str, scope: str, authorization: str, label: str) -> ScopeCheck:
        ((_kind, name, requested),) = scope_actions([scope])
        response = self.transport.request(
            "GET",
            f"{base_url}/v2/{quote(name, safe='/')}/tags/list?n=1",
            role="registry",
            authorization=authorization,
            auth_label=label,
        )
        unknown = tuple(a for a in requested if a != "pull")
        if response.status == 200:
            source = f"GET /v2/{name}/tags/list answered 200"
            pulled: tuple[str, ...] = ("pull",)
        elif response.status == 404:
            source = f"GET /v2/{name}/tags/list answered 404: repository not pushed yet"
            pulled = ("pull",)
        elif response.status in (401, 403):
            source = f"GET /v2/{name}/tags/list answered {response.status}"
            pulled = ()
        else:
            raise self._unexpected_ping(response)
        if unknown:
            source += "; push needs a write to test"
        return ScopeCheck(
            scope=scope,
            requested=requested,
            granted=tuple(a for a in requested if a in pulled),
            unknown=unknown,
            source=source,
        )

    # -- results ---------------------------------------------------------------------------

    def _anonymous(self, base_url: str, scopes: tuple[str, ...]) -> AuthOutcome:
        checks = tuple(
            ScopeCheck(
                scope=scope,
                requested=requested,
                granted=requested,
                unknown=(),
                source="the registry requires no authentication",
            )
            for scope, (_k, _n, requested) in zip(scopes, scope_actions(scopes), strict=True)
        )
        notes = ["the registry needs no credentials: the configured ones were not checked"]
        return AuthOutcome(
            base_url=base_url,
            scheme=urlsplit(base_url).scheme,
            transport=self._transport_text(base_url),
            auth_scheme="none",
            realm=None,
            service=None,
            anonymous=True,
            challenge=None,
            token_method=None,
            token_lifetime=None,
            token_remaining=None,
            scopes=checks,
            notes=tuple(notes),
            used_cached_challenge=False,
            used_cached_token=False,
        )

    def _outcome(
        self,
        cached: CachedChallenge,
        *,
        from_cache: bool,
        scopes: tuple[ScopeCheck, ...],
        auth_scheme: str,
        token: BearerToken | None = None,
        used_cached_token: bool = False,
        anonymous: bool = False,
    ) -> AuthOutcome:
        notes: list[str] = []
        if anonymous:
            notes.append("no credentials configured: checked anonymous access only")
        if token is not None and token.method == "GET" and not cached.prefer_get:
            notes.append("the token service has no OAuth2 endpoint: used GET")
        challenge = cached.challenge
        return AuthOutcome(
            base_url=cached.base_url,
            scheme=urlsplit(cached.base_url).scheme,
            transport=self._transport_text(cached.base_url),
            auth_scheme=auth_scheme,
            realm=challenge.realm if auth_scheme == "bearer" else None,
            service=challenge.service if auth_scheme == "bearer" else None,
            anonymous=anonymous,
            challenge=challenge.describe(),
            token_method=token.method if token else None,
            token_lifetime=float(token.expires_in) if token else None,
            token_remaining=token.remaining if token else None,
            scopes=scopes,
            notes=tuple(notes),
            used_cached_challenge=from_cache,
            used_cached_token=used_cached_token,
        )

    def _transport_text(self, base_url: str) -> str:
        if urlsplit(base_url).scheme == "http":
            why = "named with http://" if self.reference.scheme_explicit else "loopback registry"
            return f"plain HTTP ({why})"
        return self.transport.describe_transport(base_url)


def normalize_repository(reference: RegistryReference, repository: str | None) -> str | None:
    """`ns/repo` as the registry names it, validated like the docker CLI does."""
    if repository is None or not repository.strip().strip("/"):
        return None
    parsed = parse_registry_reference(f"{reference.resource_id}/{repository.strip().strip('/')}")
    return parsed.repository


def _content_kind(response: HttpResponse) -> str:
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type:
        return content_type
    return "empty body" if not response.body else "unknown content"


def _short_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _dropped_note(response: HttpResponse) -> str:
    if response.credentials_dropped:
        return (
            " (after a redirect to another host, to which credentials are never forwarded: "
            f"{_short_url(response.url)})"
        )
    return ""
