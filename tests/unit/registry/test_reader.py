"""`reader`: bodies capped before and after inflation, encodings named when refused.

The reader takes urllib3's raw response; here a small stand-in with the same `read` serves
bytes that a real server would send (the real sockets are in tests/integration/hostile)."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from zenml_docker_connector.registry.reader import (
    AnswerRefusedError,
    BodyTooLargeError,
    check_headers,
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
