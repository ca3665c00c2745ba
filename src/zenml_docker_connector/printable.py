"""Making text from the network (or a user's file) safe to print: the one place that does it.

A registry, its token service or a redirect target may put anything in a header, a JSON field
or a URL. Before such text reaches a message, a log line or a terminal, every character
Python does not consider printable is shown escaped the way `repr` shows it: C0 controls
(ESC, so CSI/OSC sequences such as OSC 8 hyperlinks or OSC 52 clipboard writes, BEL, CR,
backspace, newlines), DEL, C1 controls (U+0080-U+009F, among them the single-character CSI
U+009B and OSC U+009D), and format or separator characters (bidirectional overrides,
zero-width spaces, U+2028). The escape starts with a backslash and so cannot act on a
terminal; ordinary text, including non-ASCII letters, is kept as it is.

`clip` and `one_line` shorten and flatten text; callers that may hold a secret redact
*before* calling them (see `redaction.shown`), so that a cut or a collapsed run of spaces
never leaves part of a secret behind.
"""

from __future__ import annotations

ELLIPSIS = "…"


def printable(text: str) -> str:
    """`text` with every non-printable character escaped (`\\x1b`, `\\x9b`, `\\u202e`)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else escape(ch) for ch in text)


def escape(ch: str) -> str:
    """How one non-printable character is shown: as `repr` writes it, without quotes (for a
    non-printable character that is always `\\t`, `\\n`, `\\r`, `\\xNN`, `\\uNNNN` or
    `\\UNNNNNNNN`, since `repr` escapes exactly what `str.isprintable` rejects)."""
    return repr(ch)[1:-1]


def one_line(text: str) -> str:
    """Runs of whitespace (spaces, tabs, newlines) become one space; ends are trimmed."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, an ellipsis marking a cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS
