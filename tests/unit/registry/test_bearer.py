"""Bearer-token registries: a token (fetched or remembered), then `GET /v2/` with it."""

from __future__ import annotations

import pytest

from testbed.local_http import Reply, Script, Seen, bearer_challenge, registry_ok
from testbed.scripted_http import scripted_context
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, TokenServiceError
from zenml_docker_connector.registry.bearer import authenticate_bearer
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.ping import Endpoint, StaleChallengeError, cached_endpoint

REGISTRY = "127.0.0.1:5000"
REALM = f"http://{REGISTRY}/token"
USER = Credentials("alice", "Bearer-Secret-1")
ENDPOINT = Endpoint(f"http://{REGISTRY}", Challenge("bearer", {"realm": REALM, "service": "s"}))


def _registry(token_reply: Reply, accepted: str = "Bearer t1") -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return token_reply
        if seen.headers.get("Authorization") == accepted:
            return registry_ok()
        return bearer_challenge(REALM, "s")

    return script


TOKEN = Reply(200, body=b'{"token": "t1", "expires_in": 300}')


def test_cold_costs_one_token_request_and_one_registry_request() -> None:
    context = scripted_context(REGISTRY, _registry(TOKEN), USER)
    grant = authenticate_bearer(context, ENDPOINT, (), from_cache=False)
    assert grant.token.value == "t1" and not grant.from_cache and not grant.fell_back_to_get
    counter = context.transport.counter
    assert (counter.registry, counter.token) == (1, 1)


def test_a_remembered_token_is_reused_per_scope_and_credentials() -> None:
    cache = AuthCache()
    first = scripted_context(REGISTRY, _registry(TOKEN), USER, cache=cache)
    authenticate_bearer(first, ENDPOINT, (), from_cache=False)
    again = scripted_context(REGISTRY, _registry(TOKEN), USER, cache=cache)
    grant = authenticate_bearer(again, ENDPOINT, (), from_cache=False)
    assert grant.from_cache and again.transport.counter.token == 0
    scoped = scripted_context(REGISTRY, _registry(TOKEN), USER, cache=cache)
    authenticate_bearer(scoped, ENDPOINT, ("repository:a/b:pull",), from_cache=False)
    other_user = scripted_context(
        REGISTRY,
        _registry(TOKEN),
        Credentials("bob", "x"),
        cache=cache,
    )
    authenticate_bearer(other_user, ENDPOINT, (), from_cache=False)
    explicit = scripted_context(REGISTRY, _registry(TOKEN), USER, cache=cache, use_cache=False)
    authenticate_bearer(explicit, ENDPOINT, (), from_cache=False)
    assert [c.transport.counter.token for c in (scoped, other_user, explicit)] == [1, 1, 1]


def test_a_token_the_registry_refuses_is_dropped_and_reported() -> None:
    cache = AuthCache()
    context = scripted_context(REGISTRY, _registry(TOKEN, accepted="never"), USER, cache=cache)
    with pytest.raises(TokenServiceError, match="disagree"):
        authenticate_bearer(context, ENDPOINT, (), from_cache=False)
    assert len(cache.tokens) == 0


def test_a_changed_challenge_makes_a_remembered_one_stale() -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return TOKEN
        return bearer_challenge("http://elsewhere.example/token", "s")

    context = scripted_context(REGISTRY, script, USER)
    with pytest.raises(StaleChallengeError):
        authenticate_bearer(context, ENDPOINT, (), from_cache=True)


def test_the_get_fallback_is_remembered_with_the_challenge() -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(404) if seen.method == "POST" else TOKEN
        return registry_ok() if seen.headers.get("Authorization") == "Bearer t1" else Reply(401)

    context = scripted_context(REGISTRY, script, USER)
    grant = authenticate_bearer(context, ENDPOINT, (), from_cache=False)
    assert grant.fell_back_to_get and grant.token.method == "GET"
    remembered = cached_endpoint(context)
    assert remembered is not None and remembered.prefer_get


def test_incomplete_credentials_ask_for_an_anonymous_token() -> None:
    context = scripted_context(REGISTRY, _registry(TOKEN), Credentials("alice", None))
    grant = authenticate_bearer(context, ENDPOINT, (), from_cache=False)
    (token_request, _) = context.transport.seen  # type: ignore[attr-defined]
    assert token_request.method == "GET" and "Authorization" not in token_request.headers
    assert not grant.fell_back_to_get


def test_rejected_credentials_also_drop_an_earlier_token() -> None:
    cache = AuthCache()
    ok = scripted_context(REGISTRY, _registry(TOKEN), USER, cache=cache, use_cache=False)
    authenticate_bearer(ok, ENDPOINT, (), from_cache=False)
    assert len(cache.tokens) == 1
    refused = scripted_context(REGISTRY, _registry(Reply(401)), USER, cache=cache, use_cache=False)
    with pytest.raises(CredentialsRejectedError):
        authenticate_bearer(refused, ENDPOINT, (), from_cache=False)
    assert len(cache.tokens) == 0
