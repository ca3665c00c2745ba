"""The one bounded reader every answer goes through, and what we keep of an answer.

`requests` would read a redirect's whole body and let urllib3 inflate without bound, so the
transport sends with `HTTPAdapter.send` and reads here. Real answers carry a few hundred bytes
of headers, one or two challenges and JSON three or four levels deep; the limits are far above
that and far below noticeable CPU or memory, and each refusal says which:

- headers, before anything parses them: `MAX_HEADER_BYTES` in all, `MAX_CHALLENGE_HEADERS`
  `WWW-Authenticate` headers of at most `MAX_CHALLENGE_HEADER` each, `MAX_CHALLENGES`
  challenges between them (`http.client` itself stops at 100 lines of 64 KiB);
- the body, stopping as soon as it passes its cap (a larger `Content-Length` is refused
  unread); `gzip`/`deflate` (at most `MAX_ENCODING_LAYERS`, as Docker) are inflated here with
  zlib's `max_length`, each layer capped, so a gzip bomb costs at most the cap per layer; other
  codings are refused (we announce `Accept-Encoding: gzip`, as Docker does);
- JSON nested deeper than `MAX_JSON_DEPTH` is refused before parsing: `json` recurses per
  level and raises `RecursionError` near 1,000.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from zenml_docker_connector.printable import clip, printable

MAX_HEADER_BYTES = 64 * 1024
MAX_CHALLENGE_HEADERS = 16
MAX_CHALLENGE_HEADER = 8 * 1024
MAX_CHALLENGES = 16
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


class InputLimitError(ValueError):
    """Parsed input over one of the limits above; `str()` says which, in words."""


def header_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """What is wrong with an answer's headers, or None when they are within the limits."""
    size = 0
    challenge_headers = 0
    for name, value in headers:
        size += len(name) + len(value) + 4
        if name.lower() == "www-authenticate":
            challenge_headers += 1
            if len(value) > MAX_CHALLENGE_HEADER:
                return (
                    f"a WWW-Authenticate header of {len(value) // 1024} KiB "
                    f"(limit {MAX_CHALLENGE_HEADER // 1024} KiB)"
                )
    if size > MAX_HEADER_BYTES:
        return f"{size // 1024} KiB of headers (limit {MAX_HEADER_BYTES // 1024} KiB)"
    if challenge_headers > MAX_CHALLENGE_HEADERS:
        return f"{challenge_headers} WWW-Authenticate headers (limit {MAX_CHALLENGE_HEADERS})"
    return None


def json_nesting_bound(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """An upper bound of how deeply a parser would nest in `text`, exact up to `limit`.

    Brackets inside strings do not count. Innermost `[]`/`{}` pairs are removed once per
    level (fast string operations even on a MiB of input); brackets left unmatched could
    each open one more level.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    brackets = brackets.replace("{", "[").replace("}", "]")
    levels = 0
    while levels <= limit and "[]" in brackets:
        brackets = brackets.replace("[]", "")
        levels += 1
    return levels + len(brackets)


TOO_DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def load_json(text: str) -> Any:
    """`json.loads` that refuses nesting deeper than `MAX_JSON_DEPTH` (`InputLimitError`)."""
    if json_nesting_bound(text) > MAX_JSON_DEPTH:
        raise InputLimitError(TOO_DEEP)
    return json.loads(text)


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
    """Refuse headers over the limits (before any of them is parsed)."""
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
    is_json = body.lstrip()[:1] in (b"{", b"[")
    if is_json and json_nesting_bound(body.decode("utf-8", "replace")) > MAX_JSON_DEPTH:
        raise AnswerRefusedError(TOO_DEEP)
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
        return self._count(self._zlib.decompress, data, self._cap - self._produced + 1)

    def finish(self) -> bytes:
        return self._count(self._zlib.flush)

    def _count(self, inflate: Callable[..., bytes], *args: Any) -> bytes:
        try:
            out = inflate(*args)
        except zlib.error as error:
            raise AnswerRefusedError(f"a compressed body that does not inflate ({error})") from None
        self._produced += len(out)
        if self._produced > self._cap:
            raise BodyTooLargeError(f"an answer larger than {self._cap // 1024} KiB once inflated")
        return out


CONTENT_TYPE_LIMIT = 80


def _printable_clip(text: str, limit: int = 200) -> str:
    return clip(printable(text), limit)


@dataclass(frozen=True)
class HttpResponse:
    """A final answer (after redirects); the body is capped and fully read."""

    url: str
    status: int
    headers: CaseInsensitiveDict[str] = field(repr=False)
    www_authenticate: tuple[str, ...]
    body: bytes = field(repr=False)
    redirected: bool = False
    """The answer came through a redirect: its body is never quoted in a message."""
    shown: Callable[[str, int], str] = field(default=_printable_clip, repr=False, compare=False)
    """How network text from this answer is shown (the transport's redacting `shown`)."""

    def content_kind(self) -> str:
        """The media type, for messages about answers that are not what we expected."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type:
            return self.shown(content_type, CONTENT_TYPE_LIMIT)
        return "empty body" if not self.body else "unknown content"

    def quotable_json(self) -> dict[str, Any]:
        """The JSON object body when it may be quoted (not after a redirect), else {}."""
        return {} if self.redirected else (json_object(self.body) or {})


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else (or nested too deeply:
    the transport refuses such answers with a message before this is reached)."""
    try:
        data = load_json(body.decode("utf-8"))
    except ValueError:  # not UTF-8, not JSON, or nested too deeply (`InputLimitError`)
        return None
    return data if isinstance(data, dict) else None


def json_text_field(body: bytes, name: str) -> str | None:
    value = (json_object(body) or {}).get(name)
    return value if isinstance(value, str) else None
