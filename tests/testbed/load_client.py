"""One client process of the sustained-load driver (`testbed.load`), run as a script.

`setup SPEC` registers the connectors SPEC lists, unverified, and prints their ids by kind.
`run SPEC` logs in, says "ready", waits for "go" on stdin, then loops until SPEC's seconds
are up: for each kind in turn, on the next of its connectors, `verify` (what `zenml
service-connector verify` sends), `verify` for resource type `docker-registry`, and
`get_service_connector_client` (the server builds the client, checks it and hands over the
credentials); after each round one `list_service_connector_resources(connector_type=
"docker")` (the server checks every docker connector it holds). Each outcome is printed at
once as one JSON line: operation, kind, outcome class, and the message when it is not "ok"
(the parent keeps the first of each class). Only the standard library and ZenML are
imported here, so the process starts like any ZenML client.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from typing import Any

OUTCOMES = ("ok", "refused-credentials", "hostile-rejected", "unreachable", "unexpected")
_MARKS = (
    ("refused-credentials", ("rejected the",)),
    ("hostile-rejected", ("refusing it", "does not behave like an OCI distribution")),
    ("unreachable", ("Cannot reach", "out of reach", "did not answer")),
)


def classify(message: str) -> str:
    """The outcome class of an error message (our messages say what happened in words)."""
    for outcome, marks in _MARKS:
        if any(mark in message for mark in marks):
            return outcome
    return "unexpected"


def _emit(op: str, kind: str, outcome: str, message: str = "") -> None:
    line = {"op": op, "kind": kind, "outcome": outcome, "message": message[:400]}
    print(json.dumps(line), flush=True)


def _attempt(op: str, kind: str, call: Any) -> None:
    """Run `call`; report "ok" or the class of what it raised (any exception counts)."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - every failure is classified, none ends the run
        message = f"{type(error).__name__}: {error}"
        _emit(op, kind, classify(message), message)
    else:
        _emit(op, kind, "ok")


def _handed_out(connector: Any) -> None:
    """The client got credentials: a username and a non-empty password (never printed)."""
    configuration = connector.config
    password = configuration.password
    secret = password.get_secret_value() if hasattr(password, "get_secret_value") else password
    if not configuration.username or not secret:
        raise RuntimeError("the server handed out a client without credentials")


def _listing(client: Any, kinds: dict[str, str]) -> None:
    """One listing; each entry of ours is reported as a `list` outcome of its kind."""
    try:
        entries = client.list_service_connector_resources(connector_type="docker")
    except Exception as error:  # noqa: BLE001
        message = f"{type(error).__name__}: {error}"
        _emit("list", "(request)", classify(message), message)
        return
    _emit("list", "(request)", "ok")
    for entry in entries:
        kind = kinds.get(str(entry.id))
        if kind is not None:
            error = entry.error or ""
            _emit("list-entry", kind, classify(error) if error else "ok", error)


def _connect(client: Any, connector: Any) -> None:
    _handed_out(client.get_service_connector_client(connector, resource_type="docker-registry"))


def _round(client: Any, ids: dict[str, list[str]], turn: int) -> None:
    from uuid import UUID

    verify = client.verify_service_connector
    for kind, kind_ids in ids.items():
        connector = UUID(kind_ids[turn % len(kind_ids)])
        _attempt("verify", kind, functools.partial(verify, connector))
        typed = functools.partial(verify, connector, resource_type="docker-registry")
        _attempt("verify-type", kind, typed)
        _attempt("connect", kind, functools.partial(_connect, client, connector))


def run(spec: dict[str, Any]) -> None:
    from zenml.client import Client

    client = Client()
    client.active_user  # noqa: B018 - logs in before the clock starts
    print("ready", flush=True)
    sys.stdin.readline()
    ids: dict[str, list[str]] = spec["ids"]
    kinds = {connector: kind for kind, kind_ids in ids.items() for connector in kind_ids}
    deadline = time.monotonic() + spec["seconds"]
    turn = spec["offset"]
    while time.monotonic() < deadline:
        _round(client, ids, turn)
        _listing(client, kinds)
        turn += 1
    print(json.dumps({"done": True}), flush=True)


def setup(spec: dict[str, Any]) -> None:
    from zenml.client import Client

    client, ids = Client(), {}
    for kind, connectors in spec["connectors"].items():
        ids[kind] = []
        for connector in connectors:
            model, _ = client.create_service_connector(
                name=connector["name"],
                connector_type="docker",
                auth_method="password",
                configuration=connector["configuration"],
                verify=False,
                list_resources=False,
            )
            ids[kind].append(str(model.id))
    print(json.dumps({"ids": ids}), flush=True)


if __name__ == "__main__":
    {"setup": setup, "run": run}[sys.argv[1]](json.loads(sys.stdin.readline()))
