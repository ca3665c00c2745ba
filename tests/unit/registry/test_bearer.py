"""Bearer-token registries: a token (fetched or remembered), then `GET /v2/` with it."""

from __future__ import annotations

import pytest

from testbed.local_http import Reply, Script, Seen, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, TokenServiceError
from zenml_docker_connector.registry.bearer import authenticate_bearer
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.challenges import Challenge
from zenml_docker_connector.registry.ping import Endpoint, StaleChallengeError, cached_endpoint

USER = Credentials("alice", "Bearer-Secret-1")
TOKEN = Reply(200, body=b'{"token": "t1", "expires_in": 300}')


def _realm(loopback: Loopback) -> str:
    return f"{loopback.url}/token"


def _endpoint(loopback: Loopback) -> Endpoint:
    return Endpoint(loopback.url, Challenge("bearer", {"realm": _realm(loopback), "service": "s"}))


def _registry(loopback: Loopback, token_reply: Reply, accepted: str = "Bearer t1") -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return token_reply
        if seen.headers.get("Authorization") == accepted:
            return registry_ok()
        return bearer_challenge(_realm(loopback), "s")

    return script


def test_cold_costs_one_token_request_and_one_registry_request(loopback: Loopback) -> None:
    context = loopback.context(_registry(loopback, TOKEN), USER)
    grant = authenticate_bearer(context, _endpoint(loopback), (), from_cache=False)
    assert grant.token.value == "t1" and not grant.from_cache and not grant.fell_back_to_get
    counter = context.transport.counter
    assert (counter.registry, counter.token) == (1, 1)
    assert [(s.method, s.path) for s in loopback.seen] == [("POST", "/token"), ("GET", "/v2/")]


def test_a_remembered_token_is_reused_per_scope_and_credentials(loopback: Loopback) -> None:
    cache = AuthCache()
    endpoint, script = _endpoint(loopback), _registry(loopback, TOKEN)
    first = loopback.context(script, USER, cache=cache)
    authenticate_bearer(first, endpoint, (), from_cache=False)
    again = loopback.context(script, USER, cache=cache)
    grant = authenticate_bearer(again, endpoint, (), from_cache=False)
    assert grant.from_cache and again.transport.counter.token == 0
    scoped = loopback.context(script, USER, cache=cache)
    authenticate_bearer(scoped, endpoint, ("repository:a/b:pull",), from_cache=False)
    other_user = loopback.context(script, Credentials("bob", "x"), cache=cache)
    authenticate_bearer(other_user, endpoint, (), from_cache=False)
    explicit = loopback.context(script, USER, cache=cache, use_cache=False)
    authenticate_bearer(explicit, endpoint, (), from_cache=False)
    assert [c.transport.counter.token for c in (scoped, other_user, explicit)] == [1, 1, 1]


def test_a_token_the_registry_refuses_is_dropped_and_reported(loopback: Loopback) -> None:
    cache = AuthCache()
    context = loopback.context(_registry(loopback, TOKEN, accepted="never"), USER, cache=cache)
    with pytest.raises(TokenServiceError, match="disagree"):
        authenticate_bearer(context, _endpoint(loopback), (), from_cache=False)
    assert len(cache.tokens) == 0


def test_a_changed_challenge_makes_a_remembered_one_stale(loopback: Loopback) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return TOKEN
        return bearer_challenge(f"{loopback.url}/elsewhere/token", "s")

    context = loopback.context(script, USER)
    with pytest.raises(StaleChallengeError):
        authenticate_bearer(context, _endpoint(loopback), (), from_cache=True)


def test_the_get_fallback_is_remembered_with_the_challenge(loopback: Loopback) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(404) if seen.method == "POST" else TOKEN
        return registry_ok() if seen.headers.get("Authorization") == "Bearer t1" else Reply(401)

    context = loopback.context(script, USER)
    grant = authenticate_bearer(context, _endpoint(loopback), (), from_cache=False)
    assert grant.fell_back_to_get and grant.token.method == "GET"
    remembered = cached_endpoint(context)
    assert remembered is not None and remembered.prefer_get


def test_incomplete_credentials_ask_for_an_anonymous_token(loopback: Loopback) -> None:
    context = loopback.context(_registry(loopback, TOKEN), Credentials("alice", None))
    grant = authenticate_bearer(context, _endpoint(loopback), (), from_cache=False)
    (token_request, _) = loopback.seen
    assert token_request.method == "GET" and "Authorization" not in token_request.headers
    assert not grant.fell_back_to_get


def test_rejected_credentials_also_drop_an_earlier_token(loopback: Loopback) -> None:
    cache = AuthCache()
    ok = loopback.context(_registry(loopback, TOKEN), USER, cache=cache, use_cache=False)
    authenticate_bearer(ok, _endpoint(loopback), (), from_cache=False)
    assert len(cache.tokens) == 1
    refused = loopback.context(_registry(loopback, Reply(401)), USER, cache=cache, use_cache=False)
    with pytest.raises(CredentialsRejectedError):
        authenticate_bearer(refused, _endpoint(loopback), (), from_cache=False)
    assert len(cache.tokens) == 0
