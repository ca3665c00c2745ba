"""Tokens: asking a token service (OAuth2 POST first, GET fallback, refusals, realms), and
the answers: lifetime, value, what a JWT's `access` claim grants."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest

from testbed.local_http import Reply, Seen
from testbed.loopback import Loopback
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import CredentialsRejectedError, TokenServiceError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.auth import (
    CLIENT_ID,
    TokenRequest,
    check_realm,
    decode_jwt_access,
    parse_token_response,
    request_token,
)
from zenml_docker_connector.registry.challenge import Challenge
from zenml_docker_connector.registry.transport import Transport

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def _parse(body: dict[str, object]) -> object:
    return parse_token_response("r", "https://r/token", json.dumps(body).encode(), "GET", now=NOW)


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


@pytest.mark.parametrize(
    ("body", "expires_in", "remaining"),
    [
        ({"token": "t"}, 60, 60.0),
        ({"token": "t", "expires_in": 300}, 300, 300.0),
        ({"token": "t", "expires_in": 10}, 60, 60.0),  # the Docker spec's minimum
        ({"token": "t", "expires_in": "300"}, 60, 60.0),
        ({"token": "t", "expires_in": True}, 60, 60.0),
        ({"access_token": "t", "expires_in": 300, "issued_at": "2027-01-15T07:58:00Z"}, 300, 180.0),
        (
            {"token": "t", "expires_in": 300, "issued_at": "2027-01-15T07:59:00.123456789Z"},
            300,
            pytest.approx(240.123, abs=0.01),
        ),
        ({"token": "t", "expires_in": 300, "issued_at": "2027-01-15T09:59:00+02:00"}, 300, 240.0),
        ({"token": "t", "expires_in": 300, "issued_at": "2027-01-15T09:00:00Z"}, 300, 300.0),
        ({"token": "t", "expires_in": 300, "issued_at": "2020-01-01T00:00:00Z"}, 300, 0.0),
        ({"token": "t", "expires_in": 300, "issued_at": "yesterday"}, 300, 300.0),
        # Go's zero time: distribution's client reads it as "issued now".
        ({"token": "t", "expires_in": 300, "issued_at": "0001-01-01T00:00:00Z"}, 300, 300.0),
        ({"token": "t", "issued_at": "0001-01-01T00:00:00.000000000Z"}, 60, 60.0),
        ({"token": "t", "expires_in": 300, "issued_at": "0001-01-01T00:00:00+00:00"}, 300, 300.0),
        # Just as early but not the zero instant: a stale token, not a crash.
        ({"token": "t", "expires_in": 300, "issued_at": "0001-01-01T00:00:00-01:00"}, 300, 0.0),
        ({"token": "t", "expires_in": 300, "issued_at": "0001-01-01T00:30:00+01:00"}, 300, 0.0),
    ],
)
def test_lifetime(body: dict[str, object], expires_in: int, remaining: float) -> None:
    token = _parse(body)
    assert token.expires_in == expires_in  # type: ignore[attr-defined]
    assert token.remaining == remaining  # type: ignore[attr-defined]


def test_token_beats_access_token_and_value_is_hidden() -> None:
    token = _parse({"token": "from-token", "access_token": "from-access"})
    assert token.value == "from-token"  # type: ignore[attr-defined]
    assert "from-token" not in repr(token)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'{"token": ""}', "without a token"),
        (b'{"token": 42}', "without a token"),
        (b"\xff\xfe", "JSON object"),
    ],
)
def test_bad_token_answers(body: bytes, expected: str) -> None:
    with pytest.raises(TokenServiceError, match=expected):
        parse_token_response("reg:5000", "https://r/token", body, "POST")


def test_jwt_access_claim() -> None:
    token = _jwt(
        {
            "access": [
                {"type": "repository", "name": "team/app", "actions": ["pull", "push"]},
                {"type": "repository", "name": "team/app", "actions": ["pull", "delete"]},
                {"type": "registry", "name": "catalog", "actions": ["*"]},
                "junk",
                {"type": "repository", "name": 3, "actions": []},
            ]
        }
    )
    access = decode_jwt_access(token)
    assert access is not None and len(access) == 3
    parsed = parse_token_response("r", "https://r/t", json.dumps({"token": token}).encode(), "GET")
    assert parsed.granted_actions("repository", "team/app") == ("pull", "push", "delete")
    assert parsed.granted_actions("repository", "other") == ()
    assert decode_jwt_access(_jwt({"sub": "x"})) == ()


@pytest.mark.parametrize("token", ["opaque", "a.b", "a.!!!.c", "a.bnVsbA.c", f"x.{'e30'}.y.z"])
def test_non_jwt_tokens_have_no_claims(token: str) -> None:
    assert decode_jwt_access(token) is None


SECRET = "Token-Secret-3"
USER = Credentials("alice", SECRET)
TOKEN_OK = Reply(200, body=b'{"token": "t0k3n", "expires_in": 120}')


def _realm(loopback: Loopback) -> str:
    return f"{loopback.url}/token"


def _request(
    loopback: Loopback, credentials: Credentials = USER, scopes: tuple[str, ...] = ()
) -> TokenRequest:
    return TokenRequest(_realm(loopback), "registry.example", scopes, credentials)


def _form(seen: Seen) -> dict[str, list[str]]:
    return parse_qs(seen.body.decode())


def test_the_oauth2_password_grant_comes_first(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: TOKEN_OK)
    scopes = ("repository:a/b:pull", "registry:c:*")
    token = request_token(transport, _request(loopback, scopes=scopes))
    assert (token.value, token.method, token.expires_in) == ("t0k3n", "POST", 120)
    (post,) = loopback.seen
    assert (post.method, post.path, post.query) == ("POST", "/token", "")
    assert _form(post) == {
        "client_id": [CLIENT_ID],
        "grant_type": ["password"],
        "username": ["alice"],
        "password": [SECRET],
        "service": ["registry.example"],
        "scope": ["repository:a/b:pull registry:c:*"],
    }
    assert "Authorization" not in post.headers
    assert transport.counter.token == 1 and transport.steps == [
        f"POST {_realm(loopback)} (OAuth2 password) -> 200"
    ]


@pytest.mark.parametrize(
    "refusal",
    [Reply(404), Reply(405), Reply(400, body=b'{"error": "unsupported_grant_type"}'), Reply(401)],
)
def test_no_oauth2_endpoint_falls_back_to_get_with_basic(
    loopback: Loopback, refusal: Reply
) -> None:
    transport = loopback.transport(lambda seen: refusal if seen.method == "POST" else TOKEN_OK)
    token = request_token(transport, _request(loopback, scopes=("repository:a/b:pull",)))
    assert token.method == "GET"
    post, get = loopback.seen
    assert (post.method, get.method) == ("POST", "GET")
    assert get.headers["Authorization"] == USER.basic_header()
    assert parse_qs(get.query) == {
        "service": ["registry.example"],
        "scope": ["repository:a/b:pull"],
        "account": ["alice"],
        "client_id": [CLIENT_ID],
    }


def test_prefer_get_skips_the_post(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: TOKEN_OK)
    assert request_token(transport, _request(loopback), prefer_get=True).method == "GET"
    assert [s.method for s in loopback.seen] == ["GET"]


def test_an_oauth2_invalid_grant_is_a_rejection_without_a_second_try(loopback: Loopback) -> None:
    transport = loopback.transport(
        lambda seen: Reply(400, body=b'{"error": "invalid_grant", "error_description": "bad"}')
    )
    with pytest.raises(TokenServiceError, match="answered HTTP 400 to a POST token request: bad"):
        request_token(transport, _request(loopback))
    assert transport.counter.token == 1 and len(loopback.seen) == 1


def test_a_refusal_names_the_user_and_hides_the_echoed_secret(loopback: Loopback) -> None:
    echo = f'{{"details": "password {SECRET} is wrong for alice"}}'.encode()
    transport = loopback.transport(lambda seen: Reply(401, body=echo))
    transport.redactor = USER.redactor  # as every `CheckContext` sets it
    with pytest.raises(CredentialsRejectedError) as caught:
        request_token(transport, _request(loopback))
    message = str(caught.value)
    assert "rejected the credentials: password ******** is wrong" in message
    assert SECRET not in message and f"token service {_realm(loopback)}" in message


def test_anonymous_requests_go_straight_to_get_without_account(loopback: Loopback) -> None:
    transport = loopback.transport(lambda seen: TOKEN_OK)
    assert request_token(transport, _request(loopback, Credentials(None, None))).method == "GET"
    (get,) = loopback.seen
    assert "Authorization" not in get.headers and "account" not in parse_qs(get.query)
    refused = loopback.transport(lambda seen: Reply(401))
    with pytest.raises(CredentialsRejectedError, match="refused an anonymous request"):
        request_token(refused, _request(loopback, Credentials(None, None)))


def test_an_identity_token_uses_the_refresh_grant_only(loopback: Loopback) -> None:
    token_credentials = Credentials.from_store("<token>", "refresh-value")
    transport = loopback.transport(lambda seen: TOKEN_OK)
    request_token(transport, _request(loopback, token_credentials))
    (post,) = loopback.seen
    assert _form(post)["grant_type"] == ["refresh_token"]
    assert _form(post)["refresh_token"] == ["refresh-value"] and "password" not in _form(post)
    no_oauth = loopback.transport(lambda seen: Reply(404))
    with pytest.raises(TokenServiceError, match="identity token cannot be used there"):
        request_token(no_oauth, _request(loopback, token_credentials))
    assert no_oauth.counter.token == 1
    empty = Credentials("<token>", "", identity_token=True)
    unused = loopback.transport(lambda seen: TOKEN_OK)
    with pytest.raises(CredentialsRejectedError, match="No identity token configured"):
        request_token(unused, _request(loopback, empty))
    assert unused.counter.token == 0 and len(loopback.seen) == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(429), "rate-limiting"),
        (Reply(500, body=b'{"errors": [{"message": "db down"}]}'), "HTTP 500 to a GET"),
        (Reply(200, body=b"<html/>"), "did not answer with a JSON object"),
    ],
)
def test_token_service_failures(loopback: Loopback, reply: Reply, expected: str) -> None:
    transport = loopback.transport(lambda seen: reply if seen.method == "GET" else Reply(404))
    with pytest.raises(TokenServiceError, match=expected):
        request_token(transport, _request(loopback))


@pytest.mark.parametrize(
    ("realm", "valid"),
    [
        ("https://auth.example/token", True),
        ("http://127.0.0.1:9/token", True),  # whether credentials may go there: `policy`
        ("ftp://auth.example/token", False),
        ("https:///token", False),
        ("", False),
    ],
)
def test_a_realm_must_be_an_http_url(realm: str, valid: bool) -> None:
    transport = Transport(parse_registry_reference("registry.example"))  # sends nothing
    challenge = Challenge("bearer", {"realm": realm})
    if valid:
        assert check_realm(transport, challenge) == realm
    else:
        with pytest.raises(TokenServiceError, match="is not an http"):
            check_realm(transport, challenge)


def test_token_request_repr_hides_the_secret() -> None:
    assert SECRET not in repr(TokenRequest("https://auth.example/token", "s", (), USER))
