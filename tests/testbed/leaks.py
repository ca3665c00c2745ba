"""The one check that a text holds no secret, in any form the connector could leak it in.

Written independently of `zenml_docker_connector.redaction` on purpose: a test must not trust
the code under test to say which forms count.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable


def secret_forms(secret: str, usernames: Iterable[str] = ()) -> list[str]:
    """The secret in clear, base64 of it, and base64 of `user:secret` for each username."""
    forms = [secret, base64.b64encode(secret.encode()).decode()]
    forms += [base64.b64encode(f"{user}:{secret}".encode()).decode() for user in usernames]
    return forms


def assert_no_secret(
    texts: str | Iterable[str], *secrets: str, usernames: Iterable[str] = ()
) -> None:
    """No text contains any form (see `secret_forms`) of any of the secrets."""
    shown = [texts] if isinstance(texts, str) else list(texts)
    users = list(usernames)
    for number, secret in enumerate(secrets):
        if not secret:
            continue
        for kind, form in enumerate(secret_forms(secret, users)):
            for index, text in enumerate(shown):
                # The message names positions only: printing the text would print the secret.
                assert form not in text, f"form {kind} of secret {number} is in text {index}"
