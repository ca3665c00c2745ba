"""Sustained load on a real ZenML server running the plugin (issue 19, item 4).

`LoadBed` starts the registries: a good Basic (htpasswd) one, a good token one, users of
the Basic one configured with a wrong password, a slow one (a Basic registry behind a
`SlowRelay` that holds every answer back `SLOW_DELAY` s, well within the 30 s deadline) and a
hostile one (a `LocalServer` that answers in turn with 97 oversized challenge headers, an
endless chunked body or a header block of garbage). Each kind has `users` distinct
connectors (distinct registry users), registered unverified from one client process.

`run_load` then starts `clients` processes (`testbed/load_client.py`) that loop for
`seconds` through the server: `verify`, `verify --resource-type docker-registry`,
`get_service_connector_client` per kind, and one `list_service_connector_resources` per
round. Every outcome is tallied by (operation, kind, outcome class) as it arrives. A
sampler reads the server process's VmRSS and thread count (/proc/PID/status) and its open
file descriptors (/proc/PID/fd) at the start and every `sample_every` seconds, and once
more after the clients stopped.

The verdict cache: ZenML's public `verify()` (the `verify` endpoint, and each entry of a
listing) reads no cached verdict, so every `verify`, `verify-type` and listing entry is a
fresh exchange with its registry; only `connect` may be answered from the server's verdict
cache (60 s), for good credentials. Failures are never cached, so the wrong-password and
hostile connectors hit their registries every time. No cache setting is changed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.factory import Testbed
from testbed.hostile import challenge_flood, endless_chunked
from testbed.local_http import LocalServer, Reply, Seen
from testbed.process import die_with_parent
from testbed.secret_scan import register_secret
from testbed.timed_sockets import SlowRelay
from testbed.zenml_server_fixture import ZenServer

CLIENT_SCRIPT = Path(__file__).with_name("load_client.py")
SLOW_DELAY = 0.5
KINDS = ("good-basic", "good-token", "wrong-password", "slow", "hostile")
EXPECTED = {
    "good-basic": {"ok"},
    "good-token": {"ok"},
    "slow": {"ok"},
    "wrong-password": {"refused-credentials"},
    "hostile": {"hostile-rejected"},
    "(request)": {"ok"},
}
"""The outcome classes each kind may give, for every operation; anything else is an error."""
GARBAGE = b"HTTP/1.1 401 X\r\n" + b"\x00\xff garbage " * 4000 + b"\r\n\r\n"


def _hostile_script() -> Any:
    """A different attack on every request, in turn."""
    turns = itertools.count()

    def garbage(wfile: Any, stop: threading.Event) -> None:
        wfile.write(GARBAGE)

    attacks = (
        lambda: challenge_flood(),
        lambda: endless_chunked(401, (("WWW-Authenticate", 'Basic realm="x"'),)),
        lambda: Reply(writer=garbage),
    )

    def script(seen: Seen) -> Reply:
        return attacks[next(turns) % len(attacks)]()

    return script


@dataclass
class LoadBed:
    """The registries of every kind and each kind's connectors (name, configuration)."""

    connectors: dict[str, list[dict[str, Any]]]
    secrets: list[str]
    users: list[str]
    hostile: LocalServer
    counted: dict[str, Any] = field(default_factory=dict)
    """The registries whose request logs count (by kind; the Basic registry serves the good
    and the wrong-password connectors), for `registry_requests`."""

    def registry_requests(self, marks: dict[str, int]) -> dict[str, int]:
        """Requests each registry (and the token service) answered since `marks`."""
        counts = {k: len(r.requests_since(marks[k])) for k, r in self.counted.items()}
        counts["hostile"] = len(self.hostile.seen) - marks["hostile"]
        token = self.counted["good-token"].token_server
        counts["good-token (token service)"] = len(token.requests_since(marks["token"]))
        return counts

    def marks(self) -> dict[str, int]:
        found = {kind: registry.mark() for kind, registry in self.counted.items()}
        found["token"] = self.counted["good-token"].token_server.mark()
        found["hostile"] = len(self.hostile.seen)
        return found


def _user(registry: Any, kind: str, index: int) -> tuple[str, str]:
    user, password = f"load-{kind}-{index}-{secrets.token_hex(3)}", f"Pw-{secrets.token_hex(12)}"
    registry.add_user(user, password)
    return user, password


@contextlib.contextmanager
def load_bed(testbed: Testbed, users: int) -> Iterator[LoadBed]:
    """Registries of every kind (on `testbed`, which stops them), `users` connectors each."""
    basic, token, slow_upstream = (testbed.registry(k) for k in ("htpasswd", "token", "htpasswd"))
    relay = SlowRelay(("127.0.0.1", slow_upstream.port), SLOW_DELAY)
    with LocalServer(_hostile_script()) as hostile:
        hosts = {
            "good-basic": (basic, basic.url),
            "good-token": (token, token.url),
            "wrong-password": (basic, basic.url),
            "slow": (slow_upstream, f"http://{relay.host}"),
        }
        connectors: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        made: list[str] = []
        for kind, (registry, url) in hosts.items():
            for index in range(users):
                user, password = _user(registry, kind, index)
                made.append(password)  # the wrong-password users' real one too
                if kind == "wrong-password":
                    password = register_secret(f"Wrong-{secrets.token_hex(10)}", "wrong pw")
                    made.append(password)
                connectors[kind].append(_connector(kind, index, user, password, url))
        for index in range(users):
            password = register_secret(f"Hostile-{secrets.token_hex(10)}", "hostile pw")
            made.append(password)
            connectors["hostile"].append(
                _connector("hostile", index, f"h{index}", password, hostile.url)
            )
        counted = {"good-basic + wrong-password": basic, "good-token": token, "slow": slow_upstream}
        try:
            users_made = [c["configuration"]["username"] for cs in connectors.values() for c in cs]
            yield LoadBed(connectors, made, users_made, hostile, counted)
        finally:
            relay.close()


def _connector(kind: str, index: int, user: str, password: str, url: str) -> dict[str, Any]:
    name = f"load-{kind}-{index}-{secrets.token_hex(3)}"
    return {
        "name": name,
        "configuration": {"username": user, "password": password, "registry": url},
    }


# --- the server's resources -----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The server process at one moment, with the operations finished by then."""

    at: float
    rss_kib: int
    fds: int
    threads: int
    operations: int


def read_process(pid: int) -> tuple[int, int, int]:
    """(VmRSS in KiB, open file descriptors, threads) of process `pid`."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return int(fields["VmRSS"][0]), fds, int(fields["Threads"][0])


# --- the clients ------------------------------------------------------------------------


@dataclass
class Tally:
    """Outcomes as the clients report them: counts and the first message of each class."""

    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    first_messages: dict[tuple[str, str, str], str] = field(default_factory=dict)
    stderr: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, line: dict[str, Any]) -> None:
        key = (line["op"], line["kind"], line["outcome"])
        with self.lock:
            self.counts[key] += 1
            if line["message"]:
                self.first_messages.setdefault(key, line["message"])

    def total(self) -> int:
        with self.lock:
            return sum(n for (op, _, _), n in self.counts.items() if op != "list-entry")

    def unexpected(self) -> dict[tuple[str, str, str], int]:
        """Outcomes outside `EXPECTED` for their kind."""
        with self.lock:
            return {k: n for k, n in self.counts.items() if k[2] not in EXPECTED[k[1]]}


def _client(env: dict[str, str], mode: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(CLIENT_SCRIPT), mode],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(spec) + "\n")  # passwords travel on stdin, not in argv
    process.stdin.flush()
    return process


def register(server: ZenServer, home: Path, bed: LoadBed) -> dict[str, list[str]]:
    """The bed's connectors on `server`, unverified; their ids by kind."""
    if not server.docker_type_is_ours():
        raise RuntimeError(f"{server.url} serves type `docker` with ZenML's built-in class")
    env = _client_env(server, home)
    process = _client(env, "setup", {"connectors": bed.connectors})
    out, err = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"registering the load connectors failed:\n{err[-3000:]}")
    ids: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])["ids"]
    return ids


def _client_env(server: ZenServer, home: Path) -> dict[str, str]:
    env = server.client(home).env
    env["ZENML_LOGGING_VERBOSITY"] = "ERROR"
    return env


def _read(process: subprocess.Popen[str], tally: Tally) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("{"):
            parsed = json.loads(line)
            if "op" in parsed:
                tally.add(parsed)


@dataclass
class LoadResult:
    tally: Tally
    samples: list[Sample]
    after: Sample
    seconds: float
    clients: int
    registry_requests: dict[str, int]
    exit_codes: list[int]
    ids: dict[str, list[str]]


def _start_clients(
    server: ZenServer, home: Path, ids: dict[str, list[str]], clients: int, seconds: float
) -> list[subprocess.Popen[str]]:
    """`clients` processes, logged in and waiting for "go"."""
    running = []
    for index in range(clients):
        env = _client_env(server, home / f"client-{index}")
        spec = {"ids": ids, "seconds": seconds, "offset": index}
        running.append(_client(env, "run", spec))
    for process in running:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("a load client exited before it was ready")
    return running


def _sample(pid: int, tally: Tally, started: float) -> Sample:
    rss, fds, threads = read_process(pid)
    return Sample(time.monotonic() - started, rss, fds, threads, tally.total())


def run_load(
    server: ZenServer,
    bed: LoadBed,
    home: Path,
    *,
    clients: int,
    seconds: float,
    sample_every: float,
    ids: dict[str, list[str]] | None = None,
) -> LoadResult:
    """Run `clients` clients for `seconds` over the connectors `ids` (default: the bed's,
    registered now) and sample the server."""
    ids = ids or register(server, home / "setup", bed)
    pid, tally = server.process.pid, Tally()
    running = _start_clients(server, home, ids, clients, seconds)
    marks = bed.marks()
    started = time.monotonic()
    samples = [_sample(pid, tally, started)]
    readers = [threading.Thread(target=_read, args=(p, tally), daemon=True) for p in running]
    for process, reader in zip(running, readers, strict=True):
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
        reader.start()
    while any(process.poll() is None for process in running):
        time.sleep(min(1.0, sample_every))
        if time.monotonic() - started >= len(samples) * sample_every:
            samples.append(_sample(pid, tally, started))
    for process, reader in zip(running, readers, strict=True):
        reader.join(timeout=30)
        assert process.stderr is not None
        tally.stderr.append(process.stderr.read())
    elapsed = time.monotonic() - started
    time.sleep(2.0)  # connections of the last checks close; the server is idle again
    after = _sample(pid, tally, started)
    return LoadResult(
        tally,
        samples,
        after,
        elapsed,
        clients,
        bed.registry_requests(marks),
        [process.wait() for process in running],
        ids,
    )


# --- the report -------------------------------------------------------------------------


def summary(result: LoadResult) -> dict[str, Any]:
    """Counts by operation and outcome, checks made, and the samples, as plain data."""
    by_op: Counter[str] = Counter()
    by_outcome: Counter[str] = Counter()
    for (op, kind, outcome), n in result.tally.counts.items():
        by_op[op] += n
        by_outcome[f"{kind} {outcome}"] += n
    checks = sum(n for (op, kind, _), n in result.tally.counts.items() if kind != "(request)")
    fresh = sum(  # ZenML's public verify(): no cached verdict is read
        n
        for (op, kind, _), n in result.tally.counts.items()
        if op in ("verify", "verify-type", "list-entry")
    )
    return {
        "clients": result.clients,
        "seconds": round(result.seconds, 1),
        "requests_served": result.tally.total(),
        "by_operation": dict(by_op),
        "by_kind_outcome": dict(sorted(by_outcome.items())),
        "checks": checks,
        "fresh_verifications": fresh,
        "unexpected": {" ".join(k): n for k, n in result.tally.unexpected().items()},
        "first_messages": {" ".join(k): m for k, m in result.tally.first_messages.items()},
        "registry_requests": result.registry_requests,
        "samples": [vars(s) for s in result.samples],
        "after": vars(result.after),
        "exit_codes": result.exit_codes,
    }


def render(data: dict[str, Any]) -> list[str]:
    """Markdown: the outcome table by kind and operation, then the samples."""
    ops = ("verify", "verify-type", "connect", "list-entry")
    lines = ["| kind | outcome | " + " | ".join(ops) + " |", "|---|---|" + "---|" * len(ops)]
    table: dict[tuple[str, str], Counter[str]] = {}
    for key, n in data["by_kind_outcome_op"].items():
        kind, outcome, op = key.split(" ")
        table.setdefault((kind, outcome), Counter())[op] += n
    for (kind, outcome), per_op in sorted(table.items()):
        if kind == "(request)":
            continue  # the listing requests themselves: `by_operation["list"]`
        cells = [str(per_op.get(op, 0)) for op in ops]
        lines.append(f"| {kind} | {outcome} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| t (s) | operations | VmRSS (MiB) | open FDs | threads |",
        "|---|---|---|---|---|",
    ]
    for sample in [*data["samples"], data["after"]]:
        lines.append(
            f"| {sample['at']:.0f} | {sample['operations']} | {sample['rss_kib'] / 1024:.1f} | "
            f"{sample['fds']} | {sample['threads']} |"
        )
    return lines


def details(result: LoadResult) -> dict[str, Any]:
    """`summary` plus counts by (kind, outcome, operation), for `render`."""
    data = summary(result)
    data["by_kind_outcome_op"] = {
        f"{kind} {outcome} {op}": n for (op, kind, outcome), n in result.tally.counts.items()
    }
    return data


def growth(samples: Sequence[Sample], after: Sample) -> dict[str, int]:
    """From the warm-up sample (the second) to the last during load and the one after."""
    warm = samples[1] if len(samples) > 1 else samples[0]
    peak = max([*samples[1:], after], key=lambda s: s.rss_kib)
    return {
        "rss_growth_kib": after.rss_kib - warm.rss_kib,
        "rss_peak_growth_kib": peak.rss_kib - warm.rss_kib,
        "fds_after_minus_warm": after.fds - warm.fds,
        "threads_max": max(s.threads for s in [*samples, after]),
        "threads_after": after.threads,
    }
