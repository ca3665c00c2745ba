"""`verify_registry_access` and `RegistryClient`: the whole check against an in-process
loopback server (`testbed.loopback`), one exchange per question and lifetime, and what it
enforces.

Request counts are the ones `docker login` needs, as the integration tests measure on a real
registry (tests/integration/registry/test_verification.py, with their access logs counting the
requests): Basic 2 registry requests, Bearer 2 + 1 token request; warm client checks reuse the
remembered challenge, and the verdict cache answers repeated questions without a request.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import Reply, Script, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from testbed.unreachable import ResettingListener, SilentListener, closed_port
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    CredentialsRejectedError,
    RegistryError,
    RegistryOutOfReachError,
    RegistryTLSError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry.cache import UNREACHABLE_TTL, VERDICT_TTL, AuthCache
from zenml_docker_connector.registry.policy import Outgoing
from zenml_docker_connector.registry.transport import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.verification import (
    AccessQuestion,
    RegistryClient,
    VerificationReport,
    verify_registry_access,
)

USER = Credentials("alice", "Verify-Secret-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _registry(loopback: Loopback) -> RegistryReference:
    return parse_registry_reference(loopback.netloc)


def _basic(seen: Seen) -> Reply:
    if seen.path.endswith("/tags/list"):
        return Reply(404)
    return (
        registry_ok()
        if seen.headers.get("Authorization") == USER.basic_header()
        else (basic_challenge())
    )


def _bearer(loopback: Loopback) -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(200, body=b'{"token": "opaque", "expires_in": 30}')
        if seen.headers.get("Authorization") == "Bearer opaque":
            return Reply(403) if seen.path.endswith("/tags/list") else registry_ok()
        return bearer_challenge(f"{loopback.url}/token")

    return script


def test_a_verdict_is_reused_within_its_lifetime(loopback: Loopback) -> None:
    clock = Clock()
    cache = AuthCache(clock=clock)
    registry = _registry(loopback)
    loopback.serve(_basic)
    cold = verify_registry_access(registry, USER, cache=cache)
    warm = verify_registry_access(registry, USER, cache=cache)
    assert (cold.registry_requests, cold.token_requests, cold.cached) == (2, 0, False)
    assert (warm.registry_requests, warm.token_requests, warm.cached) == (0, 0, True)
    assert len(loopback.seen) == 2  # the warm answer never reached the server
    clock.now += VERDICT_TTL + 1
    expired = verify_registry_access(registry, USER, cache=cache)
    assert not expired.cached and expired.registry_requests == 1  # the challenge is remembered


def test_an_explicit_check_asks_again_and_refreshes_the_verdict(loopback: Loopback) -> None:
    cache = AuthCache()
    registry = _registry(loopback)
    loopback.serve(_basic)
    verify_registry_access(registry, USER, cache=cache)
    explicit = verify_registry_access(registry, USER, cache=cache, use_cache=False)
    assert not explicit.cached and explicit.registry_requests == 2
    assert verify_registry_access(registry, USER, cache=cache).cached


def test_a_failure_withdraws_the_earlier_success(loopback: Loopback) -> None:
    cache = AuthCache()
    registry = _registry(loopback)
    loopback.serve(_basic)
    verify_registry_access(registry, USER, cache=cache)
    loopback.serve(lambda seen: basic_challenge())  # password changed
    with pytest.raises(CredentialsRejectedError):
        verify_registry_access(registry, USER, cache=cache, use_cache=False)
    with pytest.raises(CredentialsRejectedError):
        verify_registry_access(registry, USER, cache=cache)


def test_the_question_and_the_settings_are_part_of_the_key(loopback: Loopback) -> None:
    cache = AuthCache()
    registry = _registry(loopback)
    loopback.serve(_basic)
    verify_registry_access(registry, USER, cache=cache)
    for question, settings in [
        (AccessQuestion("team/app"), None),
        (AccessQuestion("team/app", push=True), None),
        (None, ConnectionSettings(insecure=True)),
    ]:
        report = verify_registry_access(registry, USER, question, settings, cache=cache)
        assert not report.cached


def test_a_short_lived_token_shortens_the_verdict(loopback: Loopback) -> None:
    clock = Clock()
    cache = AuthCache(clock=clock)
    registry = _registry(loopback)
    loopback.serve(_bearer(loopback))
    verify_registry_access(registry, USER, cache=cache)
    clock.now += 51  # the token lives 60 s (the minimum); the verdict 60 - 10 s
    assert not verify_registry_access(registry, USER, cache=cache).cached


def test_a_denied_scope_is_an_error_naming_action_and_repository(loopback: Loopback) -> None:
    loopback.serve(_bearer(loopback))
    with pytest.raises(AccessDeniedError) as caught:
        verify_registry_access(
            _registry(loopback), USER, AccessQuestion("team/app"), cache=AuthCache()
        )
    message = str(caught.value)
    assert "accepted the credentials, but they may not pull team/app" in message
    assert "alice" not in message
    assert "(granted: nothing; GET /v2/team/app/tags/list answered 403)" in message


def test_push_that_cannot_be_checked_is_no_error(loopback: Loopback) -> None:
    loopback.serve(_basic)
    report = verify_registry_access(
        _registry(loopback), USER, AccessQuestion("team/app", push=True), cache=AuthCache()
    )
    assert {c.scope: c.granted for c in report.scopes} == {
        "repository:team/app:pull,push": ("pull",)
    }
    assert report.scopes[0].unknown == ("push",)


def _report(**changes: object) -> VerificationReport:
    fields: dict[str, object] = dict(
        registry="r.example",
        url="https://r.example/v2/",
        scheme="https",
        tls="TLS, system CAs",
        auth_scheme="bearer",
        realm="https://auth.example/token",
        service=None,
        username="alice",
        anonymous=False,
        scopes=(),
        notes=("a note",),
        registry_requests=2,
        token_requests=1,
        elapsed_seconds=0.01234,
        cached=False,
        token_method="POST",
        token_lifetime=300.0,
    )
    fields.update(changes)
    return VerificationReport(**fields)  # type: ignore[arg-type]


def test_report_lines() -> None:
    assert _report().lines() == [
        "Registry:        r.example",
        "API endpoint:    https://r.example/v2/",
        "Transport:       TLS, system CAs",
        "Authentication:  Bearer token",
        "Token realm:     https://auth.example/token",
        "Token service:   (none)",
        "Token request:   POST, valid 300 s",
        "Result:          Registry r.example: credentials accepted (bearer token, https).",
        "Note:            a note",
        "Round trips:     2 to the registry, 1 to the token service, 0.012 s",
    ]
    cached = _report(cached=True, auth_scheme="basic").lines()
    assert "Authentication:  Basic" in cached
    assert cached[-1] == "Round trips:     none (cached result from an earlier check)"


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"anonymous": True, "auth_scheme": "none"}, "it needs no credentials"),
        ({"anonymous": True, "username": None}, "anonymous access works"),
        ({}, "credentials accepted (bearer token, https)"),
    ],
)
def test_summary(changes: dict[str, object], verdict: str) -> None:
    assert verdict in _report(**changes).summary()


def test_reports_hold_no_secret(loopback: Loopback) -> None:
    loopback.serve(_basic)
    report = verify_registry_access(_registry(loopback), USER, cache=AuthCache())
    assert_no_secret([repr(report), *report.lines()], "Verify-Secret-1", usernames=["alice"])


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
    assert outcome.tls == "plain HTTP (loopback registry)"
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
    # The remembered challenge saves the ping; tokens are not kept.
    _, warm = _check(loopback, cache)
    assert (warm.counter.registry, warm.counter.token) == (1, 1)
    assert [(s.method, s.path) for s in loopback.seen] == [
        ("GET", "/v2/"),
        ("POST", "/token"),
        ("GET", "/v2/"),
        ("POST", "/token"),
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


def test_a_fresh_challenge_is_not_second_guessed(loopback: Loopback) -> None:
    """A 401 with another challenge to the authenticated ping of a fresh check is a rejection."""

    def script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization"):
            return bearer_challenge(f"{loopback.url}/token")
        return basic_challenge()

    loopback.serve(script)
    with pytest.raises(CredentialsRejectedError):
        _check(loopback, AuthCache())
    assert len(loopback.seen) == 2


def test_valid_credentials_without_api_access(loopback: Loopback) -> None:
    loopback.serve(
        lambda seen: Reply(403) if seen.headers.get("Authorization") else basic_challenge()
    )
    with pytest.raises(AccessDeniedError, match="HTTP 403"):
        _check(loopback, AuthCache())


def test_a_token_the_registry_refuses_is_reported(loopback: Loopback) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return Reply(200, body=b'{"token": "opaque-token", "expires_in": 300}')
        return bearer_challenge(f"{loopback.url}/token", "svc")

    loopback.serve(script)
    with pytest.raises(TokenServiceError, match="disagree"):
        _check(loopback, AuthCache())


def test_a_changed_token_realm_makes_the_remembered_challenge_stale(loopback: Loopback) -> None:
    cache = AuthCache()
    loopback.serve(_bearer_registry(loopback))
    _check(loopback, cache)

    def moved(seen: Seen) -> Reply:
        # The old realm still issues tokens, but the registry now trusts another one.
        if seen.path == "/token":
            return Reply(200, body=b'{"token": "old-token", "expires_in": 300}')
        if seen.path == "/elsewhere/token":
            return Reply(200, body=b'{"token": "new-token", "expires_in": 300}')
        if seen.headers.get("Authorization") == "Bearer new-token":
            return registry_ok()
        return bearer_challenge(f"{loopback.url}/elsewhere/token", "svc")

    loopback.serve(moved)
    outcome, client = _check(loopback, cache)
    assert outcome.realm == f"{loopback.url}/elsewhere/token"
    assert "cached challenge is stale: asking the registry again" in client.steps
    # Old token refused (401, another realm), then the fresh flow: ping, token, check.
    assert (client.counter.registry, client.counter.token) == (3, 2)


def test_the_get_fallback_is_remembered_with_the_challenge(loopback: Loopback) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            if seen.method == "POST":
                return Reply(404)
            return Reply(200, body=b'{"token": "opaque-token", "expires_in": 300}')
        if seen.headers.get("Authorization") == "Bearer opaque-token":
            return registry_ok()
        return bearer_challenge(f"{loopback.url}/token", "svc")

    cache = AuthCache()
    loopback.serve(script)
    outcome, client = _check(loopback, cache)
    assert outcome.token_method == "GET" and client.counter.token == 2
    assert "the token service has no OAuth2 endpoint: used GET" in outcome.notes
    mark = len(loopback.seen)
    _, again = _check(loopback, cache)
    assert [s.method for s in loopback.seen[mark:]] == ["GET", "GET"]  # token, then /v2/
    assert (again.counter.registry, again.counter.token) == (1, 1)


def test_remembered_challenges_are_per_registry_and_ignored_by_explicit_checks(
    loopback: Loopback,
) -> None:
    cache = AuthCache()
    loopback.serve(_basic_registry)
    _check(loopback, cache)
    other = parse_registry_reference(f"localhost:{loopback.port}")  # another name: another registry
    with RegistryClient(other, CREDENTIALS, cache=cache) as client:
        client.check()
    assert client.counter.registry == 2
    _, explicit = _check(loopback, cache, use_cache=False)
    assert explicit.counter.registry == 2
    _, warm = _check(loopback, cache)
    assert warm.counter.registry == 1


def test_the_client_and_its_transports_share_one_step_log(loopback: Loopback) -> None:
    loopback.serve(lambda seen: registry_ok())
    reference = parse_registry_reference(loopback.netloc)
    with RegistryClient(reference, Credentials("u", "p")) as client:
        transport = client.transport_at(loopback.url)
        assert client.transport_at(loopback.url) is transport
        assert transport.steps is client.steps and transport.registry == loopback.netloc
        transport.request(Outgoing("GET", f"{loopback.url}/v2/"))
        assert client.steps == [f"GET {loopback.url}/v2/ -> 200"]
    assert "'p'" not in repr(client) and "'p'" not in repr(client.credentials)


# --- registries out of reach: which failures, and remembered briefly -----------------------

FAST = ConnectionSettings(timeouts=Timeouts(connect=0.3, read=0.3), deadline=2)


def test_refused_reset_and_silent_registries_are_out_of_reach(loopback: Loopback) -> None:
    """No connection or no answer in time says nothing about the registry itself."""
    with ResettingListener() as resetting, SilentListener() as silent:
        for netloc in (f"127.0.0.1:{closed_port()}", f"127.0.0.1:{resetting.port}"):
            with pytest.raises(RegistryOutOfReachError, match="Cannot reach"):
                verify_registry_access(parse_registry_reference(netloc), USER, cache=AuthCache())
        with pytest.raises(RegistryOutOfReachError, match="did not answer in time"):
            verify_registry_access(
                parse_registry_reference(f"127.0.0.1:{silent.port}"),
                USER,
                settings=FAST,
                cache=AuthCache(),
            )
    loopback.serve(lambda seen: Reply(hang=True))
    with pytest.raises(RegistryOutOfReachError, match="did not answer in time"):
        verify_registry_access(_registry(loopback), USER, settings=FAST, cache=AuthCache())


@pytest.mark.parametrize(
    ("named", "script", "kind"),
    [
        ("{netloc}", lambda seen: Reply(503), RegistryUnreachableError),  # it answered
        ("{netloc}", lambda seen: Reply(writer=lambda wfile, stop: None), RegistryError),
        ("https://{netloc}", lambda seen: registry_ok(), RegistryTLSError),
        ("{netloc}", lambda seen: basic_challenge(), CredentialsRejectedError),
    ],
    ids=["http-503", "hung-up-without-answer", "tls-failure", "refused-credentials"],
)
def test_answers_and_tls_failures_are_not_out_of_reach(
    loopback: Loopback, named: str, script: Script, kind: type[Exception]
) -> None:
    loopback.serve(script)
    registry = parse_registry_reference(named.format(netloc=loopback.netloc))
    with pytest.raises(kind) as caught:
        verify_registry_access(registry, USER, cache=AuthCache())
    assert not isinstance(caught.value, RegistryOutOfReachError), caught.value


def test_out_of_reach_is_remembered_briefly_for_cached_checks_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A silent registry costs a check its whole deadline: cached checks ask it once a while."""
    clock = Clock()
    cache = AuthCache(clock=clock)
    with ResettingListener() as listener:
        registry = parse_registry_reference(f"127.0.0.1:{listener.port}")
        with pytest.raises(RegistryOutOfReachError) as first:
            verify_registry_access(registry, USER, cache=cache)
        asked = listener.connections
        assert asked >= 1 and not first.value.remembered
        with (
            caplog.at_level(logging.DEBUG, "zenml_docker_connector"),
            pytest.raises(RegistryOutOfReachError) as again,
        ):
            verify_registry_access(registry, USER, cache=cache)
        assert again.value.remembered and str(again.value) == str(first.value)
        assert listener.connections == asked  # not asked again
        assert f"not asking {registry.resource_id} again" in caplog.text
        # Other credentials are another question; an explicit check always asks.
        with pytest.raises(RegistryOutOfReachError):
            verify_registry_access(registry, Credentials("bob", "Other-Secret-2"), cache=cache)
        with pytest.raises(RegistryOutOfReachError) as explicit:
            verify_registry_access(registry, USER, cache=cache, use_cache=False)
        assert not explicit.value.remembered and listener.connections == 3 * asked
        clock.now += UNREACHABLE_TTL + 1
        with pytest.raises(RegistryOutOfReachError) as expired:
            verify_registry_access(registry, USER, cache=cache)
        assert not expired.value.remembered and listener.connections == 4 * asked


def test_refused_credentials_are_never_remembered(loopback: Loopback) -> None:
    cache = AuthCache()
    loopback.serve(lambda seen: basic_challenge())
    for _ in range(2):
        with pytest.raises(CredentialsRejectedError):
            verify_registry_access(_registry(loopback), USER, cache=cache)
    assert len([s for s in loopback.seen if s.path == "/v2/"]) >= 2
