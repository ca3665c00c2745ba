"""TCP connections a client process opens, from `strace -f -e trace=connect`.

The registries' logs only see HTTP requests; a client that first tries https:// on a
plain-HTTP registry (the docker CLI, skopeo) pays a TCP + TLS round trip that never becomes
a request. Counting `connect()` calls per port shows those too. Optional: without strace
(or when ptrace is not allowed) the column says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

_CONNECT = re.compile(r"connect\(\d+, \{sa_family=AF_INET6?, sin6?_port=htons\((\d+)\)")


def strace_available() -> str | None:
    """None when usable, else why not."""
    program = shutil.which("strace")
    if program is None:
        return "strace not installed"
    probe = subprocess.run(
        [program, "-f", "-qq", "-e", "trace=connect", "-o", "/dev/null", "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"strace unusable: {probe.stderr.strip()[:100]}"
    return None


def strace_prefix(trace: Path) -> tuple[str, ...]:
    """Command prefix that records every connect() of the program and its children."""
    return ("strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace))


def connects_by_port(trace: Path) -> Counter[int]:
    """connect() calls per destination port in a trace written through `strace_prefix`."""
    text = trace.read_text(errors="replace") if trace.exists() else ""
    return Counter(int(port) for port in _CONNECT.findall(text))
