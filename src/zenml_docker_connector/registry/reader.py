"""The one bounded reader every answer goes through, redirect replies included.

`requests` would read a redirect's whole body itself and let urllib3 inflate compressed
bodies without bound; the transport therefore sends with `HTTPAdapter.send` (no redirect
handling, no decoding) and reads here:

- headers first: their total size, the number of `WWW-Authenticate` headers and their length
  are checked against `limits` before anything parses them;
- the body in pieces, stopping as soon as it passes its cap (a declared `Content-Length` over
  the cap is refused unread); compressed bodies (`gzip`, `deflate`, at most
  `MAX_ENCODING_LAYERS` layers, as Docker accepts) are inflated here with zlib's
  `max_length`, each layer capped too, so a gzip bomb costs at most the cap per layer;
- a body that looks like JSON is refused when it nests deeper than `limits` allow, before
  any JSON parser sees it;
- time is bounded by the transport's deadline watchdog, which cuts the socket.

Other content codings are refused: we announce `Accept-Encoding: gzip`, as Docker does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from zenml_docker_connector.registry.limits import header_problem, json_problem

MAX_ENCODING_LAYERS = 2
ACCEPT_ENCODING = "gzip"
_CHUNK = 16 * 1024
_ZLIB_OR_GZIP = 32 + zlib.MAX_WBITS
"""zlib's window bits for "gzip or zlib header, detected"."""


class AnswerRefusedError(Exception):
    """An answer outside our bounds; `str()` names it (\"an answer larger than 64 KiB\")."""


class BodyTooLargeError(AnswerRefusedError):
    """More body than the cap allows (declared, received or inflated)."""


def check_headers(headers: Iterable[tuple[str, str]]) -> None:
    """Refuse headers over the `limits` (before any of them is parsed)."""
    problem = header_problem(headers)
    if problem is not None:
        raise AnswerRefusedError(problem)


def read_body(raw: Any, headers: Any, cap: int) -> bytes:
    """The body of urllib3 response `raw`, decoded, at most `cap` bytes."""
    declared = str(headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLargeError(
            f"an answer larger than {cap // 1024} KiB (it announced {int(declared) // 1024} KiB)"
        )
    layers = [_Inflater(cap) for _ in _codings(str(headers.get("Content-Encoding") or ""))]
    pieces: list[bytes] = []
    received = 0
    while True:
        data: bytes = raw.read(_CHUNK, decode_content=False)
        if not data:
            break
        received += len(data)
        if received > cap:
            raise BodyTooLargeError(f"an answer larger than {cap // 1024} KiB")
        for layer in layers:
            data = layer.feed(data)
        pieces.append(data)
    tail = b""
    for layer in layers:
        tail = layer.feed(tail) + layer.finish()
    pieces.append(tail)
    body = b"".join(pieces)
    if body.lstrip()[:1] in (b"{", b"["):
        problem = json_problem(body.decode("utf-8", "replace"))
        if problem is not None:
            raise AnswerRefusedError(problem)
    return body


def _codings(header: str) -> list[str]:
    """Content codings to undo, outermost first (the header lists them in applied order)."""
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    for coding in codings:
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise AnswerRefusedError(
                f"a body in the content encoding {coding[:40]!r}, which the connector does not "
                "decode"
            )
    if len(codings) > MAX_ENCODING_LAYERS:
        raise AnswerRefusedError(
            f"a body in {len(codings)} layers of content encoding (limit {MAX_ENCODING_LAYERS})"
        )
    return list(reversed(codings))


class _Inflater:
    """One compression layer, never producing more than the cap in total."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._produced = 0
        self._zlib = zlib.decompressobj(_ZLIB_OR_GZIP)

    def feed(self, data: bytes) -> bytes:
        if not data or self._zlib.eof:
            return b""
        try:
            out = self._zlib.decompress(data, self._cap - self._produced + 1)
        except zlib.error as error:
            raise AnswerRefusedError(f"a compressed body that does not inflate ({error})") from None
        return self._count(out)

    def finish(self) -> bytes:
        try:
            return self._count(self._zlib.flush())
        except zlib.error as error:
            raise AnswerRefusedError(f"a compressed body that does not inflate ({error})") from None

    def _count(self, out: bytes) -> bytes:
        self._produced += len(out)
        if self._produced > self._cap:
            raise BodyTooLargeError(f"an answer larger than {self._cap // 1024} KiB once inflated")
        return out
