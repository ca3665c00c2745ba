"""One request about to be sent: what it carries, and to whom (registry or token service)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Role = Literal["registry", "token"]
PeerRule = Literal["any", "loopback", "public"]
"""What address a request's connection must reach (decided by `policy`)."""

DEFAULT_MAX_BODY = 64 * 1024
"""Registry answers we read are small JSON documents; larger bodies are refused unread."""


@dataclass(frozen=True)
class Outgoing:
    """A request before it is sent; the `Authorization` value never shows in `repr`."""

    method: str
    url: str
    role: Role = "registry"
    authorization: str | None = field(default=None, repr=False)
    """A complete `Authorization` header value."""
    auth_label: str = ""
    """What `authorization` is, for step logs ("Basic", "bearer token"), never its value."""
    form: Mapping[str, str] | None = field(default=None, repr=False)
    """A form body (token POSTs)."""
    form_has_credentials: bool = False
    params: tuple[tuple[str, str], ...] = ()
    max_body: int = DEFAULT_MAX_BODY
    peer: PeerRule = "any"

    @property
    def carries_credentials(self) -> bool:
        return self.authorization is not None or self.form_has_credentials

    def without_authorization(self) -> Outgoing:
        return replace(self, authorization=None, auth_label="")


def role_text(role: Role) -> str:
    """How messages name the server a request went to."""
    return "registry" if role == "registry" else "token service"
