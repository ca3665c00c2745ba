"""A scriptable HTTP(S) server on 127.0.0.1 for answers no real registry gives.

Malformed challenges, HTML pages, oversize token bodies, hung sockets and cross-host
redirects cannot be produced by distribution; these tests still go over real sockets.
"""

from __future__ import annotations

import contextlib
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    hang: bool = False
    """Send nothing and keep the socket open (until the server stops)."""
    hang_after_headers: bool = False
    """Send headers (and a Content-Length it will never fulfil), then nothing."""
    drip: bool = False
    """Announce a long body and send it one byte every 0.2 s (until the server stops)."""
    no_length: bool = False
    """No Content-Length: the body ends when the connection closes."""
    writer: Writer | None = None
    """Write the whole answer (status line included) yourself: `writer(wfile, stop)`, where
    `stop` is set when the server stops. For answers `http.server` cannot produce."""


Writer = Callable[[BinaryIO, threading.Event], None]
Script = Callable[[Seen], Reply]


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer are expected here, not worth a traceback on stderr."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class LocalServer:
    """`ThreadingHTTPServer` on a loopback address (`bind`, default 127.0.0.1) whose answers
    come from `script`."""

    def __init__(
        self,
        script: Script,
        *,
        url_host: str | None = None,
        tls: tuple[Path, Path] | None = None,
        bind: str = "127.0.0.1",
    ) -> None:
        self.script = script
        self.url_host = url_host or bind
        self.seen: list[Seen] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body are written separately: without TCP_NODELAY, Nagle holds the
            # body of every answer on a kept-alive connection until the client's delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                seen = Seen(
                    self.command, url.path, url.query, {k: v for k, v in self.headers.items()}, body
                )
                server.seen.append(seen)
                reply = server.script(seen)
                if reply.hang:
                    server._release.wait(30)
                    self.close_connection = True
                    return
                if reply.writer is not None:
                    # The client may give up (what the hostile answers are for).
                    with contextlib.suppress(OSError):
                        reply.writer(self.wfile, server._release)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                names = {name.lower() for name, _ in reply.headers}
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.drip:
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    while not server._release.wait(0.2):
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            break
                    self.close_connection = True
                    return
                if reply.no_length:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                elif "content-length" not in names:
                    length_value = len(reply.body) + (1000 if reply.hang_after_headers else 0)
                    self.send_header("Content-Length", str(length_value))
                self.end_headers()
                if reply.hang_after_headers:
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                    server._release.wait(30)
                    self.close_connection = True
                    return
                self.wfile.write(reply.body)

            do_GET = _handle
            do_POST = _handle
            do_HEAD = _handle

        self._httpd = _QuietServer((bind, 0), Handler)
        self._httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def netloc(self) -> str:
        return f"{self.url_host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def basic_challenge(realm: str = "fake") -> Reply:
    return Reply(
        401,
        [
            ("WWW-Authenticate", f'Basic realm="{realm}"'),
            ("Docker-Distribution-API-Version", "registry/2.0"),
            ("Content-Type", "application/json"),
        ],
        b'{"errors":[{"code":"UNAUTHORIZED"}]}',
    )


def bearer_challenge(realm: str, service: str = "fake-registry") -> Reply:
    return Reply(
        401,
        [
            ("WWW-Authenticate", f'Bearer realm="{realm}",service="{service}"'),
            ("Docker-Distribution-API-Version", "registry/2.0"),
            ("Content-Type", "application/json"),
        ],
        b'{"errors":[{"code":"UNAUTHORIZED"}]}',
    )


def registry_ok() -> Reply:
    return Reply(
        200,
        [("Docker-Distribution-API-Version", "registry/2.0"), ("Content-Type", "application/json")],
        b"{}",
    )
