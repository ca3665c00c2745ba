"""`RegistryClient`: the whole check, against an in-process loopback server (`testbed.loopback`).

Request counts are the ones `docker login` needs, as the integration tests measure on a real
registry: Basic 2 registry requests, Bearer 2 + 1 token request; warm checks reuse the
remembered challenge and token.
"""

from __future__ import annotations

from typing import Any

import pytest

from testbed.local_http import Reply, Script, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.client import RegistryClient

CREDENTIALS = Credentials("user", "Client-Secret-1")


def _basic_registry(seen: Seen) -> Reply:
    if seen.headers.get("Authorization") == CREDENTIALS.basic_header():
        return registry_ok()
    return basic_challenge()


def _bearer_registry(loopback: Loopback) -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(200, body=b'{"token": "opaque-token", "expires_in": 300}')
        if seen.headers.get("Authorization") == "Bearer opaque-token":
            return registry_ok()
        return bearer_challenge(f"{loopback.url}/token", "svc")

    return script


def _check(
    loopback: Loopback,
    cache: AuthCache,
    *,
    repository: str | None = None,
    push: bool = False,
    **kwargs: Any,
) -> tuple[Any, RegistryClient]:
    reference = parse_registry_reference(loopback.netloc)
    with RegistryClient(reference, CREDENTIALS, cache=cache, **kwargs) as client:
        outcome = client.check(repository, push)
    return outcome, client


@pytest.mark.parametrize("repository", ["Team/App", "team/app:1", "team/app@sha256:ab", "a//b?"])
def test_bad_repository_fails_before_any_request(loopback: Loopback, repository: str) -> None:
    reference = parse_registry_reference(loopback.netloc)
    with RegistryClient(reference, CREDENTIALS) as client, pytest.raises(ValueError):
        client.check(repository)
    assert client.counter.registry == 0 and loopback.seen == []


def test_basic_cold_then_warm(loopback: Loopback) -> None:
    cache = AuthCache()
    loopback.serve(_basic_registry)
    first_requests: list[Seen] = []
    outcome, client = _check(loopback, cache)
    first_requests.append(loopback.seen[0])
    assert (client.counter.registry, client.counter.token) == (2, 0)
    assert outcome.auth_scheme == "basic" and not outcome.anonymous
    assert outcome.url == f"{loopback.url}/v2/" and outcome.scheme == "http"
    assert outcome.transport == "plain HTTP (loopback registry)"
    assert outcome.challenge == 'Basic realm="fake"' and outcome.realm is None
    # The remembered challenge saves the anonymous ping.
    mark = len(loopback.seen)
    _, warm = _check(loopback, cache)
    first_requests.append(loopback.seen[mark])
    assert (warm.counter.registry, warm.counter.token) == (1, 0)
    assert warm.steps[0] == 'cached challenge: Basic realm="fake"'
    # An explicit check reads nothing from the cache.
    mark = len(loopback.seen)
    _, explicit = _check(loopback, cache, use_cache=False)
    first_requests.append(loopback.seen[mark])
    assert explicit.counter.registry == 2
    assert [s.headers.get("Authorization") for s in first_requests] == [
        None,
        CREDENTIALS.basic_header(),
        None,
    ]
    assert len(loopback.seen) == 2 + 1 + 2


def test_bearer_cold_then_warm(loopback: Loopback) -> None:
    cache = AuthCache()
    loopback.serve(_bearer_registry(loopback))
    outcome, client = _check(loopback, cache)
    assert (client.counter.registry, client.counter.token) == (2, 1)
    assert outcome.auth_scheme == "bearer"
    assert (outcome.realm, outcome.service) == (f"{loopback.url}/token", "svc")
    assert (outcome.token_method, outcome.token_lifetime) == ("POST", 300.0)
    assert outcome.token_remaining == 300.0
    _, warm = _check(loopback, cache)
    assert (warm.counter.registry, warm.counter.token) == (1, 0)
    assert [(s.method, s.path) for s in loopback.seen] == [
        ("GET", "/v2/"),
        ("POST", "/token"),
        ("GET", "/v2/"),
        ("GET", "/v2/"),
    ]


def test_a_registry_without_auth_is_anonymous(loopback: Loopback) -> None:
    loopback.serve(lambda seen: registry_ok())
    outcome, client = _check(loopback, AuthCache(), repository="team/app", push=True)
    assert client.counter.registry == 1
    assert outcome.anonymous and outcome.auth_scheme == "none" and outcome.challenge is None
    assert outcome.scopes[0].granted == ("pull", "push")
    assert outcome.notes == (
        "the registry needs no credentials: the configured ones were not checked",
    )


def test_a_stale_remembered_challenge_starts_over(loopback: Loopback) -> None:
    cache = AuthCache()
    loopback.serve(_basic_registry)
    _check(loopback, cache)
    # The registry was reconfigured for token auth since.
    loopback.serve(_bearer_registry(loopback))
    outcome, client = _check(loopback, cache)
    assert outcome.auth_scheme == "bearer"
    assert "cached challenge is stale: asking the registry again" in client.steps
    # Basic with the cached challenge (401), then the fresh flow: ping, token, check.
    assert (client.counter.registry, client.counter.token) == (3, 1)


def test_wrong_credentials_are_rejected_without_the_username(loopback: Loopback) -> None:
    loopback.serve(_basic_registry)
    reference = parse_registry_reference(loopback.netloc)
    wrong = Credentials("user", "Wrong-Secret-2")
    with (
        RegistryClient(reference, wrong, cache=AuthCache()) as client,
        pytest.raises(CredentialsRejectedError) as caught,
    ):
        client.check()
    assert "rejected the credentials:" in str(caught.value) and "'user'" not in repr(client)
    assert "Wrong-Secret-2" not in str(caught.value) and "Wrong-Secret-2" not in repr(client)
