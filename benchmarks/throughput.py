"""Section 7: verifications per second of a real ZenML server running the plugin, for M clients.

Two servers (uvicorn, started as tests/testbed/zenml_server_fixture.py starts one) verify
docker connectors against the TLS htpasswd registry of tls_bed.py, trusting its CA through
certs.d (XDG_CONFIG_HOME): "before" with `ZENML_DOCKER_CONNECTOR_TLS_CONTEXT_CACHE=0` (every
connection builds its own SSLContext, as before issue 18 item 1), "after" with the one cached
context per trust. Every connector has its own registry user, so no check is answered from the
server's verdict cache, and each is verified once. M client processes call
`Client().verify_service_connector(id)` (what `zenml service-connector verify` sends) back to
back for a fixed time or until their connectors run out; the server's CPU seconds come from
/proc/<pid>/stat before and after. The two servers take turns, per M, so load drifts hit both.

    python benchmarks/throughput.py --setup SPEC | --client SPEC   (children of `measure`)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bed
import tls_bed

from testbed.process import die_with_parent
from testbed.zenml_server_fixture import ZenServer
from zenml_docker_connector.registry.tls import CONTEXT_CACHE_ENV

CLIENTS, SECONDS = (1, 4, 8), 20.0
QUICK_CLIENTS, QUICK_SECONDS = (1, 4), 5.0
RATE_CEILING = 20
"""Connectors made per run: `seconds` x this rate (2 shared cores: 4-14/s); a run using them
all before its time is up ends early and says so ("all")."""
VARIANTS = {"before": "0", "after": "1"}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def servers(
    scratch: Path, config_home: Path
) -> contextlib.AbstractContextManager[dict[str, ZenServer]]:
    """Both servers ("before", "after"), started side by side, stopped at the end."""
    environments = {
        name: {"XDG_CONFIG_HOME": str(config_home), CONTEXT_CACHE_ENV: value}
        for name, value in VARIANTS.items()
    }
    return bed.zenml_servers(scratch, environments)


def _child(mode: str, env: dict[str, str], spec: dict[str, Any]) -> subprocess.Popen[str]:
    command = [sys.executable, __file__, mode, json.dumps(spec)]
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,  # none outlives a benchmark that failed
    )


def _last_json(process: subprocess.Popen[str], what: str) -> Any:
    """The JSON a child printed last (its stdin is closed first: nothing more to say)."""
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    output = process.stdout.read()
    process.wait(timeout=900)
    if process.returncode != 0:
        raise bed.Failed(f"{what} exited {process.returncode}")
    return json.loads(output.strip().splitlines()[-1])


def _setup(
    clients: dict[str, dict[str, str]], url: str, users: Sequence[tuple[str, str]]
) -> dict[str, list[str]]:
    """The connectors (one per user) on every server, made side by side; their ids."""
    spec = {"registry": url, "users": list(users)}
    running = {name: _child("--setup", env, spec) for name, env in clients.items()}
    return {name: _last_json(p, f"setup on {name}") for name, p in running.items()}


def _run(env: dict[str, str], pid: int, ids: Sequence[str], m: int, seconds: float) -> Any:
    """M clients over `ids` (split evenly) for `seconds`; rate, latencies and server CPU."""
    shares = [list(ids[index::m]) for index in range(m)]
    running = [_child("--client", env, {"ids": share, "seconds": seconds}) for share in shares]
    for process in running:  # each says "ready" once it is logged in
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "ready":
                break
        else:
            raise bed.Failed("a client exited before it was ready")
    cpu, started = cpu_seconds(pid), time.perf_counter()
    for process in running:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [_last_json(process, "a client") for process in running]
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    latencies = sorted(t for result in results for t in result["latencies"])
    errors = [e for result in results for e in result["errors"]]
    if not latencies:
        raise bed.Failed("no verification finished")
    count = len(latencies)
    return {
        "verifications": count,
        "per_s": count / elapsed,
        "p50_s": latencies[math.ceil(0.5 * count) - 1],
        "p99_s": latencies[math.ceil(0.99 * count) - 1],
        "server_cpu_s": cpu / count,
        "exhausted": count == len(ids),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def measure(scratch: Path, counts: Sequence[int], seconds: float) -> list[dict[str, Any]]:
    """One row per (M, variant): the servers alternate, per M."""
    per_run = math.ceil(seconds * RATE_CEILING)
    stamp = time.monotonic_ns()
    users = [(f"through{n}", f"pw-{n}-{stamp}") for n in range(1 + per_run * len(counts))]
    with tls_bed.started(scratch / "throughput") as the_bed:
        registry = the_bed.registries["basic"]
        for user, password in users:
            registry.add_user(user, password)
        with servers(scratch / "throughput", the_bed.config_home) as running:
            homes = scratch / "throughput" / "clients"
            clients = {n: s.client(homes / n).env for n, s in running.items()}
            for env in clients.values():
                env["ZENML_LOGGING_VERBOSITY"] = "ERROR"
            ids = _setup(clients, registry.url, users)
            for name, server in running.items():  # warm-up: first imports, challenge
                _run(clients[name], server.process.pid, ids[name][:1], 1, seconds)
            rows = []
            for index, m in enumerate(counts):
                chosen = slice(1 + index * per_run, 1 + (index + 1) * per_run)
                for name, server in running.items():
                    result = _run(clients[name], server.process.pid, ids[name][chosen], m, seconds)
                    rows.append(result | {"clients": m, "variant": name})
    return rows


def _markdown(rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in rows[0]) + "|")
    return lines


def render(rows: list[dict[str, Any]]) -> list[str]:
    """A markdown table: before, after and after/before (CPU: before/after) per M."""
    table = [["M", "TLS context", "verified", "per s", "p50", "p99", "server CPU / check"]]
    notes = []
    by_m: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_m.setdefault(row["clients"], {})[row["variant"]] = row
        cells = [f"{row['verifications']}" + (" (all)" if row["exhausted"] else "")]
        cells += [f"{row['per_s']:.1f}", f"{row['p50_s'] * 1000:.0f} ms"]
        cells += [f"{row['p99_s'] * 1000:.0f} ms", f"{row['server_cpu_s'] * 1000:.1f} ms"]
        label = "per connection" if row["variant"] == "before" else "one per trust"
        table.append([str(row["clients"]), f"{row['variant']} ({label})", *cells])
        if row["errors"]:
            notes.append(f"  M={row['clients']} {row['variant']}: {row['errors']} failed checks, "
                         f"first: {row['first_error']}")  # fmt: skip
    for m, pair in by_m.items():
        before, after = pair["before"], pair["after"]
        ratio = [f"{after[k] / before[k]:.2f}x" for k in ("per_s", "p50_s", "p99_s")]
        cpu = f"{after['server_cpu_s'] / before['server_cpu_s']:.2f}x"
        table.append([str(m), "ratio after / before", "", *ratio, cpu])
    return _markdown(table) + notes


def _setup_child(spec: dict[str, Any]) -> list[str]:
    """In a client process: one unverified connector per user; their ids, in order."""
    from zenml.client import Client

    client, ids = Client(), []
    for index, (user, password) in enumerate(spec["users"]):
        connector = client.create_service_connector(
            name=f"through-{index:04d}",
            connector_type="docker",
            auth_method="password",
            configuration={"username": user, "password": password, "registry": spec["registry"]},
            verify=False,
        )
        ids.append(str(connector[0].id))
    return ids


def _client_child(spec: dict[str, Any]) -> dict[str, Any]:
    """In a client process: log in, say ready, wait for "go", then verify until time is up."""
    from uuid import UUID

    from zenml.client import Client

    client = Client()
    client.active_user  # noqa: B018 - logs in before the clock starts
    print("ready", flush=True)
    sys.stdin.readline()
    deadline = time.monotonic() + spec["seconds"]
    latencies, errors = [], []
    for connector in spec["ids"]:
        if time.monotonic() >= deadline:
            break
        started = time.perf_counter()
        outcome = client.verify_service_connector(UUID(connector))
        latencies.append(time.perf_counter() - started)
        if outcome.error:
            errors.append(str(outcome.error).splitlines()[0][:200])
    return {"latencies": latencies, "errors": errors}


if __name__ == "__main__" and sys.argv[1:2] == ["--setup"]:
    print(json.dumps(_setup_child(json.loads(sys.argv[2]))))
elif __name__ == "__main__" and sys.argv[1:2] == ["--client"]:
    print(json.dumps(_client_child(json.loads(sys.argv[2]))))
