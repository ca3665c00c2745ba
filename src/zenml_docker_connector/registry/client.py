"""The OCI distribution authentication flow for one registry and one set of credentials.

Ping (`ping`), answer the challenge (`basic` or `bearer`), then check repository access when
asked (`scopes`). Cold, this costs what `docker login` costs: Basic 2 registry requests,
Bearer 2 + 1 token request. A remembered challenge saves the anonymous ping on later checks;
when the registry's answer contradicts it, the flow starts over with a fresh ping.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import NotARegistryError, TokenServiceError
from zenml_docker_connector.references import RegistryReference
from zenml_docker_connector.registry.basic import authenticate_basic
from zenml_docker_connector.registry.bearer import BearerGrant, authenticate_bearer
from zenml_docker_connector.registry.cache import AuthCache, default_cache
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.deadline import Deadline
from zenml_docker_connector.registry.ping import (
    Endpoint,
    StaleChallengeError,
    cached_endpoint,
    discover,
    forget,
    remember,
)
from zenml_docker_connector.registry.scopes import (
    ScopeCheck,
    check_with_token,
    granted_without_auth,
    normalize_repository,
    probe,
    requested_scopes,
)
from zenml_docker_connector.registry.settings import ConnectionSettings
from zenml_docker_connector.registry.transport import RequestCounter, Transport
from zenml_docker_connector.registry.urls import scheme_of, v2_root


@dataclass(frozen=True)
class AuthOutcome:
    """A successful check, with everything a report needs and no secret."""

    base_url: str
    transport: str
    auth_scheme: str
    """`none`, `basic` or `bearer`."""
    anonymous: bool
    scopes: tuple[ScopeCheck, ...]
    notes: tuple[str, ...] = ()
    challenge: str | None = None
    realm: str | None = None
    service: str | None = None
    token_method: str | None = None
    token_lifetime: float | None = None
    token_remaining: float | None = None

    @property
    def url(self) -> str:
        return v2_root(self.base_url)

    @property
    def scheme(self) -> str:
        return scheme_of(self.base_url)


class RegistryClient:
    """Checks one set of credentials against one registry; counts its round trips."""

    def __init__(
        self,
        reference: RegistryReference,
        credentials: Credentials,
        settings: ConnectionSettings | None = None,
        *,
        cache: AuthCache | None = None,
        use_cache: bool = True,
        deadline: Deadline | None = None,
    ) -> None:
        self.counter = RequestCounter()
        self.steps: list[str] = []
        self.transport = Transport(reference, settings, self.counter, self.steps)
        if deadline is not None:
            self.transport.deadline = deadline
        self.context = CheckContext(
            reference=reference,
            credentials=credentials,
            transport=self.transport,
            cache=cache if cache is not None else default_cache(),
            use_cache=use_cache,
        )

    def __repr__(self) -> str:
        context = self.context
        return f"RegistryClient(registry={context.registry!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check(self, repository: str | None = None, push: bool = False) -> AuthOutcome:
        """Authenticate (and check repository access); raise an `errors` exception.

        `repository` is `ns/repo` (Docker Hub: `repo` means `library/repo`); a malformed
        one raises `ValueError` before any request.
        """
        context = self.context
        scopes = requested_scopes(normalize_repository(context.reference, repository), push)
        endpoint = cached_endpoint(context)
        if endpoint is not None and endpoint.challenge is not None:
            self.transport.base_url = endpoint.base_url
            challenge = self.transport.shown(endpoint.challenge.describe(), 400)
            self.steps.append(f"cached challenge: {challenge}")
            try:
                return self._authenticate(endpoint, scopes, from_cache=True)
            except (StaleChallengeError, TokenServiceError, NotARegistryError):
                self.steps.append("cached challenge is stale: asking the registry again")
                forget(context)
        endpoint = discover(context)
        if endpoint.challenge is None:
            return self._anonymous(endpoint.base_url, scopes)
        remember(context, endpoint)
        return self._authenticate(endpoint, scopes, from_cache=False)

    def _authenticate(
        self, endpoint: Endpoint, scopes: tuple[str, ...], *, from_cache: bool
    ) -> AuthOutcome:
        assert endpoint.challenge is not None
        context, base_url = self.context, endpoint.base_url
        if endpoint.challenge.scheme == "basic":
            authorization = authenticate_basic(context, endpoint, from_cache=from_cache)
            checks = tuple(probe(context, base_url, s, (authorization, "Basic")) for s in scopes)
            return self._outcome(endpoint, "basic", checks, None)
        grant = authenticate_bearer(context, endpoint, scopes, from_cache=from_cache)
        checks = tuple(check_with_token(context, base_url, s, grant.token) for s in scopes)
        return self._outcome(endpoint, "bearer", checks, grant)

    def _anonymous(self, base_url: str, scopes: tuple[str, ...]) -> AuthOutcome:
        return AuthOutcome(
            base_url=base_url,
            transport=self._transport_text(base_url),
            auth_scheme="none",
            anonymous=True,
            scopes=granted_without_auth(scopes),
            notes=("the registry needs no credentials: the configured ones were not checked",),
        )

    def _outcome(
        self,
        endpoint: Endpoint,
        auth_scheme: str,
        scopes: tuple[ScopeCheck, ...],
        grant: BearerGrant | None,
    ) -> AuthOutcome:
        assert endpoint.challenge is not None
        anonymous = grant is not None and not self.context.credentials.complete
        notes: list[str] = []
        if anonymous:
            notes.append("no credentials configured: checked anonymous access only")
        if grant is not None and grant.fell_back_to_get:
            notes.append("the token service has no OAuth2 endpoint: used GET")
        token = grant.token if grant is not None else None
        shown = self.transport.shown
        challenge = endpoint.challenge
        return AuthOutcome(
            base_url=endpoint.base_url,
            transport=self._transport_text(endpoint.base_url),
            auth_scheme=auth_scheme,
            anonymous=anonymous,
            scopes=scopes,
            notes=tuple(notes),
            challenge=shown(challenge.describe(), 400),
            realm=shown(challenge.realm or "", 200) if token else None,
            service=shown(challenge.service, 200) if token and challenge.service else None,
            token_method=token.method if token else None,
            token_lifetime=float(token.expires_in) if token else None,
            token_remaining=token.remaining if token else None,
        )

    def _transport_text(self, base_url: str) -> str:
        if scheme_of(base_url) == "http":
            reference = self.context.reference
            why = "named with http://" if reference.scheme_explicit else "loopback registry"
            return f"plain HTTP ({why})"
        return self.transport.describe_transport(base_url)
