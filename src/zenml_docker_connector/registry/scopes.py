"""Repository access: which scopes to ask for, and whether they were granted.

A scope is `type[(class)]:name:action[,action]` (`repository:ns/app:pull,push`); the name
may hold `host:port`, so it is split on the last colon. With a JWT bearer token the `access`
claim answers; otherwise (Basic registries, opaque tokens) `GET /v2/<repo>/tags/list` answers
the pull question (200, or 404 for a repository not pushed yet = allowed; 401/403 = denied).
Push cannot be tested without writing, so it is reported as "not checkable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry.context import CheckContext
from zenml_docker_connector.registry.outgoing import Outgoing
from zenml_docker_connector.registry.ping import unexpected_answer
from zenml_docker_connector.registry.tokens import BearerToken


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
        ScopeCheck(
            scope=scope,
            requested=requested,
            granted=requested,
            unknown=(),
            source="the registry requires no authentication",
        )
        for scope, (_k, _n, requested) in zip(scopes, scope_actions(scopes), strict=True)
    )


def check_with_token(
    context: CheckContext, base_url: str, scope: str, token: BearerToken
) -> ScopeCheck:
    """The token's `access` claim answers; an opaque token falls back to probing."""
    ((kind, name, requested),) = scope_actions([scope])
    granted = token.granted_actions(kind, name)
    if granted is None:
        authorization = f"Bearer {token.value}"
        return probe(context, base_url, scope, (authorization, "opaque bearer token"))
    if "*" in granted:
        granted = requested
    return ScopeCheck(
        scope=scope,
        requested=requested,
        granted=tuple(a for a in requested if a in granted),
        unknown=(),
        source="the token's access claim",
    )


def probe(context: CheckContext, base_url: str, scope: str, auth: tuple[str, str]) -> ScopeCheck:
    """Ask `tags/list` of the repository with `auth` = (header value, label for the log)."""
    ((_kind, name, requested),) = scope_actions([scope])
    authorization, label = auth
    response = context.transport.request(
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
        raise unexpected_answer(context.reference, response)
    if unknown:
        source += "; push needs a write to test"
    return ScopeCheck(
        scope=scope,
        requested=requested,
        granted=tuple(a for a in requested if a in pulled),
        unknown=unknown,
        source=source,
    )
