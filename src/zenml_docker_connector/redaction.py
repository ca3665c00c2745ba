"""Removing secrets from text before it reaches a message, a log line or a terminal.

A secret may come back to us echoed by a registry, a token service or a credential helper,
and in the encodings Docker itself uses; every form we know is replaced.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

REDACTED = "********"


def secret_variants(
    secrets: Iterable[str | None], usernames: Iterable[str | None] = ()
) -> list[str]:
    """The forms a secret may leak in: clear text and the base64 encodings Docker uses."""
    clear = [s for s in secrets if s]
    users = [u for u in usernames if u]
    variants: set[str] = set()
    for secret in clear:
        variants.add(secret)
        variants.add(base64.b64encode(secret.encode()).decode())
        for user in users:
            variants.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    # Longest first so that a secret's prefix never leaves the rest of it behind.
    return sorted((v for v in variants if len(v) >= 4), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None], usernames: Iterable[str | None] = ()) -> str:
    """Replace every known form of the given secrets in `text` (usernames stay visible)."""
    for variant in secret_variants(secrets, usernames):
        text = text.replace(variant, REDACTED)
    return text
