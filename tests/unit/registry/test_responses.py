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
        credentials_dropped=bool(kw.get("dropped", False)),
    )


def test_redirect_note_only_after_dropping_credentials() -> None:
    assert _response().redirect_note() == ""
    note = _response(dropped=True).redirect_note()
    assert "never forwarded: https://cdn.example/v2/)" in note and "sig=" not in note


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
    ],
)
def test_json_object(body: bytes, expected: object) -> None:
    assert json_object(body) == expected


def test_json_text_field_only_returns_strings() -> None:
    assert json_text_field(b'{"error": "invalid_grant"}', "error") == "invalid_grant"
    assert json_text_field(b'{"error": 3}', "error") is None
    assert json_text_field(b"[]", "error") is None
