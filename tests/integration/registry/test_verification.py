"""Verification against the real test bed: verdicts, messages, request counts, caching.

Counts come from the registry's access log (`requests_since`) and the token server's own
log; the figures to beat are what `docker login` / `skopeo login` need on distribution 2.8:
Basic 2 registry requests, token auth 2 + 1 token request.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.local_http import LocalServer, Reply, Seen, bearer_challenge, registry_ok
from testbed.net import loopback_session
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    AccessDeniedError,
    CredentialsRejectedError,
    NotARegistryError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import VERDICT_TTL, AuthCache, default_cache
from zenml_docker_connector.registry.verification import (
    AccessQuestion,
    RegistryClient,
    VerificationReport,
    verify_registry_access,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache() -> AuthCache:
    return AuthCache()


def _user() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"user{suffix}", f"Pw-{uuid.uuid4().hex}"


def _verify(
    registry: Any,
    username: str | None = None,
    password: str | None = None,
    *,
    repository: str | None = None,
    push: bool = False,
    identity_token: bool = False,
    **kw: Any,
) -> VerificationReport:
    credentials = Credentials(
        registry.username if username is None else username,
        registry.password if password is None else password,
        identity_token=identity_token,
    )
    return verify_registry_access(
        parse_registry_reference(registry.host),
        credentials,
        AccessQuestion(repository, push),
        **kw,
    )


def _check_only(
    host: str, credentials: Credentials, repository: str, *, push: bool = False, **kw: Any
) -> VerificationReport:
    """The client's answer before verification enforces it (denied scopes are reported)."""
    with RegistryClient(parse_registry_reference(host), credentials, **kw) as client:
        return client.check(repository, push)


def _counts(registry: Any, mark: int, token_mark: int | None = None) -> tuple[int, int]:
    registry_count = len(registry.requests_since(mark))
    token_count = (
        len(registry.token_server.requests_since(token_mark)) if token_mark is not None else 0
    )
    return registry_count, token_count


# --- cold verification: right credentials, minimal round trips ----------------------------


def test_basic_cold_costs_two_registry_requests(htpasswd_registry: Any, cache: AuthCache) -> None:
    mark = htpasswd_registry.mark()
    report = _verify(htpasswd_registry, cache=cache)
    assert [(r.method, r.path, r.status) for r in htpasswd_registry.requests_since(mark)] == [
        ("GET", "/v2/", 401),
        ("GET", "/v2/", 200),
    ]
    assert (report.registry_requests, report.token_requests) == (2, 0)
    assert report.auth_scheme == "basic" and not report.anonymous and not report.cached
    assert report.registry == htpasswd_registry.host
    assert report.url == f"http://{htpasswd_registry.host}/v2/"
    assert report.tls == "plain HTTP (loopback registry)"
    assert report.username == htpasswd_registry.username
    assert "accepted" in report.summary()


def test_token_cold_costs_two_registry_and_one_token_request(
    token_registry: Any, cache: AuthCache
) -> None:
    mark, token_mark = token_registry.mark(), token_registry.token_server.mark()
    report = _verify(token_registry, cache=cache)
    assert [(r.path, r.status) for r in token_registry.requests_since(mark)] == [
        ("/v2/", 401),
        ("/v2/", 200),
    ]
    (token_request,) = token_registry.token_server.requests_since(token_mark)
    assert (token_request.method, token_request.status) == ("POST", 200)
    assert token_request.params.grant == "password"
    assert token_request.params.service == token_registry.token_server.service
    assert token_request.params.scopes == ()  # like `docker login`
    assert (report.registry_requests, report.token_requests) == (2, 1)
    assert report.auth_scheme == "bearer"
    assert report.realm == token_registry.token_server.realm
    assert report.service == token_registry.token_server.service
    assert report.token_method == "POST" and report.token_lifetime == 300


def test_open_registry_is_valid_but_says_no_credentials_needed(
    open_registry: Any, cache: AuthCache
) -> None:
    mark = open_registry.mark()
    report = _verify(open_registry, "someone", "whatever-pw", cache=cache)
    assert len(open_registry.requests_since(mark)) == 1
    assert report.anonymous and report.auth_scheme == "none"
    assert "needs no credentials" in report.summary()
    assert any("not checked" in line for line in report.lines())


# --- warm verification and ZenML's repeated _verify ---------------------------------------


@pytest.mark.parametrize(
    ("registry_fixture", "cold"), [("htpasswd_registry", (2, 0)), ("token_registry", (2, 1))]
)
def test_warm_verification_makes_no_request(
    request: pytest.FixtureRequest, registry_fixture: str, cold: tuple[int, int], cache: AuthCache
) -> None:
    registry = request.getfixturevalue(registry_fixture)
    has_token = registry.token_server is not None
    mark = registry.mark()
    token_mark = registry.token_server.mark() if has_token else None
    first = _verify(registry, cache=cache)
    second = _verify(registry, cache=cache)
    third = _verify(registry, cache=cache)
    assert _counts(registry, mark, token_mark) == cold
    assert not first.cached and second.cached and third.cached
    assert (second.registry_requests, second.token_requests) == (0, 0)
    assert any("cached" in line for line in second.lines())


@pytest.mark.parametrize(
    ("registry_fixture", "cold"), [("htpasswd_registry", (2, 0)), ("token_registry", (2, 1))]
)
def test_zenml_client_and_connect_flow_costs_one_exchange(
    request: pytest.FixtureRequest,
    registry_fixture: str,
    cold: tuple[int, int],
    no_docker_daemon: None,
) -> None:
    """`get_connector_client()` + `connect()` call `_verify` three times: one exchange."""
    from zenml_docker_connector.glue import spec
    from zenml_docker_connector.glue.connector import DockerServiceConnector

    registry = request.getfixturevalue(registry_fixture)
    connector = DockerServiceConnector(
        auth_method="password",
        resource_type="docker-registry",
        config=spec.DockerConnectorConfiguration(
            username=registry.username, password=registry.password, registry=registry.url
        ),
    )
    default_cache().clear()
    has_token = registry.token_server is not None
    mark = registry.mark()
    token_mark = registry.token_server.mark() if has_token else None
    client = connector.get_connector_client()
    from zenml.exceptions import AuthorizationException

    with pytest.raises(AuthorizationException, match="No Docker daemon answered"):
        client.connect()  # verification passes; no daemon to hand a client out
    assert _counts(registry, mark, token_mark) == cold


# --- wrong and changed credentials -------------------------------------------------------


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_wrong_password_is_rejected_without_leaking_it(
    request: pytest.FixtureRequest,
    registry_fixture: str,
    cache: AuthCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = request.getfixturevalue(registry_fixture)
    wrong = f"Wrong-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CredentialsRejectedError) as caught:
        _verify(registry, password=wrong, cache=cache)
    error = caught.value
    message = str(error)
    assert registry.host in message and f"'{registry.username}'" not in message
    assert "check the password" in message.lower()
    assert error.registry == registry.host
    texts = [message, repr(error), repr(error.args), caplog.text]
    assert_no_secret(texts, wrong)
    assert_no_secret(texts, registry.password)
    # A failure is not cached: the right password works right away.
    assert _verify(registry, cache=cache).auth_scheme in ("basic", "bearer")


def test_wrong_password_on_token_registry_costs_one_token_request(
    token_registry: Any, cache: AuthCache
) -> None:
    mark, token_mark = token_registry.mark(), token_registry.token_server.mark()
    with pytest.raises(CredentialsRejectedError, match="token service"):
        _verify(token_registry, password="not-the-password", cache=cache)
    assert _counts(token_registry, mark, token_mark) == (1, 1)


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_password_changed_in_registry_is_noticed_after_the_ttl(
    request: pytest.FixtureRequest, registry_fixture: str
) -> None:
    registry = request.getfixturevalue(registry_fixture)
    clock = FakeClock()
    cache = AuthCache(clock=clock)
    user, old = _user()
    registry.add_user(user, old)
    assert not _verify(registry, user, old, cache=cache).cached
    registry.set_password(user, "Changed-" + old)
    # Within the verdict lifetime the cached answer stands (documented)...
    assert _verify(registry, user, old, cache=cache).cached
    # ...until it expires.
    clock.now += VERDICT_TTL + 1
    has_token = registry.token_server is not None
    mark = registry.mark()
    token_mark = registry.token_server.mark() if has_token else None
    with pytest.raises(CredentialsRejectedError) as caught:
        _verify(registry, user, old, cache=cache)
    assert "rejected the credentials" in str(caught.value) and user not in str(caught.value)
    # The remembered challenge saves the anonymous ping on the re-check.
    assert _counts(registry, mark, token_mark) == ((0, 1) if has_token else (1, 0))


@pytest.mark.parametrize("registry_fixture", ["htpasswd_registry", "token_registry"])
def test_explicit_check_sees_a_change_at_once_and_withdraws_the_old_verdict(
    request: pytest.FixtureRequest, registry_fixture: str, cache: AuthCache
) -> None:
    registry = request.getfixturevalue(registry_fixture)
    user, old = _user()
    registry.add_user(user, old)
    _verify(registry, user, old, cache=cache)
    registry.set_password(user, "Changed-" + old)
    with pytest.raises(CredentialsRejectedError):
        _verify(registry, user, old, cache=cache, use_cache=False)
    # The failure replaced the cached success: implicit checks fail too now.
    with pytest.raises(CredentialsRejectedError):
        _verify(registry, user, old, cache=cache)


def test_explicit_check_refreshes_the_cache(htpasswd_registry: Any, cache: AuthCache) -> None:
    fresh = _verify(htpasswd_registry, cache=cache, use_cache=False)
    assert not fresh.cached and fresh.registry_requests == 2
    assert _verify(htpasswd_registry, cache=cache).cached


def test_clear_cache_forgets_verdicts(htpasswd_registry: Any) -> None:
    user, password = _user()
    htpasswd_registry.add_user(user, password)
    default_cache().clear()
    _verify(htpasswd_registry, user, password)
    assert _verify(htpasswd_registry, user, password).cached
    default_cache().clear()
    assert not _verify(htpasswd_registry, user, password).cached


def test_basic_registry_without_credentials(htpasswd_registry: Any, cache: AuthCache) -> None:
    with pytest.raises(CredentialsRejectedError, match="requires credentials"):
        verify_registry_access(
            parse_registry_reference(htpasswd_registry.host), Credentials(None, None), cache=cache
        )


# --- token service variants ----------------------------------------------------------------


@pytest.mark.parametrize("disabled_status", [404, 405])
def test_oauth_post_unsupported_falls_back_to_get(
    token_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache, disabled_status: int
) -> None:
    server = token_registry.token_server
    monkeypatch.setattr(server, "oauth_post_enabled", False)
    monkeypatch.setattr(server, "post_disabled_status", disabled_status)
    token_mark = server.mark()
    report = _verify(token_registry, cache=cache)
    requests_seen = server.requests_since(token_mark)
    assert [(r.method, r.status) for r in requests_seen] == [
        ("POST", disabled_status),
        ("GET", 200),
    ]
    assert requests_seen[1].params.grant == "basic"
    assert requests_seen[1].params.username == token_registry.username
    assert report.token_method == "GET" and report.token_requests == 2
    # Remembered: the next fresh check goes straight to GET, without the ping either.
    cache.verdicts.clear()
    token_mark = server.mark()
    again = _verify(token_registry, cache=cache)
    assert [r.method for r in server.requests_since(token_mark)] == ["GET"]
    assert (again.registry_requests, again.token_requests) == (1, 1)


def test_get_fallback_rejects_a_wrong_password(
    token_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    monkeypatch.setattr(token_registry.token_server, "oauth_post_enabled", False)
    with pytest.raises(CredentialsRejectedError, match="rejected"):
        _verify(token_registry, password="nope-nope", cache=cache)


def test_scoped_check_reports_granted_actions(token_registry: Any, cache: AuthCache) -> None:
    token_mark = token_registry.token_server.mark()
    report = _verify(token_registry, repository="team/app", push=True, cache=cache)
    (request_seen,) = token_registry.token_server.requests_since(token_mark)
    assert request_seen.params.scopes == ("repository:team/app:pull,push",)
    assert {c.scope: c.granted for c in report.scopes} == {
        "repository:team/app:pull,push": ("pull", "push")
    }
    assert "token's access claim" in report.scopes[0].source
    assert report.registry_requests == 2  # the JWT answers the scope question


def test_restricted_user_gets_pull_but_not_push(token_registry: Any, cache: AuthCache) -> None:
    user, password = _user()
    token_registry.token_server.add_user(user, password, {"team/*": ["pull"]})
    pulled = _verify(token_registry, user, password, repository="team/app", cache=cache)
    assert {c.scope: c.granted for c in pulled.scopes} == {"repository:team/app:pull": ("pull",)}
    with pytest.raises(AccessDeniedError) as caught:
        _verify(token_registry, user, password, repository="team/app", push=True, cache=cache)
    message = str(caught.value)
    assert "may not push team/app" in message and user not in message
    assert "granted: pull" in message
    outcome = _check_only(
        token_registry.host, Credentials(user, password), "team/app", push=True, cache=cache
    )
    assert outcome.scopes[0].denied == ("push",)
    with pytest.raises(AccessDeniedError, match="may not pull"):
        _verify(token_registry, user, password, repository="other/app", cache=cache)


def test_basic_scoped_check_uses_tags_list(htpasswd_registry: Any, cache: AuthCache) -> None:
    mark = htpasswd_registry.mark()
    report = _verify(htpasswd_registry, repository="team/app", push=True, cache=cache)
    assert [(r.path, r.status) for r in htpasswd_registry.requests_since(mark)] == [
        ("/v2/", 401),
        ("/v2/", 200),
        ("/v2/team/app/tags/list", 404),
    ]
    (check,) = report.scopes
    assert check.granted == ("pull",) and check.unknown == ("push",) and check.denied == ()
    assert "not checkable" in check.describe()


def test_anonymous_token_access(
    token_registry: Any, monkeypatch: pytest.MonkeyPatch, cache: AuthCache
) -> None:
    reference = parse_registry_reference(token_registry.host)
    report = verify_registry_access(reference, Credentials(None, None), cache=cache)
    assert report.anonymous and report.auth_scheme == "bearer" and report.username is None
    assert "anonymous access works" in report.summary()
    monkeypatch.setattr(token_registry.token_server, "allow_anonymous", False)
    with pytest.raises(CredentialsRejectedError, match="requires credentials"):
        verify_registry_access(reference, Credentials(None, None), cache=cache, use_cache=False)


def test_identity_token_uses_the_refresh_grant(token_registry: Any, cache: AuthCache) -> None:
    server = token_registry.token_server
    answer = loopback_session().post(
        server.realm,
        data={
            "grant_type": "password",
            "username": token_registry.username,
            "password": token_registry.password,
            "service": server.service,
            "client_id": "tests",
            "access_type": "offline",
        },
        timeout=5,
    )
    refresh_token = answer.json()["refresh_token"]
    token_mark = server.mark()
    # What a credential helper returns for an identity token: the `<token>` username.
    report = verify_registry_access(
        parse_registry_reference(token_registry.host),
        Credentials.from_store("<token>", refresh_token),
        cache=cache,
    )
    (seen,) = server.requests_since(token_mark)
    assert seen.params.grant == "refresh_token" and seen.params.username == token_registry.username
    assert report.auth_scheme == "bearer"
    with pytest.raises(CredentialsRejectedError, match="identity token"):
        _verify(token_registry, "someone", "not-a-refresh-token", identity_token=True, cache=cache)


# --- answers only a fake server gives ------------------------------------------------------


FAKE_CREDENTIALS = Credentials("user", "Fake-Secret-1")


def _fake_verify(server: LocalServer, cache: AuthCache) -> VerificationReport:
    return verify_registry_access(
        parse_registry_reference(server.netloc), FAKE_CREDENTIALS, cache=cache
    )


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(401, [("WWW-Authenticate", 'Bearer realm="unterminated')]), "unterminated"),
        (Reply(401, [("WWW-Authenticate", "<html>")]), "usable authentication challenge"),
        (Reply(401), "no WWW-Authenticate header"),
        (Reply(401, [("WWW-Authenticate", "Negotiate abc==")]), "Negotiate"),
        (Reply(401, [("WWW-Authenticate", 'Bearer service="x"')]), "names no token realm"),
        (
            Reply(404, [("Content-Type", "text/html")], b"<html>Not Found</html>"),
            "HTTP 404 (text/html)",
        ),
        (Reply(200, [("Content-Type", "text/html")], b"<html>hello</html>"), "answered 200"),
        (Reply(418, [("Content-Type", "text/plain")], b"teapot"), "HTTP 418"),
        (Reply(200, body=b"{" * (100 * 1024)), "larger than 64 KiB"),
    ],
    ids=[
        "garbage-challenge",
        "html-challenge",
        "no-challenge",
        "negotiate",
        "no-realm",
        "html-404",
        "html-200",
        "teapot",
        "oversize",
    ],
)
def test_not_a_registry(reply: Reply, expected: str, cache: AuthCache) -> None:
    with LocalServer(lambda _: reply) as server, pytest.raises(NotARegistryError) as caught:
        _fake_verify(server, cache)
    assert expected in str(caught.value) and server.netloc in str(caught.value)


def test_server_error_on_ping_reads_as_unreachable(cache: AuthCache) -> None:
    with (
        LocalServer(lambda _: Reply(503, body=b"down")) as server,
        pytest.raises(RegistryUnreachableError, match="HTTP 503"),
    ):
        _fake_verify(server, cache)


def _token_setup(token_script: Any) -> tuple[LocalServer, LocalServer]:
    token_service = LocalServer(token_script).start()

    def registry_script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization", "").startswith("Bearer "):
            return registry_ok()
        return bearer_challenge(f"{token_service.url}/token")

    return token_service, LocalServer(registry_script).start()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(200, body=b"x" * (2 * 1024 * 1024)), "larger than 1024 KiB"),
        (Reply(200, body=b"y" * (1024 * 1024 + 10), no_length=True), "larger than 1024 KiB"),
        (Reply(200, body=b"<html>login</html>"), "did not answer with a JSON object"),
        (Reply(200, body=b'{"expires_in": 60}'), "without a token"),
        (Reply(500, body=b'{"details":"boom"}'), "answered HTTP 500"),
        (Reply(429), "rate-limiting"),
    ],
    ids=["oversize", "oversize-unannounced", "html", "no-token", "server-error", "rate-limit"],
)
def test_token_service_misbehaving(reply: Reply, expected: str, cache: AuthCache) -> None:
    token_service, registry = _token_setup(lambda _: reply)
    try:
        with pytest.raises(TokenServiceError) as caught:
            _fake_verify(registry, cache)
    finally:
        registry.stop()
        token_service.stop()
    assert expected in str(caught.value)
    assert "Fake-Secret-1" not in str(caught.value)


def test_registry_rejecting_the_issued_token(cache: AuthCache) -> None:
    with (
        LocalServer(lambda _: Reply(200, body=b'{"token":"t1"}')) as token_service,
        LocalServer(lambda _: bearer_challenge(f"{token_service.url}/token")) as registry,
        pytest.raises(TokenServiceError, match="disagree"),
    ):
        _fake_verify(registry, cache)


def test_realm_only_challenge_and_opaque_token(cache: AuthCache) -> None:
    """Google Artifact Registry style: realm only, token not a JWT, access via tags/list."""
    token_service = LocalServer(
        lambda _: Reply(200, body=b'{"access_token":"opaque","expires_in":3600}')
    ).start()

    def registry_script(seen: Seen) -> Reply:
        if seen.headers.get("Authorization") != "Bearer opaque":
            return Reply(401, [("WWW-Authenticate", f'Bearer realm="{token_service.url}/token"')])
        if seen.path.endswith("/tags/list"):
            return Reply(403, body=b'{"errors":[{"code":"DENIED"}]}')
        return registry_ok()

    try:
        with LocalServer(registry_script) as registry:
            outcome = _check_only(registry.netloc, FAKE_CREDENTIALS, "p/r", cache=cache)
    finally:
        token_service.stop()
    (post,) = token_service.seen
    assert b"service=" not in post.body and b"grant_type=password" in post.body
    assert outcome.service is None and outcome.token_lifetime == 3600
    (check,) = outcome.scopes
    assert check.granted == () and check.denied == ("pull",)
    assert "tags/list answered 403" in check.source


def test_oauth_400_unsupported_grant_falls_back_to_get(cache: AuthCache) -> None:
    def token_script(seen: Seen) -> Reply:
        if seen.method == "POST":
            return Reply(400, body=b'{"error":"unsupported_grant_type"}')
        assert seen.headers["Authorization"].startswith("Basic ")
        assert "account=user" in seen.query
        return Reply(200, body=b'{"token":"ok-token"}')

    token_service, registry = _token_setup(token_script)
    try:
        report = _fake_verify(registry, cache)
    finally:
        registry.stop()
        token_service.stop()
    assert report.token_method == "GET" and report.token_requests == 2


def test_reports_hold_no_secret(token_registry: Any, cache: AuthCache) -> None:
    report = _verify(token_registry, repository="team/app", cache=cache)
    texts = [repr(report), report.summary(), *report.lines()]
    assert_no_secret(texts, token_registry.password)


@pytest.mark.parametrize(
    ("registry_fixture", "cold"), [("htpasswd_registry", (2, 0)), ("token_registry", (2, 1))]
)
def test_concurrent_checks_share_one_exchange(
    request: pytest.FixtureRequest, registry_fixture: str, cold: tuple[int, int], cache: AuthCache
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    registry = request.getfixturevalue(registry_fixture)
    has_token = registry.token_server is not None
    mark = registry.mark()
    token_mark = registry.token_server.mark() if has_token else None
    with ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(lambda _: _verify(registry, cache=cache), range(8)))
    assert _counts(registry, mark, token_mark) == cold
    assert sum(not report.cached for report in reports) == 1
