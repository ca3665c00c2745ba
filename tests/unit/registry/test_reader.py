"""`reader`: header limits and JSON depth measured before anything parses them, bodies
capped before and after inflation, encodings named when refused, and `HttpResponse`.

The reader takes urllib3's raw response; here a small stand-in with the same `read` serves
bytes that a real server would send (the real sockets are in tests/integration/hostile).
"""

from __future__ import annotations

import gzip
import io
import zlib

import pytest
from requests.structures import CaseInsensitiveDict

from zenml_docker_connector.registry.reader import (
    MAX_CHALLENGE_HEADERS,
    MAX_JSON_DEPTH,
    AnswerRefusedError,
    BodyTooLargeError,
    HttpResponse,
    InputLimitError,
    check_headers,
    header_problem,
    json_nesting_bound,
    json_object,
    json_text_field,
    load_json,
    read_body,
)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.reads = 0

    def read(self, amount: int, decode_content: bool = True) -> bytes:
        assert decode_content is False  # urllib3 must never inflate for us
        self.reads += 1
        return self._data.read(amount)


def _read(data: bytes, cap: int = 1024, **headers: str) -> bytes:
    names = {key.replace("_", "-"): value for key, value in headers.items()}
    return read_body(_Raw(data), names, cap)


def test_plain_and_compressed_bodies_are_read() -> None:
    assert _read(b'{"ok": true}') == b'{"ok": true}'
    assert _read(gzip.compress(b"hello"), Content_Encoding="gzip") == b"hello"
    twice = gzip.compress(gzip.compress(b"hello"))
    assert _read(twice, Content_Encoding="gzip, gzip") == b"hello"
    assert _read(zlib.compress(b"hello"), Content_Encoding="deflate") == b"hello"
    assert _read(b"x", Content_Encoding="identity") == b"x"


def test_the_cap_holds_before_and_after_inflation() -> None:
    with pytest.raises(BodyTooLargeError, match="announced 2 KiB"):
        _read(b"", Content_Length="2048")
    with pytest.raises(BodyTooLargeError, match=r"larger than 1 KiB$"):
        _read(b"x" * 2000)
    bomb = gzip.compress(bytes(10 * 1024 * 1024))
    with pytest.raises(BodyTooLargeError, match="once inflated"):
        _read(bomb, 64 * 1024, Content_Encoding="gzip")
    double = gzip.compress(gzip.compress(bytes(10 * 1024 * 1024)))
    with pytest.raises(BodyTooLargeError, match="once inflated"):
        _read(double, 64 * 1024, Content_Encoding="gzip, gzip")


def test_a_refused_raw_stream_is_not_read_on() -> None:
    raw = _Raw(b"x" * 100_000)
    with pytest.raises(BodyTooLargeError):
        read_body(raw, {}, 1024)
    assert raw.reads == 1


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [
        ("br", b"x", "content encoding 'br'"),
        ("gzip, gzip, gzip", b"x", r"3 layers of content encoding \(limit 2\)"),
        ("gzip", b"not gzip at all", "does not inflate"),
    ],
)
def test_encodings_we_cannot_read_are_named(encoding: str, body: bytes, words: str) -> None:
    with pytest.raises(AnswerRefusedError, match=words):
        _read(body, Content_Encoding=encoding)


def test_header_limits_are_checked_as_a_whole() -> None:
    check_headers([("Content-Type", "application/json")])
    with pytest.raises(AnswerRefusedError, match="KiB of headers"):
        check_headers([("X", "y" * 70_000)])


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ('{"a": [1, {"b": "[[[[{{{{"}]}', 3),  # brackets inside strings do not count
        ('{"a": "\\"[[["}', 1),  # nor after an escaped quote
        ("[" * 32 + "]" * 32, 32),
        ("[]" * 1000, 1),
        ("[[]", 2),  # unbalanced: one level more could open
        ("[" * 1000, 1000),
        ("not json", 0),
    ],
)
def test_json_nesting_bound(text: str, bound: int) -> None:
    assert json_nesting_bound(text) == bound


def test_load_json_refuses_deep_input_before_parsing() -> None:
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for deep in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 100_000):
        with pytest.raises(InputLimitError, match=f"more than {MAX_JSON_DEPTH} levels"):
            load_json(deep)
    with pytest.raises(ValueError):
        load_json("{")  # ordinary JSON errors stay ValueErrors


def test_header_problems_are_named() -> None:
    assert header_problem([("Content-Type", "application/json")]) is None
    challenge = ("WWW-Authenticate", 'Basic realm="x"')
    assert header_problem([challenge] * MAX_CHALLENGE_HEADERS) is None
    assert header_problem([challenge] * (MAX_CHALLENGE_HEADERS + 1)) == (
        f"{MAX_CHALLENGE_HEADERS + 1} WWW-Authenticate headers (limit {MAX_CHALLENGE_HEADERS})"
    )
    assert header_problem([("www-authenticate", "B" * 9000)]) == (
        "a WWW-Authenticate header of 8 KiB (limit 8 KiB)"
    )
    assert header_problem([("X-Junk", "j" * 7000)] * 10) == "68 KiB of headers (limit 64 KiB)"


def _response(body: bytes = b"", content_type: str | None = None, **kw: object) -> HttpResponse:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    if content_type is not None:
        headers["Content-Type"] = content_type
    return HttpResponse(
        url=str(kw.get("url", "https://cdn.example/v2/?sig=secret-ish")),
        status=200,
        headers=headers,
        www_authenticate=(),
        body=body,
        redirected=bool(kw.get("redirected", False)),
    )


def test_a_body_that_came_through_a_redirect_is_never_quoted() -> None:
    body = b'{"message": "INTERNAL-ONLY: db_password=hunter2"}'
    assert _response(body).quotable_json() == {"message": "INTERNAL-ONLY: db_password=hunter2"}
    assert _response(body, redirected=True).quotable_json() == {}


@pytest.mark.parametrize(
    ("content_type", "body", "kind"),
    [
        ("text/html; charset=utf-8", b"<html>", "text/html"),
        (None, b"", "empty body"),
        (None, b"???", "unknown content"),
    ],
)
def test_content_kind(content_type: str | None, body: bytes, kind: str) -> None:
    assert _response(body, content_type).content_kind() == kind


def test_content_kind_is_printable_and_bounded() -> None:
    hostile = "text/html\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x9b2J" + "x" * 500
    kind = _response(b"x", hostile).content_kind()
    assert kind.isprintable() and kind == "text/html\\x1b]8"  # the media type ends at ";"
    assert len(_response(b"x", "x" * 500).content_kind()) == 80


def test_repr_leaves_out_headers_and_body() -> None:
    text = repr(_response(b"token-in-body"))
    assert "token-in-body" not in text and "status=200" in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1}', {"a": 1}),
        (b"[1]", None),
        (b"not json", None),
        (b"\xff\xfe", None),
        (b"", None),
        (b"[" * 5000 + b"]" * 5000, None),  # too deep: never reaches `json.loads`
        (b'{"a":' * 2000 + b"1" + b"}" * 2000, None),
    ],
)
def test_json_object(body: bytes, expected: object) -> None:
    assert json_object(body) == expected


def test_json_text_field_only_returns_strings() -> None:
    assert json_text_field(b'{"error": "invalid_grant"}', "error") == "invalid_grant"
    assert json_text_field(b'{"error": 3}', "error") is None
    assert json_text_field(b"[]", "error") is None
