"""`verify_registry_access`: one exchange per question and lifetime, and what it enforces.

Against an in-process loopback server (`testbed.loopback`); the same behaviour against real
registries (with their access logs counting the requests) is in
tests/integration/registry/test_verification.py.
"""

from __future__ import annotations

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import Reply, Script, Seen, basic_challenge, bearer_challenge, registry_ok
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import AccessDeniedError, CredentialsRejectedError
from zenml_docker_connector.references import RegistryReference, parse_registry_reference
from zenml_docker_connector.registry.cache import VERDICT_TTL, AuthCache
from zenml_docker_connector.registry.settings import ConnectionSettings
from zenml_docker_connector.registry.verification import (
    AccessQuestion,
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
    assert report.granted == {"repository:team/app:pull,push": ("pull",)}
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
