"""Token answers: lifetime, value, what a JWT's `access` claim grants."""

from __future__ import annotations

import base64
import json

import pytest

from zenml_docker_connector.errors import TokenServiceError
from zenml_docker_connector.registry.tokens import decode_jwt_access, parse_token_response

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
