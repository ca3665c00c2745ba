"""Asking ZenML for a connector's credentials, in a child process.

ZenML, pydantic and requests are imported only there (`glue.credential_source`), so the
helper's own process stays small, ZenML's logging can never reach docker's end of the
protocol, and whatever goes wrong inside ZenML comes back as one line. The request and the
answer travel as JSON on the child's stdin and stdout, never on a command line; the child's
stderr is discarded (it may hold ZenML's warnings, which docker would not show anyway).
"""

from __future__ import annotations

import json
import os
import sys

from zenml_docker_connector.helper.files import HelperError
from zenml_docker_connector.helper.mapping import Route

FETCH_MODULE = "zenml_docker_connector.glue.credential_source"
MAX_ANSWER_BYTES = 256 * 1024


class Answer:
    """What ZenML said: new credentials, or that the connector did not change."""

    __slots__ = ("expires_at", "registry", "secret", "unchanged", "updated", "username")

    def __init__(
        self,
        updated: str,
        unchanged: bool,
        username: str = "",
        secret: str = "",
        expires_at: float | None = None,
        registry: str | None = None,
    ) -> None:
        self.updated = updated
        self.unchanged = unchanged
        self.username = username
        self.secret = secret
        self.expires_at = expires_at
        self.registry = registry
        """The registry the credentials are for, as `keys.registry_key` names it."""

    def __repr__(self) -> str:
        return f"Answer(updated={self.updated!r}, unchanged={self.unchanged})"


def fetch(route: Route, known_updated: str | None) -> Answer:
    """Run the child for `route`; `known_updated` lets it answer "unchanged" cheaply."""
    request = {
        "connector": route.connector_id,
        "resource_id": route.resource_id,
        "known_updated": known_updated,
    }
    raw, status = _run_child(json.dumps(request).encode("utf-8"))
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise HelperError(
            f"asking ZenML for the credentials of connector '{route.connector_name}' failed "
            f"(exit status {status}, no answer); run `zenml-docker configure-docker "
            f"{route.connector_name}` to see ZenML's message"
        )
    return _answer(data, route)


def _answer(data: dict[str, object], route: Route) -> Answer:
    error = data.get("error")
    if isinstance(error, str):
        raise HelperError(
            f"{error} (registry {route.registry}, connector '{route.connector_name}')"
        )
    updated, unchanged = data.get("updated"), data.get("unchanged") is True
    username, secret, expires_at = data.get("username"), data.get("secret"), data.get("expires_at")
    valid = isinstance(updated, str) and (
        unchanged
        or (
            isinstance(username, str)
            and isinstance(secret, str)
            and (expires_at is None or isinstance(expires_at, (int, float)))
        )
    )
    if not valid:
        raise HelperError(
            f"ZenML's answer for connector '{route.connector_name}' is malformed; refused"
        )
    assert isinstance(updated, str)
    if unchanged:
        return Answer(updated, True)
    assert isinstance(username, str) and isinstance(secret, str)
    registry = data.get("registry")
    return Answer(
        updated,
        False,
        username,
        secret,
        expires_at,  # type: ignore[arg-type]
        registry if isinstance(registry, str) else None,
    )


def _run_child(request: bytes) -> tuple[bytes, int]:
    """(the child's stdout, its exit status): posix_spawn and pipes, nothing else imported."""
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", FETCH_MODULE],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                (os.POSIX_SPAWN_DUP2, devnull, 2),
            ],
        )
    finally:
        for descriptor in (stdin_read, stdout_write, devnull):
            os.close(descriptor)
    try:
        with os.fdopen(stdin_write, "wb") as pipe:
            pipe.write(request)
    except BrokenPipeError:
        pass
    with os.fdopen(stdout_read, "rb") as pipe:
        raw = pipe.read(MAX_ANSWER_BYTES + 1)
    _, wait_status = os.waitpid(pid, 0)
    if len(raw) > MAX_ANSWER_BYTES:
        raw = b""
    return raw, os.waitstatus_to_exitcode(wait_status)
