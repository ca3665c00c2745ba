"""HTTP to registries and token services: TLS trust, timeouts, redirects, credential guards.

Decisions (the verification-level ones are in `verification.py`):

- TLS trust for a host: Docker's per-host directory `/etc/docker/certs.d/<host[:port]>/`
  (rootless: `~/.config/docker/certs.d/`; then containers' `/etc/containers/certs.d/` and
  `~/.config/containers/certs.d/`; the first with files wins): every `*.crt` there is
  *added to* the base bundle, as Docker adds them to the system pool, and a
  `*.cert`/`*.key` pair is the client certificate. The base bundle is `REQUESTS_CA_BUNDLE`,
  else `CURL_CA_BUNDLE`, else the system store (OpenSSL's default CA file), else certifi.
- `$DOCKER_CERT_PATH` is not used: it holds the client certificates for a TLS-protected
  Docker *daemon* (`DOCKER_HOST=tcp://…`), which the docker CLI never presents to registries.
- `insecure=True` disables certificate verification for the registry's own host only; a token
  realm on another host is still verified. It never enables plain HTTP.
- Credentials (Basic header, bearer token, a password in a POST body) go over plain HTTP only
  to loopback hosts or to the host the user named with `http://`.
- Redirects are followed by hand: credentials stay only on the same origin (or a same-host
  upgrade from http to https); a credentials POST is never re-sent to another origin.
- Proxies: HTTP(S)_PROXY/NO_PROXY are honoured, except for loopback hosts, which (as in Go,
  and so in Docker) are never proxied. `.netrc` is ignored: it would turn our anonymous ping
  into an authenticated one.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import shutil
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError, InsecureRequestWarning, ReadTimeoutError

from zenml_docker_connector.errors import (
    InsecureTransportError,
    NotARegistryError,
    RegistryError,
    RegistryTLSError,
    RegistryUnreachableError,
    TokenServiceError,
)
from zenml_docker_connector.references import RegistryReference, is_loopback_host

logger = logging.getLogger(__name__)

Role = Literal["registry", "token"]

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "zenml-docker-connector (OCI distribution auth check)"


@dataclass(frozen=True)
class Timeouts:
    """Bounds for one HTTP round trip: connecting, each read, and the whole exchange."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT
    total: float | None = None
    """Deadline for one request including its body; default `connect + read`."""

    @property
    def deadline(self) -> float:
        return self.total if self.total is not None else self.connect + self.read


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


# --- TLS trust ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSSettings:
    """What `requests` gets as `verify`/`cert` for one host, and how to say it to a user."""

    verify: bool | str
    client_cert: tuple[str, str] | None
    description: str

    def cache_key(self) -> tuple[str, str]:
        """A non-secret identity of this trust configuration (paths, never key contents)."""
        return (str(self.verify), "|".join(self.client_cert or ()))


def docker_cert_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where Docker (rootful, rootless) and containers tools look for per-registry certs."""
    env = os.environ if environ is None else environ
    dirs = [Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d")]
    config_home = env.get("XDG_CONFIG_HOME")
    if not config_home:
        try:
            config_home = str(Path.home() / ".config")
        except RuntimeError:  # no HOME and no passwd entry (some containers)
            return dirs
    user_dirs = [
        Path(config_home) / "docker" / "certs.d",
        Path(config_home) / "containers" / "certs.d",
    ]
    return [dirs[0], user_dirs[0], dirs[1], user_dirs[1]]


def _base_bundle(environ: Mapping[str, str]) -> tuple[bool | str, str]:
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = environ.get(variable)
        if value:
            return value, f"CA bundle {value} (${variable})"
    system = ssl.get_default_verify_paths().cafile
    if system and os.path.isfile(system):
        return system, f"system CAs ({system})"
    return True, "certifi CA bundle"


def resolve_tls(
    registry: str,
    netloc: str,
    *,
    insecure: bool = False,
    cert_dirs: Sequence[Path] | None = None,
    environ: Mapping[str, str] | None = None,
) -> TLSSettings:
    """TLS trust for `netloc` (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    if insecure:
        return TLSSettings(False, None, "certificate verification disabled (insecure)")
    base, base_description = _base_bundle(env)
    if isinstance(base, str) and not os.path.exists(base):
        raise RegistryTLSError(
            registry,
            f"The CA bundle {base} configured for registry {registry} does not exist: fix or "
            "unset REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.",
        )
    roots = cert_dirs if cert_dirs is not None else docker_cert_dirs(env)
    directory = _host_cert_dir(netloc, roots)
    if directory is None:
        return TLSSettings(base, None, base_description)
    ca_files = sorted(str(p) for p in directory.glob("*.crt") if p.is_file())
    client_cert = _client_pair(registry, directory)
    verify: bool | str = base
    description = base_description
    if ca_files:
        verify = _combined_bundle(ca_files, base)
        description = f"CA {', '.join(ca_files)} plus {base_description}"
    if client_cert is not None:
        description += f"; client certificate {client_cert[0]}"
    return TLSSettings(verify, client_cert, description)


def _host_cert_dir(netloc: str, cert_dirs: Sequence[Path]) -> Path | None:
    for root in cert_dirs:
        candidate = root / netloc
        try:
            if candidate.is_dir() and any(
                p.suffix in (".crt", ".cert", ".key") for p in candidate.iterdir()
            ):
                return candidate
        except OSError:
            continue
    return None


def _client_pair(registry: str, directory: Path) -> tuple[str, str] | None:
    for cert in sorted(directory.glob("*.cert")):
        key = cert.with_suffix(".key")
        if not key.is_file():
            raise RegistryTLSError(
                registry,
                f"Client certificate {cert} for registry {registry} has no matching key "
                f"{key}: add the key or remove the certificate (Docker refuses this too).",
            )
        return str(cert), str(key)
    return None


_bundle_lock = threading.Lock()
_bundle_dir: str | None = None
_bundles: dict[tuple[tuple[str, int, int], ...], str] = {}


def _file_state(path: str) -> tuple[str, int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (path, -1, -1)
    return (path, stat.st_mtime_ns, stat.st_size)


def _combined_bundle(ca_files: Sequence[str], base: bool | str) -> str:
    """One PEM file with the base bundle and the host's CAs (requests takes one path)."""
    base_path = base if isinstance(base, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
    paths = [base_path, *ca_files]
    state = tuple(_file_state(path) for path in paths)
    with _bundle_lock:
        known = _bundles.get(state)
        if known is not None and os.path.exists(known):
            return known
    combined = _write_bundle(paths)
    with _bundle_lock:
        _bundles[state] = combined
    return combined


def _write_bundle(paths: Sequence[str]) -> str:
    global _bundle_dir
    parts: list[bytes] = []
    for path in paths:
        try:
            parts.append(Path(path).read_bytes().strip() + b"\n")
        except OSError as error:
            logger.debug("cannot read CA file %s: %s", path, error)
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()[:32]
    with _bundle_lock:
        if _bundle_dir is None:
            _bundle_dir = tempfile.mkdtemp(prefix="zenml-docker-ca-")
            atexit.register(shutil.rmtree, _bundle_dir, True)
        target = Path(_bundle_dir) / f"{digest}.pem"
        if not target.exists():
            temporary = target.with_suffix(".tmp")
            temporary.write_bytes(data)
            temporary.replace(target)
    return str(target)


# --- credentials and origins -------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def _host_of(url: str) -> str:
    """Host as `references` writes it (IPv6 in brackets) for loopback checks."""
    host = (urlsplit(url).hostname or "").lower()
    return f"[{host}]" if ":" in host else host


def credentials_allowed(url: str, reference: RegistryReference) -> bool:
    """May credentials travel to `url`? Always over https; over http only to loopback hosts
    or to the very host the user named with `http://`."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    host = _host_of(url)
    if is_loopback_host(host):
        return True
    return (
        reference.scheme_explicit and reference.scheme == "http" and host == reference.host.lower()
    )


def _keeps_credentials(source: str, target: str) -> bool:
    """Same origin, or the same host upgraded from http to https."""
    s_scheme, s_host, s_port = _origin(source)
    t_scheme, t_host, t_port = _origin(target)
    if (s_scheme, s_host, s_port) == (t_scheme, t_host, t_port):
        return True
    return s_host == t_host and s_scheme == "http" and t_scheme == "https"


# --- responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    """What the client needs from an answer; the body is capped and fully read."""

    url: str
    status: int
    headers: CaseInsensitiveDict[str] = field(repr=False)
    www_authenticate: tuple[str, ...]
    body: bytes = field(repr=False)
    credentials_dropped: bool = False
    """A redirect to another origin was followed without our credentials."""

    def text(self, limit: int = 2000) -> str:
        return self.body[:limit].decode("utf-8", "replace")


class BodyTooLargeError(Exception):
    """An answer over its size cap (mapped to a registry or token service error)."""


# --- the transport -----------------------------------------------------------------------


class Transport:
    """One registry's HTTP: a proxy-aware, netrc-free session plus per-host TLS trust."""

    def __init__(
        self,
        reference: RegistryReference,
        *,
        insecure: bool = False,
        timeouts: Timeouts | None = None,
        counter: RequestCounter | None = None,
        steps: list[str] | None = None,
        cert_dirs: Sequence[Path] | None = None,
    ) -> None:
        self.reference = reference
        self.registry = reference.resource_id
        self.insecure = insecure
        self.timeouts = timeouts or Timeouts()
        self.counter = counter if counter is not None else RequestCounter()
        self.steps = steps if steps is not None else []
        self._cert_dirs = cert_dirs
        self._tls: dict[str, TLSSettings] = {}
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def tls_for(self, url: str) -> TLSSettings:
        """TLS trust for the host of `url`; `insecure` only for the registry's own host."""
        parts = urlsplit(url)
        netloc = parts.netloc.rsplit("@", 1)[-1].lower()
        if netloc not in self._tls:
            registry_host = urlsplit(self.reference.api_url).netloc.lower()
            self._tls[netloc] = resolve_tls(
                self.registry,
                netloc,
                insecure=self.insecure and netloc == registry_host,
                cert_dirs=self._cert_dirs,
            )
        return self._tls[netloc]

    def describe_transport(self, url: str) -> str:
        if urlsplit(url).scheme.lower() == "http":
            return "plain HTTP (no TLS)"
        return f"TLS, {self.tls_for(url).description}"

    def _proxies(self, url: str) -> dict[str, str]:
        if is_loopback_host(_host_of(url)):
            return {}
        return dict(requests.utils.get_environ_proxies(url))

    def request(
        self,
        method: str,
        url: str,
        *,
        role: Role,
        authorization: str | None = None,
        auth_label: str = "",
        data: Mapping[str, str] | None = None,
        data_has_credentials: bool = False,
        params: Sequence[tuple[str, str]] | None = None,
        max_body: int = 64 * 1024,
    ) -> HttpResponse:
        """Send one request, following redirects safely; every hop counts as a round trip.

        `authorization` is a complete header value; `auth_label` says what it is for the
        step log ("Basic", "bearer token") without showing it.
        """
        carries_credentials = authorization is not None or data_has_credentials
        if carries_credentials and not credentials_allowed(url, self.reference):
            raise InsecureTransportError(
                self.registry,
                f"Refusing to send credentials for registry {self.registry} over plain HTTP "
                f"to {_origin_text(url)}: use https, or name the registry with http:// if "
                "it really is a plain-HTTP registry on a network you trust.",
            )
        current_url, current_method = url, method
        current_data = data
        body_has_credentials = data_has_credentials
        current_params = params
        dropped = False
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send_once(
                current_method,
                current_url,
                role=role,
                authorization=authorization,
                auth_label=auth_label,
                data=current_data,
                params=current_params,
                max_body=max_body,
            )
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
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise _error_for_role(
                    role,
                    self.registry,
                    f"The {_role_text(role)} of registry {self.registry} redirected to an "
                    f"unsupported location {_origin_text(target)}.",
                )
            same = _keeps_credentials(response.url, target)
            if response.status in (307, 308):
                if body_has_credentials and not same:
                    raise InsecureTransportError(
                        self.registry,
                        f"The token service of registry {self.registry} redirected a request "
                        f"carrying credentials to {_origin_text(target)}; refusing to resend "
                        "them to another host.",
                    )
            else:
                if current_method == "POST":
                    current_method, current_data = "GET", None
                    body_has_credentials = False
            if not same and authorization is not None:
                logger.debug("redirect to %s: dropping credentials", _origin_text(target))
                authorization, auth_label, dropped = None, "", True
            if authorization is not None and not credentials_allowed(target, self.reference):
                authorization, auth_label, dropped = None, "", True
            current_url, current_params = target, None
        raise _error_for_role(
            role,
            self.registry,
            f"The {_role_text(role)} of registry {self.registry} redirected more than "
            f"{MAX_REDIRECTS} times (last: {_origin_text(current_url)}).",
        )

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        role: Role,
        authorization: str | None,
        auth_label: str,
        data: Mapping[str, str] | None,
        params: Sequence[tuple[str, str]] | None,
        max_body: int,
    ) -> HttpResponse:
        headers = {"Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        tls = self.tls_for(url) if urlsplit(url).scheme.lower() == "https" else None
        started = time.monotonic()
        self.counter.add(role)
        try:
            with warnings.catch_warnings():
                if tls is not None and tls.verify is False:
                    warnings.simplefilter("ignore", InsecureRequestWarning)
                raw = self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=dict(data) if data is not None else None,
                    params=list(params) if params else None,
                    timeout=(self.timeouts.connect, self.timeouts.read),
                    verify=tls.verify if tls is not None else True,
                    cert=tls.client_cert if tls is not None else None,
                    proxies=self._proxies(url),
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    body = self._read_body(raw, started, max_body)
                finally:
                    raw.close()
        except BodyTooLargeError:
            self._step(method, url, auth_label, "body too large")
            message = (
                f"The {_role_text(role)} {_origin_text(url)} of registry {self.registry} sent "
                f"an answer larger than {max_body // 1024} KiB; refusing it. Check the URL."
            )
            if role == "token":
                raise TokenServiceError(self.registry, message) from None
            raise NotARegistryError(self.registry, message) from None
        except requests.exceptions.SSLError as error:
            self._step(method, url, auth_label, "TLS failure")
            raise self._tls_error(url, role, error) from None
        except (requests.exceptions.Timeout, ReadTimeoutError, _DeadlineError) as error:
            self._step(method, url, auth_label, "timeout")
            raise RegistryUnreachableError(
                self.registry,
                f"The {_role_text(role)} {_origin_text(url)} for registry {self.registry} did not "
                f"answer in time ({_timeout_text(error, self.timeouts)}). Is it running and is "
                "the URL right? A firewall that drops packets looks like this too.",
            ) from None
        except (requests.exceptions.RequestException, HTTPError) as error:
            self._step(method, url, auth_label, "no answer")
            raise RegistryUnreachableError(
                self.registry,
                f"Cannot reach {_role_text(role)} {_origin_text(url)} for registry "
                f"{self.registry}: {summarize_connection_error(error)}. Is the registry running "
                "and is the URL (host, port, http/https) right?",
            ) from None
        challenges = tuple(raw.raw.headers.getlist("WWW-Authenticate")) if raw.raw else ()
        self._step(method, url, auth_label, str(raw.status_code))
        return HttpResponse(
            url=raw.url or url,
            status=raw.status_code,
            headers=CaseInsensitiveDict(dict(raw.headers)),
            www_authenticate=challenges,
            body=body,
        )

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

    def _step(self, method: str, url: str, auth_label: str, outcome: str) -> None:
        shown = urlsplit(url)
        text = f"{method} {shown.scheme}://{shown.netloc}{shown.path}"
        if auth_label:
            text += f" ({auth_label})"
        text += f" -> {outcome}"
        self.steps.append(text)
        logger.debug("%s", text)

    def _tls_error(self, url: str, role: Role, error: Exception) -> RegistryError:
        netloc = urlsplit(url).netloc
        reason = summarize_connection_error(error)
        if "wrong version number" in reason.lower() or "record layer" in reason.lower():
            return RegistryTLSError(
                self.registry,
                f"The {_role_text(role)} {_origin_text(url)} for registry {self.registry} does not "
                "speak TLS (it looks like plain HTTP). If it really is a plain-HTTP registry, "
                f"name it http://{netloc}.",
            )
        trust = self.tls_for(url).description
        return RegistryTLSError(
            self.registry,
            f"TLS verification of {_role_text(role)} {_origin_text(url)} for registry "
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


class _DeadlineError(Exception):
    """The whole exchange took longer than `Timeouts.deadline`."""


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


def _role_text(role: Role) -> str:
    return "registry" if role == "registry" else "token service"


def _origin_text(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_for_role(role: Role, registry: str, message: str) -> RegistryError:
    if role == "token":
        return TokenServiceError(registry, message)
    return RegistryError(registry, message)


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
