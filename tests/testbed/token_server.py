"""A Docker token server (GET with Basic auth, OAuth2 POST) for distribution's `auth.token`.

It runs in the test process on a loopback port, so tests can change users, permissions,
lifetimes and behaviour (e.g. `oauth_post_enabled = False` to force the GET fallback) while it
runs. Every request is recorded before its response is sent, so counts need no waiting.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import json
import secrets
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from testbed.certs import Issued
from testbed.net import LOOPBACK
from testbed.secret_scan import register_secret
from testbed.tokens import (
    DEFAULT_PERMISSIONS,
    Permissions,
    build_claims,
    grant,
    parse_scopes,
    sign_jwt,
)

BASIC_REALM = "testbed-token"


@dataclass(frozen=True)
class TokenParams:
    """What a token request asked for. `grant` is "basic", "anonymous" (GET) or the POST
    `grant_type` ("password", "refresh_token", anything else as sent)."""

    grant: str
    username: str | None = None
    service: str | None = None
    scopes: tuple[str, ...] = ()
    client_id: str | None = None
    offline: bool = False


class TokenRequest(NamedTuple):
    method: str
    path: str
    status: int
    params: TokenParams


@dataclass
class TokenUser:
    password: str
    permissions: Permissions = DEFAULT_PERMISSIONS


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, detail: str, challenge: bool = False) -> _Reply:
    body = {
        "error": code,
        "error_description": detail,
        "details": detail,
        "errors": [{"code": code.upper(), "message": detail}],
    }
    headers = {"WWW-Authenticate": f'Basic realm="{BASIC_REALM}"'} if challenge else {}
    return _Reply(status, body, headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    user, _, password = decoded.partition(":")
    return user, password


def _first(values: Mapping[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[0] if found else None


class TokenServer:
    """Issues RS256 tokens the registry trusts (the signer's cert is its `rootcertbundle`).

    Switches, flipped on the shared server with `monkeypatch.setattr`: `expires_in`,
    `oauth_post_enabled` with `post_disabled_status` (404; GHCR answers 405),
    `allow_anonymous`, `refresh_tokens_enabled`.
    """

    def __init__(
        self,
        signer: Issued,
        *,
        service: str = "testbed-registry",
        issuer: str = "testbed-token-issuer",
        path: str = "/token",
        host: str = LOOPBACK,
        tls: Issued | None = None,
    ) -> None:
        """`host` is the loopback address to listen on; with `tls` (a server certificate)
        it serves HTTPS, the handshake done in each request's thread."""
        self.signer = signer
        self.host = host
        self.tls = tls
        self.service = service
        self.issuer = issuer
        self.path = path
        self.advertised_url: str | None = None
        """The URL clients reach this server at, when not `url` (a proxy in front): the
        realm names it. Set before a registry is started with this server."""
        self.expires_in = 300
        self.oauth_post_enabled = True
        self.post_disabled_status = 404
        self.allow_anonymous = True
        # With refresh tokens, `docker login` stores an identity token ("<token>"), not the
        # password; switch off to behave like registries that never hand them out.
        self.refresh_tokens_enabled = True
        self.users: dict[str, TokenUser] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._log: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> TokenServer:
        handler = type("Handler", (_Handler,), {"token_server": self})
        # A listen backlog like a production server's (Python's default is 5): bursts of
        # concurrent checks must not see connection resets a real token service never gives.
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._httpd = server_class((self.host, 0), handler)
        self._httpd.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls.cert_path), str(self.tls.key_path))
            self._httpd.socket = context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="testbed-token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "token server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def realm(self) -> str:
        return f"{self.advertised_url or self.url}{self.path}"

    # -- users -----------------------------------------------------------------------------
    def add_user(
        self, user: str, password: str, permissions: Permissions = DEFAULT_PERMISSIONS
    ) -> None:
        register_secret(password, "token server password", [user])
        with self._lock:
            self.users[user] = TokenUser(password, permissions)

    def set_password(self, user: str, password: str) -> None:
        """Change the password and revoke the user's refresh tokens, like a rotated secret."""
        register_secret(password, "token server password", [user])
        with self._lock:
            self.users[user].password = password
            self._revoke(user)

    def set_permissions(self, user: str, permissions: Permissions) -> None:
        with self._lock:
            self.users[user].permissions = permissions

    def remove_user(self, user: str) -> None:
        with self._lock:
            self.users.pop(user, None)
            self._revoke(user)

    def _revoke(self, user: str) -> None:
        for token in [t for t, owner in self._refresh_tokens.items() if owner == user]:
            del self._refresh_tokens[token]

    # -- tokens ----------------------------------------------------------------------------
    def issue(
        self,
        subject: str,
        access: list[dict[str, Any]],
        *,
        expires_in: int | None = None,
        **overrides: Any,
    ) -> str:
        """A signed token; `overrides` replace claims (e.g. `aud=["x"]`) to craft bad ones."""
        claims = build_claims(
            issuer=self.issuer,
            service=self.service,
            subject=subject,
            access=access,
            expires_in=self.expires_in if expires_in is None else expires_in,
        )
        claims.update(overrides)
        return register_secret(sign_jwt(self.signer, claims), "registry token")

    def _new_refresh_token(self, user: str) -> str:
        token = register_secret(secrets.token_urlsafe(24), "refresh token", ["<token>"])
        self._refresh_tokens[token] = user
        return token

    def _authenticate(self, user: str, password: str) -> bool:
        known = self.users.get(user)
        return known is not None and secrets.compare_digest(known.password, password)

    def _token_body(self, subject: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        known = self.users.get(subject)
        access = grant(known.permissions if known else None, parse_scopes(scopes))
        issued_at = datetime.datetime.now(datetime.timezone.utc)
        token = self.issue(subject, access)
        return {
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": issued_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }

    # -- request handling ------------------------------------------------------------------
    def _service_mismatch(self, service: str | None) -> _Reply | None:
        if service is not None and service != self.service:
            return _error(400, "invalid_request", f"unknown service {service!r}")
        return None

    def handle_get(
        self, query: Mapping[str, list[str]], auth: str | None
    ) -> tuple[_Reply, TokenParams]:
        credentials = _basic_credentials(auth)
        params = TokenParams(
            grant="basic" if credentials else "anonymous",
            username=credentials[0] if credentials else _first(query, "account"),
            service=_first(query, "service"),
            scopes=tuple(query.get("scope", [])),
            client_id=_first(query, "client_id"),
            offline=(_first(query, "offline_token") or "").lower() == "true",
        )
        with self._lock:
            if mismatch := self._service_mismatch(params.service):
                return mismatch, params
            if credentials is None:
                if not self.allow_anonymous:
                    reply = _error(401, "unauthorized", "authentication required", True)
                    return reply, params
                body = self._token_body("", ())
            elif not self._authenticate(*credentials):
                reply = _error(401, "unauthorized", "incorrect username or password", True)
                return reply, params
            else:
                body = self._token_body(credentials[0], params.scopes)
                if params.offline and self.refresh_tokens_enabled:
                    body["refresh_token"] = self._new_refresh_token(credentials[0])
        body["token"] = body["access_token"]
        return _Reply(200, body), params

    def handle_post(self, form: Mapping[str, list[str]]) -> tuple[_Reply, TokenParams]:
        grant_type = _first(form, "grant_type") or ""
        params = TokenParams(
            grant=grant_type,
            username=_first(form, "username"),
            service=_first(form, "service"),
            scopes=tuple((_first(form, "scope") or "").split()),
            client_id=_first(form, "client_id"),
            offline=_first(form, "access_type") == "offline",
        )
        with self._lock:
            if not self.oauth_post_enabled:
                return _error(self.post_disabled_status, "not_found", "POST not supported"), params
            if mismatch := self._service_mismatch(params.service):
                return mismatch, params
            if grant_type == "password":
                user, password = params.username, _first(form, "password")
                if user is None or password is None:
                    return _error(400, "invalid_request", "username and password needed"), params
                if not self._authenticate(user, password):
                    return _error(401, "invalid_grant", "incorrect username or password"), params
                offline = params.offline and self.refresh_tokens_enabled
                refresh = self._new_refresh_token(user) if offline else None
            elif grant_type == "refresh_token":
                refresh = _first(form, "refresh_token")
                if refresh is None:
                    return _error(400, "invalid_request", "refresh_token needed"), params
                user = self._refresh_tokens.get(refresh)
                if user is None:
                    return _error(401, "invalid_grant", "unknown refresh token"), params
                params = dataclasses.replace(params, username=user)
                refresh = refresh if params.offline else None
            else:
                return _error(400, "unsupported_grant_type", f"grant {grant_type!r}"), params
            body = self._token_body(user, params.scopes)
        body["scope"] = " ".join(params.scopes)
        if refresh is not None:
            body["refresh_token"] = refresh
        return _Reply(200, body), params

    def record(self, entry: TokenRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def mark(self) -> int:
        """A position in the request log (see `requests_since`)."""
        with self._lock:
            return len(self._log)

    def requests_since(self, mark: int) -> list[TokenRequest]:
        """Token requests answered after `mark`; recorded before each response is sent."""
        with self._lock:
            return self._log[mark:]


class _Handler(BaseHTTPRequestHandler):
    token_server: TokenServer
    server_version = "testbed-token/1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are recorded in the server's log instead."""

    def _reply(self, method: str, path: str, reply: _Reply, params: TokenParams) -> None:
        self.token_server.record(TokenRequest(method, path, reply.status, params))
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != self.token_server.path:
            self._reply(
                "GET", url.path, _error(404, "not_found", "no such path"), TokenParams("none")
            )
            return
        query = parse_qs(url.query, keep_blank_values=True)
        reply, params = self.token_server.handle_get(query, self.headers.get("Authorization"))
        self._reply("GET", url.path, reply, params)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if url.path != self.token_server.path:
            self._reply(
                "POST", url.path, _error(404, "not_found", "no such path"), TokenParams("none")
            )
            return
        reply, params = self.token_server.handle_post(parse_qs(body, keep_blank_values=True))
        self._reply("POST", url.path, reply, params)
