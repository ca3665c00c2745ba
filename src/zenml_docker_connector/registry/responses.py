"""What the registry code keeps of an HTTP answer, and the lenient readers for its body."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from zenml_docker_connector.printable import clip, printable
from zenml_docker_connector.registry.limits import load_json

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
    """A string field of a JSON object body, or None."""
    value = (json_object(body) or {}).get(name)
    return value if isinstance(value, str) else None
