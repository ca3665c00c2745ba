"""Parsed input is bounded, each limit refused with a message saying which (issue 11, "Make
it crash or burn CPU"): JSON depth (ping, token, error bodies and a token's JWT payload),
the number and size of headers and challenges, content encodings."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from testbed.hostile import bearer_pair, challenge_flood, deep_json, raw_controls
from testbed.local_http import LocalServer, Reply, Seen, basic_challenge
from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import NotARegistryError, RegistryError, TokenServiceError
from zenml_docker_connector.references import parse_registry_reference
from zenml_docker_connector.registry.cache import AuthCache
from zenml_docker_connector.registry.reader import (
    MAX_CHALLENGE_HEADERS,
    MAX_CHALLENGES,
    MAX_JSON_DEPTH,
)
from zenml_docker_connector.registry.verification import verify_registry_access

pytestmark = pytest.mark.timeout(60)

CREDENTIALS = Credentials("mallory", "Limits-Secret-9a9a")
JSON = [("Content-Type", "application/json")]


def _refusal(netloc: str, kind: type[RegistryError] = RegistryError) -> str:
    with pytest.raises(kind) as caught:
        verify_registry_access(parse_registry_reference(netloc), CREDENTIALS, cache=AuthCache())
    message = str(caught.value)
    assert not raw_controls(message) and CREDENTIALS.secret not in message
    return message


DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


@pytest.mark.parametrize(
    "body", [deep_json(5000), deep_json(3000, key="a")], ids=["arrays", "objects"]
)
def test_deep_json_in_a_ping_answer(body: bytes) -> None:
    with LocalServer(lambda seen: Reply(200, JSON, body)) as registry:
        assert DEEP in _refusal(registry.netloc, NotARegistryError)


@pytest.mark.parametrize("status", [200, 400, 401, 500])
def test_deep_json_in_token_and_error_answers(status: int) -> None:
    with bearer_pair(lambda seen: Reply(status, JSON, deep_json(100_000))) as (registry, _):
        assert DEEP in _refusal(registry.netloc, TokenServiceError)


def test_deep_json_in_a_token_payload() -> None:
    payload = base64.urlsafe_b64encode(deep_json(2000, key="access")).decode().rstrip("=")
    token = f"eyJhbGciOiJub25lIn0.{payload}.sig"
    answer = json.dumps({"token": token}).encode()
    with bearer_pair(lambda seen: Reply(200, JSON, answer)) as (registry, _):
        message = _refusal(registry.netloc, TokenServiceError)
    assert f"JWT payload is {DEEP}" in message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(97, "sent more than 100 header lines"), (90, "header of 16 KiB (limit 8 KiB)")],
)
def test_the_issue_challenge_flood_is_refused_before_parsing(headers: int, expected: str) -> None:
    """97 WWW-Authenticate headers of 16 KiB (776,000 challenges) cost seconds of CPU and
    hundreds of MB before; now `http.client`'s line count or our header limits refuse them
    before a challenge is parsed."""
    with LocalServer(lambda seen: challenge_flood(headers, 16 * 1024)) as registry:
        message = _refusal(registry.netloc, NotARegistryError)
    assert expected in message and "refusing it" in message


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (challenge_flood(1, 12 * 1024), "a WWW-Authenticate header of 12 KiB (limit 8 KiB)"),
        (
            challenge_flood(MAX_CHALLENGE_HEADERS + 4, 1024),
            f"{MAX_CHALLENGE_HEADERS + 4} WWW-Authenticate headers (limit {MAX_CHALLENGE_HEADERS})",
        ),
        (challenge_flood(1, 4 * 1024), f"more than {MAX_CHALLENGES} authentication challenges"),
        (challenge_flood(9, 8 * 1024), "KiB of headers (limit 64 KiB)"),
    ],
    ids=["one long header", "many headers", "many challenges", "total size"],
)
def test_challenge_limits(reply: Reply, expected: str) -> None:
    with LocalServer(lambda seen: reply) as registry:
        assert expected in _refusal(registry.netloc, NotARegistryError)


def _raw(answer: bytes) -> Reply:
    def write(wfile: Any, stop: Any) -> None:
        wfile.write(answer)
        wfile.flush()

    return Reply(writer=write)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            b"HTTP/1.1 401 X\r\n" + b"X-Junk: a\r\n" * 150 + b"\r\n",
            "sent more than 100 header lines; refusing it",
        ),
        (
            b"HTTP/1.1 401 X\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
            "sent a header line longer than 64 KiB; refusing it",
        ),
        (b"HTTP/1.1 401 " + b"a" * 70_000 + b"\r\n\r\n", "a status line longer than 64 KiB"),
        (b"\x1b]0;pwned\x07 not HTTP\r\n\r\n", "did not answer with an HTTP status line"),
    ],
    ids=["header lines", "header line", "status line", "no status line"],
)
def test_what_http_client_refuses_is_named(answer: bytes, expected: str) -> None:
    with LocalServer(lambda seen: _raw(answer)) as registry:
        assert expected in _refusal(registry.netloc)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("br", "content encoding 'br'"), ("gzip, gzip, gzip", "3 layers of content encoding")],
)
def test_content_encodings_we_do_not_decode_are_named(encoding: str, expected: str) -> None:
    def script(seen: Seen) -> Reply:
        if "Authorization" not in seen.headers:
            return basic_challenge()
        return Reply(200, [("Content-Encoding", encoding)], b"\x00" * 16)

    with LocalServer(script) as registry:
        assert expected in _refusal(registry.netloc, NotARegistryError)
