"""Answering a challenge: Basic credentials, a Bearer token, and what they grant on a
repository (scopes, and `tags/list` when the token does not say)."""

from __future__ import annotations

import base64
import json

import pytest

from testbed.local_http import Reply, Script, Seen, bearer_challenge, registry_ok
from testbed.loopback import Loopback, check_transport
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import (
    CredentialsRejectedError,
    NotARegistryError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.auth import (
    Authorization,
    BearerToken,
    ScopeCheck,
    basic_authorization,
    bearer_authorization,
    check_with_token,
    granted_without_auth,
    normalize_repository,
    parse_token_response,
    probe,
    requested_scopes,
    scope_actions,
)
from zenml_docker_connector.registry.challenge import Challenge, Endpoint

USER = Credentials("alice", "Basic-Secret-1")


def test_complete_credentials_give_the_header() -> None:
    authorization = basic_authorization("r.example", USER)
    assert authorization == Authorization(USER.basic_header(), "Basic")
    assert authorization.what == "the Basic credentials"
    assert USER.basic_header() not in repr(authorization)


def test_rejected_credentials_name_neither_user_nor_secret() -> None:
    wrong = Credentials("alice", "Wrong-Secret-2")
    with check_transport("r.example", wrong) as transport:  # sends nothing
        error = basic_authorization("r.example", wrong).rejected(transport, wrong)
    assert isinstance(error, CredentialsRejectedError)
    message = str(error)
    assert "Registry r.example rejected the credentials:" in message
    assert "alice" not in message
    assert "Wrong-Secret-2" not in message and wrong.basic_value() not in message


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (Credentials(None, None), "requires credentials, but none are configured"),
        (Credentials("alice", None), "requires credentials, but none are configured"),
        (Credentials("alice", "refresh", identity_token=True), "not an identity token"),
    ],
)
def test_unusable_credentials_are_refused_without_a_request(
    credentials: Credentials, expected: str
) -> None:
    with pytest.raises(CredentialsRejectedError, match=expected):
        basic_authorization("r.example", credentials)


BEARER_USER = Credentials("alice", "Bearer-Secret-1")
TOKEN = Reply(200, body=b'{"token": "t1", "expires_in": 300}')


def _realm(loopback: Loopback) -> str:
    return f"{loopback.url}/token"


def _endpoint(loopback: Loopback, *, prefer_get: bool = False) -> Endpoint:
    challenge = Challenge("bearer", {"realm": _realm(loopback), "service": "s"})
    return Endpoint(loopback.url, challenge, prefer_get)


def _registry(loopback: Loopback, token_reply: Reply, accepted: str = "Bearer t1") -> Script:
    def script(seen: Seen) -> Reply:
        if seen.path == "/token":
            return token_reply
        if seen.headers.get("Authorization") == accepted:
            return registry_ok()
        return bearer_challenge(_realm(loopback), "s")

    return script


def test_one_token_request_gives_the_header(loopback: Loopback) -> None:
    transport = loopback.transport(_registry(loopback, TOKEN), credentials=BEARER_USER)
    authorization = bearer_authorization(transport, BEARER_USER, _endpoint(loopback), ())
    assert authorization.header == "Bearer t1" and authorization.label == "bearer token"
    assert authorization.token is not None and authorization.token.value == "t1"
    assert authorization.realm == _realm(loopback) and not authorization.fell_back_to_get
    assert authorization.what == "the bearer token" and "t1" not in repr(authorization)
    assert (transport.counter.registry, transport.counter.token) == (0, 1)
    assert [(s.method, s.path) for s in loopback.seen] == [("POST", "/token")]


def test_a_token_the_registry_refuses_is_reported(loopback: Loopback) -> None:
    transport = loopback.transport(_registry(loopback, TOKEN), credentials=BEARER_USER)
    authorization = bearer_authorization(transport, BEARER_USER, _endpoint(loopback), ())
    error = authorization.rejected(transport, BEARER_USER)
    assert isinstance(error, TokenServiceError) and "disagree" in str(error)
    assert _realm(loopback) in str(error)


def test_the_get_fallback_is_reported(loopback: Loopback) -> None:
    def script(seen: Seen) -> Reply:
        return Reply(404) if seen.method == "POST" else TOKEN

    transport = loopback.transport(script, credentials=BEARER_USER)
    authorization = bearer_authorization(transport, BEARER_USER, _endpoint(loopback), ())
    assert authorization.fell_back_to_get and authorization.token is not None
    assert authorization.token.method == "GET"
    # Known from an earlier check: straight to GET, and nothing new to remember.
    known = bearer_authorization(transport, BEARER_USER, _endpoint(loopback, prefer_get=True), ())
    assert not known.fell_back_to_get
    assert [s.method for s in loopback.seen] == ["POST", "GET", "GET"]


def test_incomplete_credentials_ask_for_an_anonymous_token(loopback: Loopback) -> None:
    transport = loopback.transport(_registry(loopback, TOKEN), credentials=BEARER_USER)
    authorization = bearer_authorization(
        transport, Credentials("alice", None), _endpoint(loopback), ()
    )
    (token_request,) = loopback.seen
    assert token_request.method == "GET" and "Authorization" not in token_request.headers
    assert not authorization.fell_back_to_get


def test_rejected_credentials_are_an_error(loopback: Loopback) -> None:
    transport = loopback.transport(_registry(loopback, Reply(401)), credentials=BEARER_USER)
    with pytest.raises(CredentialsRejectedError):
        bearer_authorization(transport, BEARER_USER, _endpoint(loopback), ())


def test_scopes() -> None:
    assert requested_scopes(None, True) == ()
    assert requested_scopes("team/app", False) == ("repository:team/app:pull",)
    assert requested_scopes("team/app", True) == ("repository:team/app:pull,push",)
    assert scope_actions(["repository:localhost:5000/app:pull,push", "registry:catalog:*"]) == [
        ("repository", "localhost:5000/app", ("pull", "push")),
        ("registry", "catalog", ("*",)),
    ]


@pytest.mark.parametrize(
    ("registry", "repository", "expected"),
    [
        ("docker.io", "app", "library/app"),
        ("docker.io", "team/app", "team/app"),
        ("127.0.0.1:5000", "/team/app/", "team/app"),
        ("[::1]:5000", "a/b/c", "a/b/c"),
        ("127.0.0.1:5000", "", None),
        ("127.0.0.1:5000", None, None),
    ],
)
def test_repository_names(registry: str, repository: str | None, expected: str | None) -> None:
    assert normalize_repository(parse_registry_reference(registry), repository) == expected


SCOPES_USER = Credentials("u", "p")


def _token(access: list[dict[str, object]] | None) -> BearerToken:
    claims = base64.urlsafe_b64encode(json.dumps({"access": access}).encode()).decode()
    value = f"e30.{claims.rstrip('=')}.c2ln" if access is not None else "opaque-token"
    return parse_token_response("r", "https://r/t", json.dumps({"token": value}).encode(), "POST")


def test_denied_is_what_was_neither_granted_nor_uncheckable() -> None:
    check = ScopeCheck("repository:a/b:pull,push", ("pull", "push"), ("pull",), ("push",), "x")
    assert check.denied == ()
    assert check.describe() == "repository:a/b:pull,push: granted pull; push not checkable (x)"
    refused = ScopeCheck("repository:a/b:pull", ("pull",), (), (), "y")
    assert refused.denied == ("pull",)
    assert refused.describe() == "repository:a/b:pull: granted nothing (y)"


def test_a_registry_without_auth_grants_everything_asked() -> None:
    (check,) = granted_without_auth(("repository:a/b:pull,push",))
    assert check.granted == ("pull", "push") and check.denied == ()
    assert "requires no authentication" in check.source


@pytest.mark.parametrize(
    ("access", "granted"),
    [
        (
            [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}],
            ("pull", "push"),
        ),
        ([{"type": "repository", "name": "team/app", "actions": ["pull"]}], ("pull",)),
        ([{"type": "repository", "name": "team/app", "actions": ["*"]}], ("pull", "push")),
        ([{"type": "repository", "name": "other/app", "actions": ["*"]}], ()),
        ([], ()),
    ],
)
def test_the_access_claim_answers_without_a_request(
    loopback: Loopback, access: list[dict[str, object]], granted: tuple[str, ...]
) -> None:
    transport = loopback.transport(lambda seen: Reply(500), credentials=SCOPES_USER)
    check = check_with_token(
        transport, loopback.url, "repository:team/app:pull,push", _token(access)
    )
    assert check.granted == granted and check.unknown == ()
    assert check.source == "the token's access claim"
    assert transport.counter.registry == 0 and loopback.seen == []


def test_an_opaque_token_is_checked_with_tags_list(loopback: Loopback) -> None:
    transport = loopback.transport(
        lambda seen: Reply(200, body=b'{"name":"team/app","tags":[]}'), credentials=SCOPES_USER
    )
    check = check_with_token(transport, loopback.url, "repository:team/app:pull", _token(None))
    assert check.granted == ("pull",)
    seen = loopback.seen
    assert [(s.method, s.path, s.query) for s in seen] == [("GET", "/v2/team/app/tags/list", "n=1")]
    assert seen[0].headers["Authorization"] == "Bearer opaque-token"
    assert transport.steps == [
        f"GET {loopback.url}/v2/team/app/tags/list (opaque bearer token) -> 200"
    ]


@pytest.mark.parametrize(
    ("status", "granted", "source"),
    [
        (200, ("pull",), "GET /v2/team/app/tags/list answered 200; push needs a write to test"),
        (
            404,
            ("pull",),
            "GET /v2/team/app/tags/list answered 404: repository not pushed yet; push needs a "
            "write to test",
        ),
        (401, (), "GET /v2/team/app/tags/list answered 401; push needs a write to test"),
        (403, (), "GET /v2/team/app/tags/list answered 403; push needs a write to test"),
    ],
)
def test_tags_list_answers_pull_and_leaves_push_unknown(
    loopback: Loopback, status: int, granted: tuple[str, ...], source: str
) -> None:
    transport = loopback.transport(lambda seen: Reply(status), credentials=SCOPES_USER)
    check = probe(transport, loopback.url, "repository:team/app:pull,push", ("Basic eDp5", "Basic"))
    assert (check.granted, check.unknown, check.source) == (granted, ("push",), source)


@pytest.mark.parametrize(
    ("status", "error"), [(500, RegistryUnreachableError), (418, NotARegistryError)]
)
def test_tags_list_answering_nonsense_is_an_error(
    loopback: Loopback, status: int, error: type[Exception]
) -> None:
    transport = loopback.transport(lambda seen: Reply(status), credentials=SCOPES_USER)
    with pytest.raises(error):
        probe(transport, loopback.url, "repository:team/app:pull", ("Basic eDp5", "Basic"))


def test_repository_names_are_quoted_in_the_url() -> None:
    assert scope_actions(["repository(plugin):a/b:pull"]) == [("repository", "a/b", ("pull",))]
    assert requested_scopes("library/app", False) == ("repository:library/app:pull",)
