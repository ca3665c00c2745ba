"""The one check that a text holds no secret, in any form the connector could leak it in, and
the shapes in which a hostile server echoes a secret back.

Written independently of `zenml_docker_connector.redaction` on purpose: a test must not trust
the code under test to say which forms count.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus


def secret_forms(secret: str, usernames: Iterable[str] = ()) -> list[str]:
    """The secret in clear, percent- and form-encoded, base64 of it, and base64 of
    `user:secret` for each username."""
    forms = [secret, quote(secret, safe=""), quote_plus(secret)]
    forms.append(base64.b64encode(secret.encode()).decode())
    forms += [base64.b64encode(f"{user}:{secret}".encode()).decode() for user in usernames]
    return list(dict.fromkeys(forms))


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


def assert_no_secret_fragment(texts: str | Iterable[str], secret: str, length: int = 5) -> None:
    """No text contains `length` consecutive characters of `secret` (a cut-off secret)."""
    shown = [texts] if isinstance(texts, str) else list(texts)
    for start in range(len(secret) - length + 1):
        piece = secret[start : start + length]
        for index, text in enumerate(shown):
            assert piece not in text, f"characters {start}..{start + length} are in text {index}"


def echo_shapes(secret: str, user: str) -> dict[str, str]:
    """How a server may send a secret back, by name: the encodings it received it in, the
    ones servers apply to what they quote, and mixtures."""
    basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {
        "plain": secret,
        "percent": quote(secret, safe=""),
        "percent, lower-case hex": re.sub(
            "%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe="")
        ),
        "percent, '/' kept": quote(secret),
        "form": quote_plus(secret),
        "base64 user:pass": basic,
        "base64 in a Basic header": f"Basic {basic}",
        "base64 url-safe unpadded": base64.urlsafe_b64encode(secret.encode()).decode().rstrip("="),
        "base64 percent-encoded": quote(basic, safe=""),
        "whitespace collapsed": " ".join(secret.split()),
        "whitespace tripled": "   ".join(secret.split()),
        "tab written as \\t": secret.replace("\t", "\\t"),
    }


def assert_no_collapsed_run(texts: str | Iterable[str], secret: str, length: int = 6) -> None:
    """No text shares `length` consecutive characters with `secret` once whitespace is
    collapsed in both (what a server that collapses and cuts an echo leaves of it)."""
    shown = [" ".join(t.split()) for t in ([texts] if isinstance(texts, str) else texts)]
    flat = " ".join(secret.split())
    for start in range(len(flat) - length + 1):
        piece = flat[start : start + length]
        for index, text in enumerate(shown):
            assert piece not in text, f"characters {start}..{start + length} are in text {index}"


def transformed_echoes(secret: str) -> dict[str, str]:
    """A secret as a server that collapses whitespace and cuts text short repeats it."""
    flat = " ".join(secret.split())
    return {
        "collapsed, end cut off": flat[:-3],
        "collapsed, start cut off": flat[3:],
        "collapsed, both ends cut off": flat[3:-2],
        "collapsed, six characters": flat[-6:],
        "collapsed, cut, percent-encoded": quote(flat[:-3], safe=""),
    }
