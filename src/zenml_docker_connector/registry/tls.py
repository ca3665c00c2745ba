"""Whom to trust for TLS to one registry host, decided the way Docker decides.

- Per-host directories `/etc/docker/certs.d/<host[:port]>/` (rootless
  `~/.config/docker/certs.d/`, then containers' `/etc/containers/certs.d/` and
  `~/.config/containers/certs.d/`; the first with files wins): each `*.crt` is *added to* the
  base bundle, as Docker adds them to the system pool; a `*.cert`/`*.key` pair is the client
  certificate. The base bundle: `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`, the system store, certifi.
- `$DOCKER_CERT_PATH` is not used: it is for a TLS-protected Docker *daemon*, and the docker
  CLI never presents it to registries.

`requests` takes one CA file, so base and per-host CAs are joined into a temporary PEM file
(reused while the sources are unchanged, removed at exit). Parsing it is most of a handshake's
CPU, so `TLSSettings.ssl_context` keeps one `SSLContext` per trust configuration per process.
`ZENML_DOCKER_CONNECTOR_TLS_CONTEXT_CACHE=0` (read once, at import) turns that off, so every new
connection builds its own context from the paths again: only for measuring what the cache saves.
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
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests
from urllib3.util import create_urllib3_context

from zenml_docker_connector.errors import RegistryTLSError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TLSSettings:
    """What `requests` gets as `verify`/`cert` for one host, and how to say it to a user."""

    verify: bool | str
    client_cert: tuple[str, str] | None
    description: str

    def cache_key(self) -> tuple[str, str]:
        """A non-secret identity of this trust configuration (paths, never key contents)."""
        return (str(self.verify), "|".join(self.client_cert or ()))

    def ssl_context(self) -> ssl.SSLContext | None:
        """The process's one context for this trust (CAs, client certificate, `insecure`),
        rebuilt when one of its files changed; None when the files do not load (the
        connection then takes the paths and fails as it always did)."""
        if not CONTEXT_CACHE:
            return None
        ca_file = self.verify if isinstance(self.verify, str) else None
        if self.verify is True:
            ca_file = requests.utils.DEFAULT_CA_BUNDLE_PATH
        files = [path for path in (ca_file, *(self.client_cert or ())) if path]
        key = (self.verify is False, ca_file, self.client_cert, *map(_file_state, files))
        with _bundle_lock:
            known = _contexts.get(key)
            if known is not None:
                _contexts.move_to_end(key)
                return known
        context = _build_context(ca_file, self.client_cert)
        if context is not None:
            with _bundle_lock:
                _contexts[key] = context
                while len(_contexts) > MAX_CONTEXTS:
                    _contexts.popitem(last=False)
        return context


MAX_CONTEXTS = 64
CONTEXT_CACHE_ENV = "ZENML_DOCKER_CONNECTOR_TLS_CONTEXT_CACHE"
CONTEXT_CACHE = os.environ.get(CONTEXT_CACHE_ENV, "1").strip() != "0"
"""False only for benchmarks: `ssl_context` then leaves every connection to build its own."""
_contexts: OrderedDict[tuple[object, ...], ssl.SSLContext] = OrderedDict()


def _build_context(
    ca_file: str | None, client_cert: tuple[str, str] | None
) -> ssl.SSLContext | None:
    """What urllib3 would build for each connection from these files, built once."""
    if ca_file is None:
        return create_urllib3_context(cert_reqs=ssl.CERT_NONE)
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    try:
        context.load_verify_locations(cafile=ca_file)
        if client_cert is not None:
            context.load_cert_chain(*client_cert)
    except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
        logger.debug("cannot build a TLS context from %s: %s", ca_file, error)
        return None
    return context


def docker_cert_dirs(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Where Docker (rootful, rootless) and containers tools look for per-registry certs."""
    env = os.environ if environ is None else environ
    docker, containers = Path("/etc/docker/certs.d"), Path("/etc/containers/certs.d")
    try:
        home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    except RuntimeError:  # no HOME and no passwd entry (some containers)
        return [docker, containers]
    return [docker, home / "docker" / "certs.d", containers, home / "containers" / "certs.d"]


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
