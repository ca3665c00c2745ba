"""Removing secrets from text before it reaches a message, a log line or a terminal.

A secret may come back to us echoed by a registry, a token service, a redirect target or a
credential helper, in any encoding a server may apply to what it received. One pattern per
secret matches all of them, character by character, so mixtures match too:

- plain text, and the printable escape of each control character (`printable.escape`);
- percent-encoding of each character (either hex case) and form encoding (`+` for a space);
- a run of whitespace in the secret as any run of whitespace forms (a server that collapses
  spaces still echoes the rest of the secret);
- base64 (standard and URL-safe, with or without padding) of the secret and of
  `username:secret` (Docker's `auth` value and Basic header), in the same encodings.

`shown` is the pipeline for one piece of network text: redact, collapse whitespace, redact,
make printable, redact, and only then clip to a length, so a cut or a collapse never leaves
part of a secret behind. A server may also transform the secret before echoing it (collapse
its whitespace, cut it short) so that no pattern of the whole secret matches: network text
that still shares a run of `MIN_RUN` characters with a secret (whitespace collapsed in both;
as written, percent- or form-decoded) is withheld whole. A secret shorter than `MIN_INLINE`
characters cannot be replaced inside text without replacing ordinary letters too; a piece
of network text that contains one in any form, standing on its own (not inside a longer
word, as `p` in `http`), is withheld whole instead. Texts we compose ourselves never contain
a secret;
`redact` is the second line of defence for them and replaces secrets of `MIN_INLINE` or more
characters (and every base64 form, whatever the secret's length).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

from zenml_docker_connector.printable import ELLIPSIS, clip, escape, one_line, printable

REDACTED = "********"
WITHHELD = "[not shown: it may contain the password or token]"
MIN_INLINE = 4
"""Secrets at least this long are replaced where they occur; shorter ones withhold the text."""
MIN_RUN = 6
"""Network text sharing this many consecutive characters with a secret is withheld whole (a
secret shorter than this, whitespace collapsed, only by the rules above)."""
SHOWN_LIMIT = 200
"""Default length of one piece of network text in a message."""

_WHITESPACE_RUN = r"(?:[\s+]|%(?:20|09|0[aAbBcCdD])|\\[tnr]|\\x0[bBcC]){1,16}"
_WHITESPACE_RUN_MAX = 16 * 4
_MAX_CHAR_FORM = 12
"""Longest text one secret character can match: percent-encoding of four UTF-8 bytes."""
_ESCAPED_WHITESPACE = re.compile(r"\\[tnr]")


def secret_variants(
    secrets: Iterable[str | None], usernames: Iterable[str | None] = ()
) -> list[str]:
    """The literal forms a secret may leak in: clear text and the base64 encodings Docker
    uses (standard and URL-safe, padded or not), longest first."""
    clear = [s for s in secrets if s]
    users = [u for u in usernames if u]
    variants: set[str] = set()
    for secret in clear:
        variants.add(secret)
        for raw in (secret, *(f"{user}:{secret}" for user in users)):
            variants.update(_base64_forms(raw.encode("utf-8")))
    return sorted(variants, key=lambda v: (-len(v), v))


def _base64_forms(data: bytes) -> set[str]:
    standard = base64.b64encode(data).decode("ascii")
    urlsafe = base64.urlsafe_b64encode(data).decode("ascii")
    return {standard, urlsafe, standard.rstrip("="), urlsafe.rstrip("=")}


def _char_pattern(ch: str) -> str:
    """One character that is not whitespace (`_WHITESPACE_RUN` covers those, `+` included)."""
    forms = {re.escape(ch)}
    if not ch.isprintable():
        forms.add(re.escape(escape(ch)))
    forms.add("".join(f"%[{b >> 4:X}{b >> 4:x}][{b & 15:X}{b & 15:x}]" for b in ch.encode()))
    return "(?:" + "|".join(sorted(forms)) + ")"


def _literal_pattern(literal: str) -> tuple[str, int]:
    """A pattern matching `literal` in every encoding above, and its longest match."""
    parts: list[str] = []
    longest = 0
    previous_space = False
    for ch in literal:
        if ch.isspace():
            if not previous_space:
                parts.append(_WHITESPACE_RUN)
                longest += _WHITESPACE_RUN_MAX
            previous_space = True
            continue
        previous_space = False
        parts.append(_char_pattern(ch))
        longest += _MAX_CHAR_FORM
    return "".join(parts), longest


class Redactor:
    """Finds and replaces every form of some secrets; patterns are compiled on first use."""

    def __init__(self, secrets: Iterable[str | None], usernames: Iterable[str | None] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)
        self._usernames = tuple(u for u in usernames if u)
        self._compiled: tuple[re.Pattern[str] | None, re.Pattern[str] | None, int] | None = None
        self._runs: frozenset[str] | None = None

    def _patterns(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None, int]:
        """(inline pattern, short-secret pattern, longest possible match)."""
        if self._compiled is None:
            inline: list[str] = []
            short: list[str] = []
            longest = 0
            for variant in secret_variants(self._secrets, self._usernames):
                pattern, length = _literal_pattern(variant)
                longest = max(longest, length)
                if variant in self._secrets and len(variant) < MIN_INLINE:
                    short.append(rf"(?<!\w)(?:{pattern})(?!\w)")
                else:
                    inline.append(pattern)
            self._compiled = (
                re.compile("|".join(inline)) if inline else None,
                re.compile("|".join(short)) if short else None,
                longest,
            )
        return self._compiled

    def redact(self, text: str) -> str:
        """`text` with every form of each secret (of `MIN_INLINE`+ characters) replaced."""
        inline, _short, _longest = self._patterns()
        return inline.sub(REDACTED, text) if inline is not None else text

    def reveals_short_secret(self, text: str) -> bool:
        """Does `text` contain a secret too short to replace inline, in any form, standing
        on its own (not as a part of a longer word)?"""
        _inline, short, _longest = self._patterns()
        return short is not None and short.search(text) is not None

    def shares_run(self, text: str) -> bool:
        """Does `text` hold `MIN_RUN` consecutive characters of a secret, whitespace collapsed
        in both, as written or percent-, form- or backslash-decoded (a transformed echo)?"""
        if self._runs is None:
            flats = [one_line(secret) for secret in self._secrets]
            self._runs = frozenset(
                run[i : i + MIN_RUN] for run in flats for i in range(len(run) - MIN_RUN + 1)
            )
        if not self._runs:
            return False
        decoded = _ESCAPED_WHITESPACE.sub(" ", text)
        for form in {text, decoded, unquote(decoded), unquote_plus(decoded)}:
            flat = one_line(form)
            if any(flat[i : i + MIN_RUN] in self._runs for i in range(len(flat) - MIN_RUN + 1)):
                return True
        return False

    def shown(self, text: str, limit: int = SHOWN_LIMIT) -> str:
        """One piece of network text, safe for a message: redacted after every step, on one
        line, printable, at most `limit` characters; withheld if a short secret or a run of
        a secret is left in it. Only the first `max(4 * limit, 1024)` characters are read (a
        longer text is cut there, marked `…`), so a huge answer costs no more than that."""
        if not self._secrets:
            return clip(printable(one_line(text)), limit)
        text = self._bounded(text, max(4 * limit, 1024))
        withheld = False
        for step in (one_line, printable):
            text = self.redact(step(text))
            withheld = withheld or self.shares_run(text)
        if withheld or self.reveals_short_secret(text):
            return WITHHELD
        return clip(text, limit)

    def _bounded(self, text: str, end: int) -> str:
        """Redacted `text[:end]`: a match starting before `end` is found in full, so cutting
        the rest away never leaves the beginning of a secret behind."""
        inline, short, longest = self._patterns()
        if len(text) <= end:
            return self.redact(text)
        window = text[: end + longest]
        if short is not None and short.search(window) is not None:
            return WITHHELD
        assert inline is not None  # every secret has base64 forms of 4+ characters
        pieces: list[str] = []
        last = 0
        for match in inline.finditer(window):
            if match.start() >= end:
                break
            pieces.extend((window[last : match.start()], REDACTED))
            last = match.end()
        if last < end:
            pieces.append(window[last:end])
        return "".join(pieces) + ELLIPSIS


def redact(text: str, secrets: Iterable[str | None], usernames: Iterable[str | None] = ()) -> str:
    """Replace every known form of the given secrets in `text` (usernames stay visible)."""
    return Redactor(secrets, usernames).redact(text)


def shown(
    text: str,
    secrets: Iterable[str | None] = (),
    usernames: Iterable[str | None] = (),
    limit: int = SHOWN_LIMIT,
) -> str:
    """`Redactor.shown` for a one-off piece of network text."""
    return Redactor(secrets, usernames).shown(text, limit)
