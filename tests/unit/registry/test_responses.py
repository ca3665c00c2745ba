"""`HttpResponse` and the lenient readers for its body."""

from __future__ import annotations

import pytest
from requests.structures import CaseInsensitiveDict

from zenml_docker_connector.registry.responses import HttpResponse, json_object, json_text_field


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
