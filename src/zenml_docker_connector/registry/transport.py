"""HTTP to registries and token services: one request at a time, bounded, counted, logged.

- `policy.request_policy` decides every request and every redirect; redirects are followed
  by hand (at most `MAX_REDIRECTS`, each a round trip). Requests go out through
  `HTTPAdapter.send` (no redirect handling or decoding inside `requests`, which would read a
  redirect's whole body); every answer is read by `reader`.
- One `Deadline` covers a whole verification: each timeout is cut to the time left, and a
  watchdog shuts the sockets when it runs out, because urllib3's read timeout applies per
  `recv` and a server dripping one byte a second would never trip it.
- The peer rule (`policy`) is checked against the address the socket is actually connected
  to, before a TLS handshake or a request byte, and again before a kept-alive connection is
  reused, so DNS rebinding cannot slip past it (a `public` destination was already resolved
  and judged by the policy before connecting); through an HTTP proxy the host name is checked
  instead. Watchdog and rule reach urllib3 through `patches.guard_pool_manager` and a context
  variable set around one `send`; when that patch does not fit urllib3, nothing is sent.
  SOCKS proxies get only urllib3's per-read timeouts.
- TLS trust per host comes from `tls` (`insecure` only for the registry's own host); the
  process's one `SSLContext` per trust reaches urllib3 through requests' adapter hooks (2.32+),
  so a CA bundle is parsed once per process, not per connection.
- HTTP(S)_PROXY/NO_PROXY are honoured except for loopback hosts (never proxied, as in Go and
  Docker); `.netrc` and cookies are ignored. Every failure becomes a `RegistryError` naming the
  registry and what to try; network text in it goes through `shown`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import logging
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError, InsecureRequestWarning

from zenml_docker_connector.errors import (
    InsecureTransportError,
    RegistryError,
    RegistryOutOfReachError,
    RegistryTLSError,
    RegistryUnreachableError,
)
from zenml_docker_connector.patches import guard_pool_manager
from zenml_docker_connector.redaction import SHOWN_LIMIT, Redactor
from zenml_docker_connector.references import RegistryReference, is_loopback_host
from zenml_docker_connector.registry import policy, reader
from zenml_docker_connector.registry.policy import Outgoing, PeerRule, PolicyRules, Role, role_text
from zenml_docker_connector.registry.reader import HttpResponse
from zenml_docker_connector.registry.tls import TLSSettings, resolve_tls

logger = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_DEADLINE = 30.0


@dataclass(frozen=True)
class Timeouts:
    """Bounds for one HTTP round trip: connecting, and each read of an answer."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach a registry (never who is asking): one value from connector to transport."""

    insecure: bool = False
    """Skip certificate verification for the registry's own host (never its token realm)."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    deadline: float = DEFAULT_DEADLINE
    """Seconds one whole verification may take, redirects and the wait for an identical check
    included."""
    cert_dirs: Sequence[Path] | None = None
    """Roots of per-host CA directories (`certs.d`); None = Docker's and containers' own."""
    refuse_private_destinations: bool = False
    """Refuse loopback, link-local and private addresses other than the registry's host: inside
    a ZenML server (unless `policy.ALLOW_PRIVATE_NETWORKS_ENV`), a registry, its realm or a
    redirect must not make the server reach its own network."""


# --- the deadline -----------------------------------------------------------------------


class Deadline:
    """Seconds left for one verification, from its start (waiting included)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


class SocketWatchdog:
    """Shuts down every registered socket when `deadline` runs out; `close()` disarms it."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._closed = False

    def arm(self) -> None:
        """Start the timer (once); called before the first request."""
        with self._lock:
            if self._timer is not None or self._closed:
                return
            self._timer = threading.Timer(self.deadline.remaining(), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def track(self, sock: socket.socket) -> None:
        """Register a freshly connected socket (shut down at once if the time is up)."""
        try:
            duplicate = sock.dup()
        except OSError:
            return
        with self._lock:
            keep = not self._closed
            if keep:
                self._sockets.append(duplicate)
            fired = self.fired
        if not keep:
            duplicate.close()
        elif fired:
            _shut(duplicate)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        logger.debug(
            "deadline of %g s reached: closing %d socket(s)", self.deadline.seconds, len(sockets)
        )
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        """Disarm the timer and let go of the duplicates (the connections close with them)."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            sockets, self._sockets = self._sockets, []
        if timer is not None:
            timer.cancel()
        for sock in sockets:
            sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# --- the connections' guard -------------------------------------------------------------


class PeerRefusedError(Exception):
    """The connected address breaks the request's peer rule (nothing was sent)."""

    def __init__(self, address: str, rule: PeerRule) -> None:
        super().__init__(f"{address} is not a {rule} address")
        self.address = address
        self.rule = rule


class _UnguardedError(Exception):
    """The connections could not be guarded (`patches.URLLIB3_PATCHES`): nothing is sent."""


@dataclass(frozen=True)
class _Exchange:
    """What the connections of one request must obey (a `patches.SocketGuard`), and the
    process's TLS context for its trust (None: urllib3 builds one from the paths)."""

    watchdog: SocketWatchdog
    rule: PeerRule
    ssl_context: ssl.SSLContext | None = None

    def connected(self, sock: socket.socket) -> None:
        self.reused(sock)
        self.watchdog.track(sock)

    def reused(self, sock: socket.socket) -> None:
        if self.rule == "any":
            return
        address = str(sock.getpeername()[0])
        if not policy.peer_allowed(address, self.rule):
            raise PeerRefusedError(address, self.rule)


_current: ContextVar[_Exchange | None] = ContextVar("zenml_docker_exchange", default=None)


class _GuardedAdapter(HTTPAdapter):
    """`requests`' adapter whose connections obey `_current`, directly and through HTTP
    proxies; it sends nothing when they could not be guarded."""

    guarded = False

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.guarded = guard_pool_manager(self.poolmanager, _current.get)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        known = proxy in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        socks = proxy.lower().startswith("socks")
        if not known and not socks and not guard_pool_manager(manager, _current.get):
            del self.proxy_manager[proxy]
            raise _UnguardedError()
        return manager

    def send(self, *args: Any, **kwargs: Any) -> requests.Response:
        if not self.guarded:
            raise _UnguardedError()
        return super().send(*args, **kwargs)

    # requests' documented hooks for subclasses (2.32+): connections of a request that has
    # the process's TLS context come from a pool keyed by that context, which already holds
    # the CAs and the client certificate (urllib3 would otherwise load the files again for
    # every connection).

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        context = _tls_context()
        if context is not None and host_params.get("scheme") == "https":
            pool_kwargs = {"cert_reqs": pool_kwargs["cert_reqs"], "ssl_context": context}
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]
        context = _tls_context()
        if context is not None and getattr(conn, "conn_kw", {}).get("ssl_context") is context:
            conn.ca_certs = conn.ca_cert_dir = conn.cert_file = conn.key_file = None


_POOL_KEY_HOOK = hasattr(HTTPAdapter, "build_connection_pool_key_attributes")
"""requests 2.31 has no such hook: its connections then load the trust files themselves."""


def _tls_context() -> ssl.SSLContext | None:
    current = _current.get()
    return current.ssl_context if current is not None else None


# --- the transport ----------------------------------------------------------------------

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "zenml-docker-connector (OCI distribution auth check)"
URL_LIMIT = 160


@dataclass
class RequestCounter:
    """HTTP round trips made, registry and token service apart, and what each was: what one
    verification's transports share, for reports, the doctor and tests."""

    registry: int = 0
    token: int = 0
    started: float = field(default_factory=time.monotonic)
    steps: list[str] = field(default_factory=list)
    """One line per request (`GET <url> (Basic) -> 200`) and per decision of the flow."""

    def add(self, role: Role) -> None:
        if role == "registry":
            self.registry += 1
        else:
            self.token += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class _DeadlineError(Exception):
    """The verification's deadline ran out."""


_FAILURES = (
    _DeadlineError,
    _UnguardedError,
    RegistryError,
    PeerRefusedError,
    reader.AnswerRefusedError,
    requests.exceptions.RequestException,
    HTTPError,
    http.client.HTTPException,
    OSError,
)
"""What sending a request may raise; each becomes a `RegistryError` with a message."""


class Transport:
    """One registry's HTTP for one verification: session, deadline, policy, TLS trust.

    Built whole: `base_url` is where the API answers (https after Docker's fallback gets a
    transport of its own); `deadline` and `counter` are shared by the verification's
    transports; `redactor` hides the secrets in whatever the servers echo.
    """

    def __init__(
        self,
        reference: RegistryReference,
        settings: ConnectionSettings | None = None,
        *,
        base_url: str | None = None,
        deadline: Deadline | None = None,
        redactor: Redactor | None = None,
        counter: RequestCounter | None = None,
    ) -> None:
        self.reference = reference
        self.registry = reference.resource_id
        self.settings = settings or ConnectionSettings()
        self.base_url = base_url or reference.api_url
        self.deadline = deadline or Deadline(self.settings.deadline)
        self.redactor = redactor or Redactor(())
        self.counter = counter if counter is not None else RequestCounter()
        self._watchdog = SocketWatchdog(self.deadline)
        self._tls: dict[str, TLSSettings] = {}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept-Encoding"] = reader.ACCEPT_ENCODING
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _GuardedAdapter())

    @property
    def steps(self) -> list[str]:
        return self.counter.steps

    def close(self) -> None:
        self._watchdog.close()
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- network text in messages -----------------------------------------------------

    def shown(self, text: str, limit: int = SHOWN_LIMIT) -> str:
        """Network text for a message or log: redacted, on one line, printable, bounded."""
        return self.redactor.shown(text, limit)

    def shown_url(self, url: str) -> str:
        """A URL (no query, no user info) for a message or log."""
        return self.redactor.shown(policy.shown_url(url), URL_LIMIT)

    # --- TLS ----------------------------------------------------------------------------

    def tls_for(self, url: str) -> TLSSettings:
        """TLS trust for the host of `url`; `insecure` only for the registry's own host."""
        netloc = urlsplit(url).netloc.rsplit("@", 1)[-1].lower()
        if netloc not in self._tls:
            registry_host = urlsplit(self.reference.api_url).netloc.lower()
            self._tls[netloc] = resolve_tls(
                self.registry,
                netloc,
                insecure=self.settings.insecure and netloc == registry_host,
                cert_dirs=self.settings.cert_dirs,
            )
        return self._tls[netloc]

    # --- requests -----------------------------------------------------------------------

    def policy_rules(self) -> PolicyRules:
        return PolicyRules(
            reference=self.reference,
            base_url=self.base_url,
            refuse_private=self.settings.refuse_private_destinations,
            show=self.shown_url,
        )

    def request(self, request: Outgoing) -> HttpResponse:
        """Send `request`, following redirects as the request policy allows."""
        rules = self.policy_rules()
        request = policy.request_policy(request, rules)
        redirected = False
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_once(request)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                return dataclasses.replace(response, redirected=redirected)
            target = urljoin(response.url, location)
            redirect = policy.Redirect(response.status, request.url, target)
            request = policy.request_policy(request, rules, redirect)
            logger.debug("following a redirect to %s", self.shown_url(target))
            redirected = True
        raise policy.role_error(
            self.registry,
            request.role,
            f"The {role_text(request.role)} of registry {self.registry} redirected more than "
            f"{MAX_REDIRECTS} times (last: {self.shown_url(request.url)}).",
        )

    def _send_once(self, request: Outgoing) -> HttpResponse:
        if self.deadline.expired:
            raise self._failure(request, _DeadlineError())
        self.counter.add(request.role)
        try:
            raw, body = self._exchange(request)
        except _FAILURES as error:
            raise self._failure(request, error) from None
        challenges = tuple(raw.raw.headers.getlist("WWW-Authenticate")) if raw.raw else ()
        self._step(request, str(raw.status_code))
        return HttpResponse(
            url=raw.url or request.url,
            status=raw.status_code,
            headers=CaseInsensitiveDict(dict(raw.headers)),
            www_authenticate=challenges,
            body=body,
            shown=self.shown,
        )

    def _exchange(self, request: Outgoing) -> tuple[requests.Response, bytes]:
        left, timeouts = self.deadline.remaining(), self.settings.timeouts
        self._watchdog.arm()
        prepared = self.session.prepare_request(
            requests.Request(
                request.method,
                request.url,
                headers=self._headers(request),
                data=dict(request.form) if request.form is not None else None,
                params=list(request.params) if request.params else None,
            )
        )
        proxies = self._proxies(request)
        tls = self.tls_for(request.url) if policy.scheme_of(request.url) == "https" else None
        peer = "any" if proxies else request.peer
        context = tls.ssl_context() if tls is not None and _POOL_KEY_HOOK else None
        guard = _current.set(_Exchange(self._watchdog, peer, context))
        try:
            with warnings.catch_warnings():
                if tls is not None and tls.verify is False:
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                raw = self.session.get_adapter(request.url).send(
                    prepared,
                    stream=True,
                    timeout=(min(timeouts.connect, left), min(timeouts.read, left)),
                    verify=tls.verify if tls is not None else True,
                    cert=tls.client_cert if tls is not None else None,
                    proxies=proxies,
                )
                try:
                    return raw, self._read(raw, request.max_body)
                finally:
                    raw.close()
        finally:
            _current.reset(guard)

    def _headers(self, request: Outgoing) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if request.authorization is not None:
            headers["Authorization"] = request.authorization
        return headers

    def _read(self, raw: requests.Response, cap: int) -> bytes:
        reader.check_headers(raw.raw.headers.items())
        body = reader.read_body(raw.raw, raw.headers, cap)
        if self._watchdog.fired:
            raise _DeadlineError()  # what was read may be cut short
        return body

    def _proxies(self, request: Outgoing) -> dict[str, str]:
        host = policy.host_of(request.url)
        if is_loopback_host(host):
            return {}
        proxies = dict(requests.utils.get_environ_proxies(request.url))
        if proxies and request.peer != "any":
            # The connection goes to the proxy: check the name instead.
            port = policy.origin(request.url)[2]
            for info in socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM):
                if not policy.peer_allowed(str(info[4][0]), request.peer):
                    raise PeerRefusedError(str(info[4][0]), request.peer)
        return proxies

    def _step(self, request: Outgoing, outcome: str) -> None:
        text = f"{request.method} {self.shown_url(request.url)}"
        if request.auth_label:
            text += f" ({request.auth_label})"
        text += f" -> {outcome}"
        self.steps.append(text)
        logger.debug("%s", text)

    # --- failures -----------------------------------------------------------------------

    def _failure(self, request: Outgoing, error: Exception) -> RegistryError:
        """The error to raise for `error`, one of `_FAILURES` while sending `request`; the
        step log says how the request ended."""
        outcome, failure = self._classify(request, error)
        self._step(request, outcome)
        return failure

    def _classify(self, request: Outgoing, error: Exception) -> tuple[str, RegistryError]:
        if self.deadline.expired or isinstance(error, _DeadlineError):
            why = f"the check took more than {self.deadline.seconds:g} s"
            return "deadline", self._timeout_error(request, why)
        if isinstance(error, RegistryError):
            return "refused", error
        if isinstance(error, _UnguardedError):
            return "refused", RegistryError(
                self.registry,
                f"Refusing to contact {role_text(request.role)} {self.shown_url(request.url)} "
                f"for registry {self.registry}: the connector's connection guard does not fit "
                "the installed urllib3 (see `zenml-docker status`).",
            )
        if isinstance(error, PeerRefusedError):
            return "refused", self._peer_refused(request, error)
        if isinstance(error, reader.AnswerRefusedError):
            return "answer refused", self._refused_answer(request, error)
        if isinstance(error, requests.exceptions.SSLError):
            return "TLS failure", self._tls_error(request, error)
        if isinstance(error, (requests.exceptions.Timeout, TimeoutError)):
            return "timeout", self._timeout_error(request, self._timeout_text(error))
        reason = summarize_connection_error(error)
        if reason in _LIMIT_REASONS:
            refused = reader.AnswerRefusedError(reason.removeprefix("it sent "))
            return "answer refused", self._refused_answer(request, refused)
        error_type = (
            RegistryOutOfReachError if reason in _OUT_OF_REACH else RegistryUnreachableError
        )
        return "no answer", error_type(
            self.registry,
            f"Cannot reach {role_text(request.role)} {self.shown_url(request.url)} for "
            f"registry {self.registry}: {self.shown(reason)}. "
            "Is the registry running and is the URL (host, port, http/https) right?",
        )

    def _peer_refused(self, request: Outgoing, error: PeerRefusedError) -> RegistryError:
        if error.rule == "public":  # the name now leads elsewhere than it did (rebinding)
            return policy.private_destination_error(self.policy_rules(), request.url)
        return InsecureTransportError(
            self.registry,
            f"Refusing to send credentials for registry {self.registry} over plain HTTP to "
            f"{self.shown_url(request.url)}: it leads to a {policy.address_kind(error.address)} "
            "address, and plain HTTP carries credentials only from a plain-HTTP loopback "
            "registry to loopback addresses.",
        )

    def _refused_answer(self, request: Outgoing, error: reader.AnswerRefusedError) -> RegistryError:
        return policy.role_error(
            self.registry,
            request.role,
            f"The {role_text(request.role)} {self.shown_url(request.url)} of registry "
            f"{self.registry} sent {self.shown(str(error))}; refusing it. Check the URL.",
        )

    def _timeout_error(self, request: Outgoing, why: str) -> RegistryError:
        return RegistryOutOfReachError(
            self.registry,
            f"The {role_text(request.role)} {self.shown_url(request.url)} for registry "
            f"{self.registry} did not answer in time ({why}). Is it running and is the URL "
            "right? A firewall that drops packets looks like this too.",
        )

    def _timeout_text(self, error: Exception) -> str:
        text = str(error).lower()
        if isinstance(error, requests.exceptions.ConnectTimeout) or "connect timeout" in text:
            return f"connecting took more than {self.settings.timeouts.connect:g} s"
        return f"no data for {self.settings.timeouts.read:g} s"

    def _tls_error(self, request: Outgoing, error: Exception) -> RegistryError:
        url, role = request.url, role_text(request.role)
        netloc = urlsplit(url).netloc
        reason = self.shown(summarize_connection_error(error))
        if "wrong version number" in reason.lower() or "record layer" in reason.lower():
            return RegistryTLSError(
                self.registry,
                f"The {role} {self.shown_url(url)} for registry {self.registry} does not "
                "speak TLS (it looks like plain HTTP). If it really is a plain-HTTP registry, "
                f"name it http://{netloc}.",
            )
        trust = self.tls_for(url).description
        return RegistryTLSError(
            self.registry,
            f"TLS verification of {role} {self.shown_url(url)} for registry "
            f"{self.registry} failed: {reason} (trusted: {trust}). If it uses a private CA, "
            f"put the CA certificate at /etc/docker/certs.d/{netloc}/ca.crt or in a bundle "
            "named by REQUESTS_CA_BUNDLE; for a test registry only, enable the connector's "
            "`insecure` option to skip verification.",
        )


_REASONS = (
    ("connection refused", "connection refused (nothing listens on that port)"),
    ("name or service not known", "the host name does not resolve"),
    ("nodename nor servname", "the host name does not resolve"),
    ("temporary failure in name resolution", "the host name does not resolve"),
    ("failed to resolve", "the host name does not resolve"),
    ("network is unreachable", "the network is unreachable"),
    ("no route to host", "no route to host"),
    ("connection reset", "the connection was reset"),
    ("got more than 100 headers", "it sent more than 100 header lines"),
    ("when reading header line", "it sent a header line longer than 64 KiB"),
    ("when reading status line", "it sent a status line longer than 64 KiB"),
    ("header value is too long", "it sent a header line longer than 64 KiB"),
    ("badstatusline", "it did not answer with an HTTP status line"),
    ("remotedisconnected", "the server closed the connection without answering"),
    ("connection aborted", "the server closed the connection without answering"),
    ("read timed out", "it stopped answering (nothing came within the read timeout)"),
    ("certificate verify failed", "certificate verify failed"),
)


_OUT_OF_REACH = frozenset(
    reason
    for needle, reason in _REASONS
    if needle
    in (
        "connection refused",
        "name or service not known",
        "nodename nor servname",
        "temporary failure in name resolution",
        "failed to resolve",
        "network is unreachable",
        "no route to host",
        "connection reset",
    )
)
"""Reasons that say nothing about the registry, only about the way to it from here."""

_LIMIT_REASONS = frozenset(
    reason for needle, reason in _REASONS if "longer than" in reason or "more than" in reason
)
"""Reasons that are `http.client`'s own limits on an answer: reported as refused answers."""


def summarize_connection_error(error: BaseException) -> str:
    """A short reason from a requests/urllib3 exception chain (not yet shown-safe: callers
    pass it through `Transport.shown`, which redacts before it clips)."""
    text = str(error)
    lowered = text.lower()
    for needle, reason in _REASONS:
        if needle in lowered:
            if needle == "certificate verify failed":
                return text[lowered.index(needle) :].split(")", 1)[0].strip(" '\"")
            return reason
    if "wrong version number" in lowered:
        return "wrong version number (the server does not speak TLS)"
    return text or type(error).__name__
