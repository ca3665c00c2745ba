"""Token answers, JWT access claims, repository names and the cache's keys (no network)."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from zenml_docker_connector.auth_cache import AuthCache, TTLStore, token_ttl
from zenml_docker_connector.errors import TokenServiceError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry_client import RegistryClient, normalize_repository
from zenml_docker_connector.tokens import (
    decode_jwt_access,
    parse_token_response,
    requested_scopes,
    scope_actions,
)

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


@pytest.mark.parametrize("repository", ["Team/App", "team/app:1", "team/app@sha256:ab", "a//b?"])
def test_bad_repository_fails_before_any_request(repository: str) -> None:
    reference = parse_registry_reference("127.0.0.1:1")
    with RegistryClient(reference, "u", "p") as client, pytest.raises(ValueError):
        client.check(repository)
    assert client.counter.registry == 0


def test_fingerprints_are_keyed_and_hide_the_secret() -> None:
    first, second = AuthCache(), AuthCache()
    key = first.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert "S3cret" not in key and len(key) == 64
    assert key == first.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert key != second.fingerprint("verdict", "reg", "user", "S3cret-value")
    assert key != first.fingerprint("verdict", "reg", "user", "S3cret-valuf")
    # Length-prefixed: moving a boundary between parts changes the key.
    assert first.fingerprint("ab", "c") != first.fingerprint("a", "bc")


def test_ttl_store_expiry_and_bound() -> None:
    now = [0.0]
    store: TTLStore[str] = TTLStore(lambda: now[0], max_entries=2)
    store.put("a", "1", 10)
    store.put("b", "2", 0)  # not stored
    assert store.get("a") == "1" and store.get("b") is None
    now[0] = 10
    assert store.get("a") is None
    for name in "xyz":
        store.put(name, name, 5)
    assert len(store) == 2 and store.get("x") is None


def test_token_ttl() -> None:
    assert token_ttl(300) == 60  # never longer than a verdict
    assert token_ttl(60) == 50
    assert token_ttl(5) == 0


def test_per_key_lock_is_shared() -> None:
    cache = AuthCache()
    assert cache.lock("k") is cache.lock("k")
    assert cache.lock("k") is not cache.lock("other")
    results: list[bool] = []
    with cache.lock("k"):
        thread = threading.Thread(target=lambda: results.append(cache.lock("k").acquire(False)))
        thread.start()
        thread.join()
    assert results == [False]
