"""Bounds on what we parse from the network, each refused with a message saying which.

Real registries and token services send a few hundred bytes of headers, one or two
challenges and JSON three or four levels deep; these limits are far above that and far
below what costs noticeable CPU or memory:

- `MAX_HEADER_BYTES` (64 KiB) of header names and values in one answer, at most
  `MAX_CHALLENGE_HEADERS` `WWW-Authenticate` headers, each at most `MAX_CHALLENGE_HEADER`
  (8 KiB), with at most `MAX_CHALLENGES` challenges between them (`challenges`). Python's
  `http.client` itself stops at 100 header lines of 64 KiB each while reading.
- `MAX_JSON_DEPTH` (32) levels of nesting: Python's `json` recurses per level and raises
  `RecursionError` near 1,000, so the depth is measured before parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MAX_HEADER_BYTES = 64 * 1024
MAX_CHALLENGE_HEADERS = 16
MAX_CHALLENGE_HEADER = 8 * 1024
MAX_CHALLENGES = 16
MAX_JSON_DEPTH = 32

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


class InputLimitError(ValueError):
    """Parsed input over one of the limits above; `str()` says which, in words."""


def header_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """What is wrong with an answer's headers, or None when they are within the limits."""
    size = 0
    challenge_headers = 0
    for name, value in headers:
        size += len(name) + len(value) + 4
        if name.lower() == "www-authenticate":
            challenge_headers += 1
            if len(value) > MAX_CHALLENGE_HEADER:
                return (
                    f"a WWW-Authenticate header of {len(value) // 1024} KiB "
                    f"(limit {MAX_CHALLENGE_HEADER // 1024} KiB)"
                )
    if size > MAX_HEADER_BYTES:
        return f"{size // 1024} KiB of headers (limit {MAX_HEADER_BYTES // 1024} KiB)"
    if challenge_headers > MAX_CHALLENGE_HEADERS:
        return f"{challenge_headers} WWW-Authenticate headers (limit {MAX_CHALLENGE_HEADERS})"
    return None


def json_nesting_bound(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """An upper bound of how deeply a parser would nest in `text`, exact up to `limit`.

    Brackets inside strings do not count. Innermost `[]`/`{}` pairs are removed once per
    level (fast string operations even on a MiB of input); brackets left unmatched could
    each open one more level.
    """
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    brackets = brackets.replace("{", "[").replace("}", "]")
    levels = 0
    while levels <= limit and "[]" in brackets:
        brackets = brackets.replace("[]", "")
        levels += 1
    return levels + len(brackets)


def json_problem(text: str) -> str | None:
    """What is wrong with `text` as JSON we would parse, or None (within the limits)."""
    if json_nesting_bound(text) > MAX_JSON_DEPTH:
        return f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    return None


def load_json(text: str) -> Any:
    """`json.loads` that refuses nesting deeper than `MAX_JSON_DEPTH` (`InputLimitError`)."""
    problem = json_problem(text)
    if problem is not None:
        raise InputLimitError(problem)
    return json.loads(text)
