"""`printable`: the one place that makes network text safe for a terminal."""

from __future__ import annotations

import pytest

from zenml_docker_connector.printable import clip, one_line, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, ünïcödé ok", "plain text, ünïcödé ok"),
        ("\x1b]0;owned\x07title", "\\x1b]0;owned\\x07title"),  # window title
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52 clipboard write
        ("\x1b]8;;https://evil\x1b\\link", "\\x1b]8;;https://evil\\x1b\\link"),  # OSC 8
        ("\x1b[2K\rfake", "\\x1b[2K\\rfake"),  # erase line, carriage return
        ("\x9b31m\x9d0;x\x07", "\\x9b31m\\x9d0;x\\x07"),  # C1 CSI and OSC
        ("a\tb\nc\x7f\x00", "a\\tb\\nc\\x7f\\x00"),
        ("\u202eevil\u200b\u2028", "\\u202eevil\\u200b\\u2028"),  # bidi override, zero width
        ("\U000e0041", "\\U000e0041"),
    ],
)
def test_every_non_printable_character_is_shown_escaped(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # idempotent: an escape is plain text


def test_one_line_and_clip() -> None:
    assert one_line("  a \t\n b  ") == "a b"
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"
