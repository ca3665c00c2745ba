"""HTTP to registries and token services: one request at a time, bounded, counted, logged.

- Every request goes through `Transport.request`, which asks `policy` before sending
  credentials and after each redirect; redirects are followed by hand (at most
  `MAX_REDIRECTS`), each hop counting as a round trip.
- TLS trust per host comes from `tls`; `insecure` applies to the registry's own host only.
- Bodies are read with a size cap and against a deadline for the whole exchange (a server
  that drips bytes never resets it).
- Proxies: HTTP(S)_PROXY/NO_PROXY are honoured, except for loopback hosts, which (as in Go,
  and so in Docker) are never proxied. `.netrc` is ignored: it would turn our anonymous ping
  into an authenticated one.
- Every failure becomes a `RegistryError` subclass naming the registry and what to try.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError, InsecureRequestWarning, ReadTimeoutError

from zenml_docker_connector.errors import (
    NotARegistryError,
    RegistryError,
    RegistryTLSError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference, is_loopback_host
from zenml_docker_connector.registry.outgoing import Outgoing, Role, role_text
from zenml_docker_connector.registry.policy import redirected, require_credentials_allowed
from zenml_docker_connector.registry.responses import HttpResponse
from zenml_docker_connector.registry.settings import ConnectionSettings, Timeouts
from zenml_docker_connector.registry.tls import TLSSettings, resolve_tls
from zenml_docker_connector.registry.urls import host_of, scheme_of, shown_url

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "zenml-docker-connector (OCI distribution auth check)"


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


class BodyTooLargeError(Exception):
    """An answer over its size cap (mapped to a registry or token service error)."""


class _DeadlineError(Exception):
    """The whole exchange took longer than `Timeouts.deadline`."""


class Transport:
    """One registry's HTTP: a proxy-aware, netrc-free session plus per-host TLS trust."""

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
        self._tls: dict[str, TLSSettings] = {}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT

    @property
    def timeouts(self) -> Timeouts:
        return self.settings.timeouts

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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

    def request(self, request: Outgoing) -> HttpResponse:
        """Send `request`, following redirects under the credential policy."""
        require_credentials_allowed(request, self.reference)
        dropped = False
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
                    credentials_dropped=dropped,
                )
            target = urljoin(response.url, location)
            if scheme_of(target) not in ("http", "https"):
                raise self._role_error(
                    request.role, f"redirected to an unsupported location {shown_url(target)}."
                )
            request, dropped_now = redirected(
                request, response.status, response.url, target, self.reference
            )
            if dropped_now:
                logger.debug("redirect to %s: dropping credentials", shown_url(target))
            dropped = dropped or dropped_now
        raise self._role_error(
            request.role,
            f"redirected more than {MAX_REDIRECTS} times (last: {shown_url(request.url)}).",
        )

    def _role_error(self, role: Role, what: str) -> RegistryError:
        message = f"The {role_text(role)} of registry {self.registry} {what}"
        if role == "token":
            return TokenServiceError(self.registry, message)
        return RegistryError(self.registry, message)

    def _send_once(self, request: Outgoing) -> HttpResponse:
        started = time.monotonic()
        self.counter.add(request.role)
        try:
            raw, body = self._exchange(request, started)
        except BodyTooLargeError:
            self._step(request, "body too large")
            raise self._too_large(request) from None
        except requests.exceptions.SSLError as error:
            self._step(request, "TLS failure")
            raise self._tls_error(request, error) from None
        except (requests.exceptions.Timeout, ReadTimeoutError, _DeadlineError) as error:
            self._step(request, "timeout")
            raise self._timeout_error(request, error) from None
        except (requests.exceptions.RequestException, HTTPError) as error:
            self._step(request, "no answer")
            raise RegistryUnreachableError(
                self.registry,
                f"Cannot reach {role_text(request.role)} {shown_url(request.url)} for registry "
                f"{self.registry}: {summarize_connection_error(error)}. Is the registry running "
                "and is the URL (host, port, http/https) right?",
            ) from None
        challenges = tuple(raw.raw.headers.getlist("WWW-Authenticate")) if raw.raw else ()
        self._step(request, str(raw.status_code))
        return HttpResponse(
            url=raw.url or request.url,
            status=raw.status_code,
            headers=CaseInsensitiveDict(dict(raw.headers)),
            www_authenticate=challenges,
            body=body,
        )

    def _exchange(self, request: Outgoing, started: float) -> tuple[requests.Response, bytes]:
        headers = {"Accept": "application/json"}
        if request.authorization is not None:
            headers["Authorization"] = request.authorization
        tls = self.tls_for(request.url) if scheme_of(request.url) == "https" else None
        with warnings.catch_warnings():
            if tls is not None and tls.verify is False:
                warnings.simplefilter("ignore", InsecureRequestWarning)
            raw = self.session.request(
                request.method,
                request.url,
                headers=headers,
                data=dict(request.form) if request.form is not None else None,
                params=list(request.params) if request.params else None,
                timeout=(self.timeouts.connect, self.timeouts.read),
                verify=tls.verify if tls is not None else True,
                cert=tls.client_cert if tls is not None else None,
                proxies=self._proxies(request.url),
                allow_redirects=False,
                stream=True,
            )
            try:
                return raw, self._read_body(raw, started, request.max_body)
            finally:
                raw.close()

    def _proxies(self, url: str) -> dict[str, str]:
        if is_loopback_host(host_of(url)):
            return {}
        return dict(requests.utils.get_environ_proxies(url))

    def _read_body(self, raw: requests.Response, started: float, max_body: int) -> bytes:
        declared = raw.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            raise BodyTooLargeError(int(declared))
        chunks: list[bytes] = []
        size = 0
        for chunk in _body_chunks(raw):
            size += len(chunk)
            if size > max_body:
                raise BodyTooLargeError(size)
            chunks.append(chunk)
            if time.monotonic() - started > self.timeouts.deadline:
                raise _DeadlineError()
        if time.monotonic() - started > self.timeouts.deadline:
            raise _DeadlineError()
        return b"".join(chunks)

    def _step(self, request: Outgoing, outcome: str) -> None:
        text = f"{request.method} {shown_url(request.url)}"
        if request.auth_label:
            text += f" ({request.auth_label})"
        text += f" -> {outcome}"
        self.steps.append(text)
        logger.debug("%s", text)

    def _too_large(self, request: Outgoing) -> RegistryError:
        message = (
            f"The {role_text(request.role)} {shown_url(request.url)} of registry "
            f"{self.registry} sent an answer larger than {request.max_body // 1024} KiB; "
            "refusing it. Check the URL."
        )
        if request.role == "token":
            return TokenServiceError(self.registry, message)
        return NotARegistryError(self.registry, message)

    def _timeout_error(self, request: Outgoing, error: Exception) -> RegistryError:
        return RegistryUnreachableError(
            self.registry,
            f"The {role_text(request.role)} {shown_url(request.url)} for registry "
            f"{self.registry} did not answer in time ({_timeout_text(error, self.timeouts)}). "
            "Is it running and is the URL right? A firewall that drops packets looks like "
            "this too.",
        )

    def _tls_error(self, request: Outgoing, error: Exception) -> RegistryError:
        url, role = request.url, role_text(request.role)
        netloc = urlsplit(url).netloc
        reason = summarize_connection_error(error)
        if "wrong version number" in reason.lower() or "record layer" in reason.lower():
            return RegistryTLSError(
                self.registry,
                f"The {role} {shown_url(url)} for registry {self.registry} does not "
                "speak TLS (it looks like plain HTTP). If it really is a plain-HTTP registry, "
                f"name it http://{netloc}.",
            )
        trust = self.tls_for(url).description
        return RegistryTLSError(
            self.registry,
            f"TLS verification of {role} {shown_url(url)} for registry "
            f"{self.registry} failed: {reason} (trusted: {trust}). If it uses a private CA, "
            f"put the CA certificate at /etc/docker/certs.d/{netloc}/ca.crt or in a bundle "
            "named by REQUESTS_CA_BUNDLE; for a test registry only, enable the connector's "
            "`insecure` option to skip verification.",
        )


def _body_chunks(raw: requests.Response) -> Iterator[bytes]:
    """Body pieces as they arrive: `read1` returns after one socket read, so the deadline
    is checked even against a server that drips bytes (urllib3 1.x: `iter_content`)."""
    read1 = getattr(raw.raw, "read1", None)
    if read1 is None:
        yield from raw.iter_content(8192)
        return
    while True:
        data: bytes = read1(8192, decode_content=True)
        if not data:
            return
        yield data


def _timeout_text(error: Exception, timeouts: Timeouts) -> str:
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return f"connecting took more than {timeouts.connect:g} s"
    if isinstance(error, _DeadlineError):
        return f"the exchange took more than {timeouts.deadline:g} s"
    if (
        isinstance(error, requests.exceptions.ConnectionError)
        and "connect timeout" in str(error).lower()
    ):
        return f"connecting took more than {timeouts.connect:g} s"
    return f"no data for {timeouts.read:g} s"


_REASONS = (
    ("connection refused", "connection refused (nothing listens on that port)"),
    ("name or service not known", "the host name does not resolve"),
    ("nodename nor servname", "the host name does not resolve"),
    ("temporary failure in name resolution", "the host name does not resolve"),
    ("failed to resolve", "the host name does not resolve"),
    ("network is unreachable", "the network is unreachable"),
    ("no route to host", "no route to host"),
    ("connection reset", "the connection was reset"),
    ("remotedisconnected", "the server closed the connection without answering"),
    ("connection aborted", "the server closed the connection without answering"),
    ("certificate verify failed", "certificate verify failed"),
)


def summarize_connection_error(error: BaseException) -> str:
    """A short reason from a requests/urllib3 exception chain (no URLs with queries)."""
    text = str(error)
    lowered = text.lower()
    for needle, reason in _REASONS:
        if needle in lowered:
            if needle == "certificate verify failed":
                detail = text[lowered.index(needle) :].split(")", 1)[0].strip(" '\"")
                return detail[:200]
            return reason
    if "wrong version number" in lowered:
        return "wrong version number (the server does not speak TLS)"
    if len(text) > 200:
        text = text[:200] + "…"
    return text or type(error).__name__
