"""Section 6: `list-resources` over N docker connectors, one check after another vs side by side.

The parent starts an htpasswd registry with one user per connector (distinct credentials, so
no check can join an identical one already running) and, for some rows, one silent registry: a
loopback listener whose accept queue is full, so the kernel drops every SYN, as a firewall
would. A child process with its own ZenML home registers the connectors (unverified) in the
local store and times the store's listing (after an untimed one, which loads what a first
listing loads), first with `LISTING_WORKERS_ENV=1` (ZenML's own sequential loop), then with
the default workers; both must list the same resources.

The same rows again with a 40 ms round trip to every registry (`delayed`: the run moves into
a private network namespace whose loopback holds each packet 20 ms, see netns.py; root only).

Behind a real ZenML server (`served`): two servers with the plugin, started as
tests/testbed/zenml_server_fixture.py starts one, "before" with `LISTING_WORKERS_ENV=1` and
"after" with the default; for each row a client process per server registers the connectors
there (unverified) and times `zen_store.list_service_connector_resources`, the REST call that
`Client().list_service_connector_resources` makes (with a page size of 1000: ZenML's default
page of 20 would list only 20 of 50), so the server runs the checks. In the delayed namespace
the servers' own ports are exempt from the delay: only the server's link to the registries
is 40 ms long, the client's link to the server is plain loopback.

    python benchmarks/listing.py --child SPEC   (run by `measure`; SPEC is JSON)
    python benchmarks/listing.py --served-child SPEC   (run by `served`, against one server)
    python benchmarks/listing.py --delayed MODE BINARY SCRATCH SIZES   (run by `delayed`)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import bed
import netns

from testbed.factory import Testbed
from testbed.net import LOOPBACK
from zenml_docker_connector.glue.resource_listing import LISTING_WORKERS_ENV

ONE_WAY_MS = 20
SIZES = ((1, False), (10, False), (10, True), (50, False), (50, True))
"""(N, whether one of the N is the silent registry)."""
QUICK_SIZES = SIZES[:3]
SERVED_VARIANTS: dict[str, dict[str, str]] = {
    "sequential_s": {LISTING_WORKERS_ENV: "1"},
    "side_by_side_s": {},
}
"""Per timed column, the server's extra environment (none: the default 8 workers)."""
HERE = Path(__file__).resolve().parent


@contextlib.contextmanager
def syn_dropper() -> Iterator[str]:
    """host:port of a listener that never accepts and whose queue is full: SYNs go unanswered."""
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen(0)
    fillers: list[socket.socket] = []
    with contextlib.ExitStack() as stack:
        stack.callback(server.close)
        for _ in range(2):
            filler = socket.socket()
            stack.callback(filler.close)
            filler.settimeout(1.0)
            with contextlib.suppress(OSError):
                filler.connect(server.getsockname())
            fillers.append(filler)
        yield f"{LOOPBACK}:{server.getsockname()[1]}"


@contextlib.contextmanager
def _registries(
    scratch: Path, sizes: Sequence[tuple[int, bool]]
) -> Iterator[list[tuple[int, bool, dict[str, Any]]]]:
    """The htpasswd registry with a user per connector and the silent registry; per row
    (N, silent) the spec of its connectors: registry, users and the silent host or None."""
    registry_binary, htpasswd = (shutil.which(n) or n for n in ("docker-registry", "htpasswd"))
    testbed = Testbed(
        scratch / "listing", registry_binary=registry_binary, htpasswd_binary=htpasswd
    )
    try:
        registry = testbed.registry("htpasswd")
        most = max(size for size, _ in sizes)
        users = [(f"lister{n}", f"pw-{n}-{time.monotonic_ns()}") for n in range(most)]
        for user, password in users:
            registry.add_user(user, password)
        with syn_dropper() as silent:
            rows = []
            for size, with_silent in sizes:
                spec = {"registry": registry.host, "users": users[:size], "silent": None}
                if with_silent:
                    spec["users"], spec["silent"] = users[: size - 1], silent
                rows.append((size, with_silent, spec))
            yield rows
    finally:
        testbed.stop()


def measure(
    scratch: Path, sizes: Sequence[tuple[int, bool]], delay: netns.Delay | None = None
) -> list[dict[str, Any]]:
    """One row per (N, silent): wall time of the sequential and the side-by-side listing
    (`delay`, if any, holds every link on this loopback: nothing to exempt)."""
    with _registries(scratch, sizes) as specs:
        return [
            _child(scratch / f"home-{size}-{silent}", spec) | {"n": size, "silent": silent}
            for size, silent, spec in specs
        ]


def served(
    scratch: Path, sizes: Sequence[tuple[int, bool]], delay: netns.Delay | None = None
) -> list[dict[str, Any]]:
    """`measure`'s rows behind the two servers (they take turns per row); with `delay`, the
    servers' ports are exempt from it."""
    directory = scratch / "listing-served"
    with (
        _registries(directory, sizes) as specs,
        bed.zenml_servers(directory, SERVED_VARIANTS) as running,
    ):
        if delay is not None:
            for server in running.values():
                netns.undelayed_port(int(server.url.rsplit(":", 1)[1]))
        rows = []
        for size, silent, spec in specs:
            row: dict[str, Any] = {"n": size, "silent": silent}
            spec["prefix"] = f"bench-{size}-{int(silent)}-"
            outcomes = []
            for label, server in running.items():
                env = server.client(directory / f"client-{label}-{size}-{silent}").env
                env.update(ZENML_LOGGING_VERBOSITY="ERROR", PYTHONPATH=str(HERE))
                result = _spawn("--served-child", env, spec)
                row[label], row["listed"] = result["listing_s"], result["listed"]
                outcomes.append(result["outcome"])
            if outcomes[0] != outcomes[1]:
                raise bed.Failed(f"N={size}: the two servers listed different outcomes")
            rows.append(row)
    return rows


def delayed(
    scratch: Path, sizes: Sequence[tuple[int, bool]], mode: str = "local"
) -> list[dict[str, Any]]:
    """`measure` (or `served`: `mode`) inside a new namespace with a 40 ms round trip on its
    loopback."""
    if os.geteuid() != 0:
        raise bed.Failed("needs root (a network namespace and iptables rules)")
    directory = scratch / f"listing-delayed-{mode}"
    directory.mkdir(parents=True, exist_ok=True)
    try:
        binary = netns.build_delay(directory)
        with netns.namespace() as name:
            command = ["ip", "netns", "exec", name, sys.executable, __file__, "--delayed", mode]
            command += [str(binary), str(directory), json.dumps(sizes)]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=1800)
    except netns.NamespaceError as error:
        raise bed.Failed(str(error)) from error
    if done.returncode != 0:
        raise bed.Failed(f"the listing inside the namespace exited {done.returncode}")
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def _inside(
    mode: str, binary: Path, scratch: Path, sizes: Sequence[tuple[int, bool]]
) -> list[dict[str, Any]]:
    with netns.Delay(binary) as delay:
        delay.set(ONE_WAY_MS)
        return MODES[mode](scratch, sizes, delay)


def _child(home: Path, spec: dict[str, Any]) -> dict[str, Any]:
    env = bed.base_env(home)
    env["PYTHONPATH"] = str(HERE)
    return _spawn("--child", env, spec)


def _spawn(mode: str, env: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    """Run this file as a child in `mode`; the JSON it printed last."""
    command = [sys.executable, __file__, mode, json.dumps(spec)]
    process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if process.returncode != 0:
        last = (process.stderr or process.stdout).strip().splitlines()[-1:]
        raise bed.Failed(f"listing child exited {process.returncode}: {' '.join(last)}")
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def _register(spec: dict[str, Any], prefix: str) -> Any:
    """In a child: a docker connector per user (the silent registry's first), unverified;
    the ZenML client they were registered with."""
    from zenml.client import Client

    client = Client()
    targets = [(user, password, spec["registry"]) for user, password in spec["users"]]
    if spec["silent"]:
        targets.insert(0, ("silent", "x", spec["silent"]))
    for index, (user, password, host) in enumerate(targets):
        client.create_service_connector(
            name=f"{prefix}{index:03d}",
            connector_type="docker",
            auth_method="password",
            configuration={"username": user, "password": password, "registry": host},
            verify=False,
        )
    return client


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """In the child: register, then time both listings; the outcomes must be equal."""
    from zenml.models import ServiceConnectorFilter

    from zenml_docker_connector.glue.resource_listing import LISTING_WORKERS_ENV

    client = _register(spec, "bench-")
    result: dict[str, Any] = {}
    outcomes = []
    runs = (("warm-up", "1"), ("sequential_s", "1"), ("side_by_side_s", ""))
    for label, workers in runs:
        os.environ[LISTING_WORKERS_ENV] = workers
        query = ServiceConnectorFilter(resource_type="docker-registry", size=1000)
        started = time.perf_counter()
        listed = client.zen_store.list_service_connector_resources(query)
        result[label] = time.perf_counter() - started
        outcomes.append(sorted((r.name, repr(r.resources)) for r in listed))
    result.pop("warm-up")
    if outcomes[1] != outcomes[2]:
        raise SystemExit("the two listings differ")
    result["listed"] = len(outcomes[0])
    return result


def _run_served_child(spec: dict[str, Any]) -> dict[str, Any]:
    """In a client of one server: register unverified, list once untimed, then once timed."""
    from zenml.models import ServiceConnectorFilter

    client = _register(spec, spec["prefix"])
    query = ServiceConnectorFilter(
        name=f"startswith:{spec['prefix']}", resource_type="docker-registry", size=1000
    )
    client.zen_store.list_service_connector_resources(query)  # warm-up
    started = time.perf_counter()
    listed = client.zen_store.list_service_connector_resources(query)
    elapsed = time.perf_counter() - started
    outcome = sorted((r.name, repr(r.resources)) for r in listed)
    return {"listing_s": elapsed, "listed": len(outcome), "outcome": outcome}


def render(result: dict[str, Any]) -> list[str]:
    table = [["store", "RTT", "N", "silent", "sequential", "side by side", "ratio", "listed"]]
    lines = []
    for key, rows in result.items():
        if isinstance(rows, str):
            lines.append(f"  {key}: {rows}")
            continue
        store, rtt = key.split(", ")
        table += [[store, rtt, *cells] for cells in _cells(rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return [
        "  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in table
    ] + lines


def _cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    table = []
    for row in rows:
        seq, par = row["sequential_s"], row["side_by_side_s"]
        silent = "1" if row["silent"] else "0"
        cells = [str(row["n"]), silent, f"{seq * 1000:.0f} ms", f"{par * 1000:.0f} ms"]
        table.append([*cells, f"{par / seq:.2f}x", str(row["listed"])])
    return table


def both(scratch: Path, sizes: Sequence[tuple[int, bool]]) -> dict[str, Any]:
    """The rows on plain loopback, then at a 40 ms round trip (or why not), for the local
    store and behind a ZenML server."""
    result: dict[str, Any] = {}
    for mode, run in MODES.items():
        for rtt, how in (("0 ms", run), (f"{2 * ONE_WAY_MS} ms", None)):
            try:
                result[f"{mode}, {rtt}"] = (
                    how(scratch, sizes) if how else delayed(scratch, sizes, mode)
                )
            except bed.Failed as error:
                result[f"{mode}, {rtt}"] = f"not measured: {error}"
    return result


MODES = {"local": measure, "server": served}


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    print(json.dumps(_run_child(json.loads(sys.argv[2]))))
elif __name__ == "__main__" and sys.argv[1:2] == ["--served-child"]:
    print(json.dumps(_run_served_child(json.loads(sys.argv[2]))))
elif __name__ == "__main__" and sys.argv[1:2] == ["--delayed"]:
    chosen = [(int(n), bool(silent)) for n, silent in json.loads(sys.argv[5])]
    print(json.dumps(_inside(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), chosen)))
