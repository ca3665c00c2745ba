"""`docker-credential-zenml ACTION`: the docker credential-helper protocol, exactly.

As docker/docker-credential-helpers define it: one argument; `get` reads a server URL on
stdin and prints `{"ServerURL", "Username", "Secret"}`; a registry no connector serves gets
`credentials not found in native keychain` and exit 1, as docker expects; `list` prints
`{server URL: username}`; `store` and `erase` read what docker sends; `version`. Every
failure is one line on stdout (where docker reads it) and exit 1, never a traceback, and
never a secret: messages name registries, connectors and files only.

`store` (`docker login` for a served registry) accepts and discards what it is given:
the connector is the source of the credentials, and nothing the helper receives is written
anywhere. `erase` (`docker logout`) drops the cached credential of that registry.
"""

from __future__ import annotations

import json
import sys
import time

from zenml_docker_connector import __version__
from zenml_docker_connector.helper import cache, mapping
from zenml_docker_connector.helper.fetch import Answer, fetch
from zenml_docker_connector.helper.files import HelperError
from zenml_docker_connector.helper.keys import registry_key, server_url_of
from zenml_docker_connector.helper.mapping import Route

NAME = "docker-credential-zenml"
NOT_FOUND = "credentials not found in native keychain"
MISSING_URL = "no credentials server URL"
MAX_INPUT_BYTES = 64 * 1024
"""A server URL is short and docker's `store` JSON a few kB; more is not protocol input."""
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: a warm `get` pays for every import
    from typing import BinaryIO, TextIO

USAGE = f"Usage: {NAME} <store|get|erase|list|version>"


class NotFound(Exception):
    """No connector serves the registry: docker's own "not found" answer."""


def main() -> None:
    """The console script: exit status and output exactly as docker expects."""
    sys.exit(run(sys.argv[1:], sys.stdin.buffer, sys.stdout))


def run(args: list[str], stdin: BinaryIO, out: TextIO) -> int:
    """Do one action; every failure becomes one line on `out` and exit status 1."""
    try:
        text = _act(args, stdin)
    except NotFound:
        text, status = NOT_FOUND, 1
    except HelperError as error:
        text, status = _one_line(str(error)), 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - docker must get one line, never a traceback
        text, status = f"{NAME}: internal error ({type(error).__name__})", 1
    else:
        status = 0
    if text:
        out.write(text + "\n")
        out.flush()
    return status


def _act(args: list[str], stdin: BinaryIO) -> str:
    if len(args) != 1:
        raise HelperError(USAGE)
    action = args[0]
    if action == "version":
        return f"{NAME} (zenml-docker-connector) {__version__}"
    if action == "list":
        routes = mapping.read_routes(mapping.mapping_path())
        return json.dumps({server_url_of(key): r.username for key, r in routes.items()})
    if action == "get":
        return get(_read_input(stdin).strip())
    if action == "store":
        store(_read_input(stdin))
        return ""
    if action == "erase":
        erase(_read_input(stdin).strip())
        return ""
    raise HelperError(USAGE)


def get(server_url: str) -> str:
    route = _route_for(server_url)
    username, secret = credentials_for(route, time.time())
    return json.dumps({"ServerURL": server_url, "Username": username, "Secret": secret})


def store(payload: str) -> None:
    """Check what `docker login` sends and discard it (the connector stays the source)."""
    try:
        data = json.loads(payload) if payload.strip() else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise HelperError(f"{NAME} store: the input is not the JSON docker sends")
    server_url, username = data.get("ServerURL"), data.get("Username")
    if not isinstance(server_url, str) or not server_url.strip():
        raise HelperError(MISSING_URL)
    if not isinstance(username, str) or not username:
        raise HelperError("no credentials username")
    try:
        _route_for(server_url)
    except NotFound:
        raise HelperError(
            f"{NAME} stores nothing, and no ZenML connector serves {registry_key(server_url)}; "
            "remove its credHelpers entry to keep logins there in docker's own store"
        ) from None


def erase(server_url: str) -> None:
    """`docker logout`: forget the cached credential; the mapping stays (configure --undo)."""
    route = _route_for(server_url)
    store_ = cache.open_store(create=False)
    if store_ is not None:
        store_.drop(store_.entry_path(route.registry, route.connector_id))


def credentials_for(route: Route, now: float) -> tuple[str, str]:
    """(username, secret) from the cache while fresh, else from ZenML (once, under a lock)."""
    store_ = cache.open_store(create=False)
    if store_ is not None:
        entry = store_.load(store_.entry_path(route.registry, route.connector_id))
        if entry is not None and entry.fresh(now):
            return entry.username, entry.secret
    store_ = cache.open_store(create=True)
    if store_ is None:
        answer = fetch(route, None)
        return answer.username, answer.secret
    return _refresh(store_, route, now)


def _refresh(store_: cache.Store, route: Route, now: float) -> tuple[str, str]:
    path = store_.entry_path(route.registry, route.connector_id)
    lock = store_.lock(path)
    try:
        entry = store_.load(path)
        now = max(now, time.time())  # we may have waited for another helper's fetch
        if entry is not None and entry.fresh(now):
            return entry.username, entry.secret
        known = entry.updated if entry is not None and entry.usable(now) else None
        try:
            answer = fetch(route, known)
        except HelperError:
            store_.drop(path)  # a deleted or broken connector is not served from the cache
            raise
        entry = _next_entry(entry, answer, time.time())
        store_.save(path, entry)
        return entry.username, entry.secret
    finally:
        store_.unlock(lock)


def _next_entry(entry: cache.Entry | None, answer: Answer, now: float) -> cache.Entry:
    recheck = now + cache.recheck_after()
    if answer.unchanged and entry is not None:
        return cache.Entry(entry.username, entry.secret, entry.updated, entry.expires, recheck)
    expires = cache.serve_until(answer.expires_at, now)
    return cache.Entry(answer.username, answer.secret, answer.updated, expires, recheck)


def _route_for(server_url: str) -> Route:
    if not server_url:
        raise HelperError(MISSING_URL)
    route = mapping.read_routes(mapping.mapping_path()).get(registry_key(server_url))
    if route is None:
        raise NotFound
    return route


def _read_input(stdin: BinaryIO) -> str:
    raw = stdin.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise HelperError(f"{NAME}: the input is larger than {MAX_INPUT_BYTES} bytes; refused")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HelperError(f"{NAME}: the input is not UTF-8 text") from None


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return "".join(ch if ch.isprintable() else "?" for ch in line)[:500]
