"""What the registry code keeps of an HTTP answer, and the lenient readers for its body."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from zenml_docker_connector.registry.urls import shown_url


@dataclass(frozen=True)
class HttpResponse:
    """A final answer (after redirects); the body is capped and fully read."""

    url: str
    status: int
    headers: CaseInsensitiveDict[str] = field(repr=False)
    www_authenticate: tuple[str, ...]
    body: bytes = field(repr=False)
    credentials_dropped: bool = False
    """A redirect to another origin was followed without our credentials."""

    def redirect_note(self) -> str:
        """Message text for an answer that came after credentials were dropped."""
        if not self.credentials_dropped:
            return ""
        return (
            " (after a redirect to another host, to which credentials are never forwarded: "
            f"{shown_url(self.url)})"
        )

    def content_kind(self) -> str:
        """The media type, for messages about answers that are not what we expected."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type:
            return content_type
        return "empty body" if not self.body else "unknown content"


def json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is anything else."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def json_text_field(body: bytes, name: str) -> str | None:
    """A string field of a JSON object body, or None."""
    value = (json_object(body) or {}).get(name)
    return value if isinstance(value, str) else None
