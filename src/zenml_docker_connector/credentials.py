"""Credentials as one value: a username, a secret, and whether the secret is an identity token.

Every path handling a password takes this instead of loose strings: the secret has one home
whose `repr` never shows it, and Docker's two Basic encodings are written once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property

from zenml_docker_connector.redaction import Redactor

IDENTITY_TOKEN_USERNAME = "<token>"
"""The username credential helpers (and docker) use when the secret is an identity token."""


@dataclass(frozen=True)
class Credentials:
    """A username and a secret (password, access token or identity token)."""

    username: str | None
    secret: str | None = field(repr=False)
    identity_token: bool = False
    """The secret is an OAuth2 refresh token (docker's `identitytoken`), not a password."""

    @classmethod
    def from_store(cls, username: str, secret: str) -> Credentials:
        """What a credential store returned: the `<token>` username marks an identity token."""
        return cls(username, secret, identity_token=username == IDENTITY_TOKEN_USERNAME)

    @property
    def complete(self) -> bool:
        """A username and a secret are both present (an empty secret still counts)."""
        return bool(self.username) and self.secret is not None

    def who(self) -> str:
        """How messages name these credentials: never the secret, nor the username, which
        ZenML keeps as a secret field too."""
        return "identity token" if self.identity_token else "credentials"

    def basic_value(self) -> str:
        """`base64(username:secret)`: the `auth` value of docker config files."""
        raw = f"{self.username or ''}:{self.secret or ''}".encode()
        return base64.b64encode(raw).decode("ascii")

    def basic_header(self) -> str:
        """The `Authorization` header value for HTTP Basic."""
        return "Basic " + self.basic_value()

    @cached_property
    def redactor(self) -> Redactor:
        """Finds every encoding of the secret (patterns compiled once per credentials)."""
        return Redactor([self.secret], [self.username])

    def redact(self, text: str) -> str:
        """`text` with every known encoding of the secret replaced."""
        return self.redactor.redact(text)
