"""HTTP to registries and token services: one request at a time, bounded, counted, logged.

- Every request, and every redirect, is decided by `policy.request_policy`; redirects are
  followed by hand (at most `MAX_REDIRECTS`), each hop counting as a round trip.
- Requests go out through `HTTPAdapter.send` with our `connections`: no redirect handling
  or content decoding inside `requests` (it would read a redirect's whole body), the peer
  rule checked on the connected address. Every answer, redirect replies included, is read
  by `reader` (header limits, body cap, bounded inflation, JSON depth).
- One `Deadline` covers the whole verification: each connect and read timeout is cut to the
  time left, and a watchdog shuts the sockets when it runs out, so a server that drips its
  status line, headers or body one byte at a time cannot hold the thread.
- TLS trust per host comes from `tls`; `insecure` applies to the registry's own host only.
- Proxies: HTTP(S)_PROXY/NO_PROXY are honoured, except for loopback hosts, which (as in Go,
  and so in Docker) are never proxied. `.netrc` and cookies are ignored.
- Every failure becomes a `RegistryError` subclass naming the registry and what to try;
  network text in it (URLs, reasons) goes through `shown`: redacted, printable, bounded.
"""

from __future__ import annotations

import http.client
import logging
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError, InsecureRequestWarning

from zenml_docker_connector.errors import (
    NotARegistryError,
    RegistryError,
    RegistryTLSError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.redaction import SHOWN_LIMIT, Redactor
from zenml_docker_connector.references import RegistryReference, is_loopback_host
from zenml_docker_connector.registry import reader
from zenml_docker_connector.registry.connections import (
    GuardedAdapter,
    PeerRefusedError,
    exchange,
    host_addresses,
)
from zenml_docker_connector.registry.deadline import Deadline, SocketWatchdog
from zenml_docker_connector.registry.outgoing import Outgoing, Role, role_text
from zenml_docker_connector.registry.policy import (
    PolicyRules,
    Redirect,
    address_kind,
    peer_allowed,
    private_destination_error,
    request_policy,
)
from zenml_docker_connector.registry.responses import HttpResponse
from zenml_docker_connector.registry.settings import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.tls import TLSSettings, resolve_tls
from zenml_docker_connector.registry.urls import host_of, origin, scheme_of, shown_url

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "zenml-docker-connector (OCI distribution auth check)"
URL_LIMIT = 160


@dataclass
class RequestCounter:
    """HTTP round trips made, registry and token service apart, for reports and tests."""

    registry: int = 0
    token: int = 0
    started: float = field(default_factory=time.monotonic)

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

    `deadline`, `redactor` and `base_url` may be replaced by the owner before the first
    request: the verification's shared deadline, the credentials' redactor, and the base
    once the registry's scheme is known.
    """

    def __init__(
        self,
        reference: RegistryReference,
        settings: ConnectionSettings | None = None,
        counter: RequestCounter | None = None,
        steps: list[str] | None = None,
    ) -> None:
        self.reference = reference
        self.registry = reference.resource_id
        self.settings = settings or ConnectionSettings()
        self.counter = counter if counter is not None else RequestCounter()
        self.steps = steps if steps is not None else []
        self.deadline = Deadline(self.settings.deadline)
        self.redactor = Redactor(())
        self.base_url = reference.api_url
        self._watchdog: SocketWatchdog | None = None
        self._tls: dict[str, TLSSettings] = {}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept-Encoding"] = reader.ACCEPT_ENCODING
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, GuardedAdapter())

    @property
    def timeouts(self) -> Timeouts:
        return self.settings.timeouts

    def close(self) -> None:
        if self._watchdog is not None:
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
        return self.redactor.shown(shown_url(url), URL_LIMIT)

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

    def describe_transport(self, url: str) -> str:
        if scheme_of(url) == "http":
            return "plain HTTP (no TLS)"
        return f"TLS, {self.tls_for(url).description}"

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
        request = request_policy(request, rules)
        redirected = False
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_once(request)
            location = response.headers.get("Location")
            if response.status not in REDIRECT_STATUSES or not location:
                return HttpResponse(
                    url=response.url,
                    status=response.status,
                    headers=response.headers,
                    www_authenticate=response.www_authenticate,
                    body=response.body,
                    redirected=redirected,
                    shown=self.shown,
                )
            target = urljoin(response.url, location)
            request = request_policy(request, rules, Redirect(response.status, request.url, target))
            logger.debug("following a redirect to %s", self.shown_url(target))
            redirected = True
        raise self._role_error(
            request.role,
            f"redirected more than {MAX_REDIRECTS} times (last: {self.shown_url(request.url)}).",
        )

    def _role_error(self, role: Role, what: str) -> RegistryError:
        message = f"The {role_text(role)} of registry {self.registry} {what}"
        if role == "token":
            return TokenServiceError(self.registry, message)
        return NotARegistryError(self.registry, message)

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
        left = self.deadline.remaining()
        if self._watchdog is None:
            self._watchdog = SocketWatchdog(self.deadline)
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
        tls = self.tls_for(request.url) if scheme_of(request.url) == "https" else None
        peer = "any" if proxies else request.peer
        with warnings.catch_warnings(), exchange(self._watchdog, peer):
            if tls is not None and tls.verify is False:
                warnings.simplefilter("ignore", InsecureRequestWarning)
            raw = self.session.get_adapter(request.url).send(
                prepared,
                stream=True,
                timeout=(min(self.timeouts.connect, left), min(self.timeouts.read, left)),
                verify=tls.verify if tls is not None else True,
                cert=tls.client_cert if tls is not None else None,
                proxies=proxies,
            )
            try:
                return raw, self._read(raw, request.max_body)
            finally:
                raw.close()

    def _headers(self, request: Outgoing) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if request.authorization is not None:
            headers["Authorization"] = request.authorization
        return headers

    def _read(self, raw: requests.Response, cap: int) -> bytes:
        reader.check_headers(raw.raw.headers.items())
        body = reader.read_body(raw.raw, raw.headers, cap)
        if self._watchdog is not None and self._watchdog.fired:
            raise _DeadlineError()  # what was read may be cut short
        return body

    def _proxies(self, request: Outgoing) -> dict[str, str]:
        host = host_of(request.url)
        if is_loopback_host(host):
            return {}
        proxies = dict(requests.utils.get_environ_proxies(request.url))
        if proxies and request.peer != "any":
            # The connection goes to the proxy: check the name instead.
            _scheme, _host, port = origin(request.url)
            for address in host_addresses(host, port):
                if not peer_allowed(address, request.peer):
                    raise PeerRefusedError(address, request.peer)
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
        """The error to raise for `error`, one of `_FAILURES` while sending `request`."""
        if self.deadline.expired or isinstance(error, _DeadlineError):
            self._step(request, "deadline")
            return self._timeout_error(
                request, f"the check took more than {self.deadline.seconds:g} s"
            )
        if isinstance(error, RegistryError):
            self._step(request, "refused")
            return error
        if isinstance(error, PeerRefusedError):
            self._step(request, "refused")
            return private_destination_error(
                self.policy_rules(), request.url, address_kind(error.address)
            )
        if isinstance(error, reader.AnswerRefusedError):
            self._step(request, "answer refused")
            return self._refused_answer(request, error)
        if isinstance(error, requests.exceptions.SSLError):
            self._step(request, "TLS failure")
            return self._tls_error(request, error)
        if isinstance(error, (requests.exceptions.Timeout, TimeoutError)):
            self._step(request, "timeout")
            return self._timeout_error(request, self._timeout_text(error))
        reason = summarize_connection_error(error)
        if reason in _LIMIT_REASONS:
            self._step(request, "answer refused")
            return self._refused_answer(
                request, reader.AnswerRefusedError(reason.removeprefix("it sent "))
            )
        self._step(request, "no answer")
        return RegistryUnreachableError(
            self.registry,
            f"Cannot reach {role_text(request.role)} {self.shown_url(request.url)} for "
            f"registry {self.registry}: {self.shown(reason)}. "
            "Is the registry running and is the URL (host, port, http/https) right?",
        )

    def _refused_answer(self, request: Outgoing, error: reader.AnswerRefusedError) -> RegistryError:
        message = (
            f"The {role_text(request.role)} {self.shown_url(request.url)} of registry "
            f"{self.registry} sent {self.shown(str(error))}; refusing it. Check the URL."
        )
        if request.role == "token":
            return TokenServiceError(self.registry, message)
        return NotARegistryError(self.registry, message)

    def _timeout_error(self, request: Outgoing, why: str) -> RegistryError:
        return RegistryUnreachableError(
            self.registry,
            f"The {role_text(request.role)} {self.shown_url(request.url)} for registry "
            f"{self.registry} did not answer in time ({why}). Is it running and is the URL "
            "right? A firewall that drops packets looks like this too.",
        )

    def _timeout_text(self, error: Exception) -> str:
        text = str(error).lower()
        if isinstance(error, requests.exceptions.ConnectTimeout) or "connect timeout" in text:
            return f"connecting took more than {self.timeouts.connect:g} s"
        return f"no data for {self.timeouts.read:g} s"

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
    ("certificate verify failed", "certificate verify failed"),
)


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
