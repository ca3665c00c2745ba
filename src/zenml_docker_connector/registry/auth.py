"""Answering a registry's challenge, Basic or Bearer, and what the answer grants.

The authenticated `GET /v2/` that proves the answer is the flow's (`verification`): it alone
decides what a refusal means for a remembered challenge. A scope is
`type[(class)]:name:action[,action]`; the name may hold `host:port`, so it is split on the last
colon. A JWT's `access` claim answers for its scopes; otherwise `GET /v2/<repo>/tags/list`
answers pull (200, or 404 = not pushed yet; 401/403 = denied). Push cannot be tested without
writing: "not checkable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, RegistryError, TokenServiceError
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry import tokens
from zenml_docker_connector.registry.challenge import Endpoint, unexpected_answer
from zenml_docker_connector.registry.policy import Outgoing
from zenml_docker_connector.registry.tokens import BearerToken, TokenRequest
from zenml_docker_connector.registry.transport import Transport


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
    realm = tokens.check_realm(transport, challenge)
    if not credentials.complete:
        credentials = Credentials(None, None, identity_token=credentials.identity_token)
    request = TokenRequest(realm, challenge.service, scopes, credentials)
    token = tokens.request_token(transport, request, prefer_get=endpoint.prefer_get)
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
    pulled: tuple[str, ...]
    if response.status == 200:
        source, pulled = answer, ("pull",)
    elif response.status == 404:
        source, pulled = f"{answer}: repository not pushed yet", ("pull",)
    elif response.status in (401, 403):
        source, pulled = answer, ()
    else:
        raise unexpected_answer(transport.reference, response)
    if unknown:
        source += "; push needs a write to test"
    granted = tuple(a for a in requested if a in pulled)
    return ScopeCheck(scope, requested, granted, unknown, source)
