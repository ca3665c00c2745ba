"""Cold checks against TLS registries over a link with a set round-trip time, in one run.

Every client runs inside a private network namespace whose loopback delays each arriving
packet (netns.py): ours in-process (this process, a fresh `AuthCache` per run), `docker
login` and `skopeo login`, against the Basic and the token registry of tls_bed.py, first
with no delay, then with 20 ms each way (a 40 ms round trip). For each client: the median
wall time of paired, interleaved rounds (measure.paired) with its ratio to ours, and the
round trips of one counted run: TCP handshakes (SYNs) and TLS handshakes (ClientHellos) as
the delay program saw them arrive, HTTP requests from the registry's access log and the
token server's log. TLS 1.3 needs one round trip per handshake, so their sum is the number
of round trips; the time difference between the two delays, divided by the measured round
trip, checks it.

    python benchmarks/roundtrips.py [--rounds N]      (root; also run by benchmarks/run.sh)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import measure
import netns
import tls_bed
from bed import Action, Failed

from testbed.registry import Registry

ONE_WAY_MS = (0, 20)
TIMEOUT = 900.0
HEADER = Path("/usr/include/libnetfilter_queue/libnetfilter_queue.h")
OURS = tls_bed.CLIENTS[0]


def _counted(registry: Registry, delay: netns.Delay, action: Action) -> dict[str, Any]:
    """One run of `action`: its handshakes (from delay.c) and requests (from the logs)."""
    server = registry.token_server
    mark, token_mark = registry.mark(), server.mark() if server is not None else 0
    before, error = delay.count(), None
    try:
        action()
    except Exception as problem:  # noqa: BLE001 - shown in the table, not fatal
        error = f"{type(problem).__name__}: {problem}"
    seen = delay.count() - before
    requests = [f"{r.method} {r.path} {r.status}" for r in registry.requests_since(mark)]
    if server is not None:
        requests += [f"token {t.method} {t.status}" for t in server.requests_since(token_mark)]
    return {"tcp": seen.syn, "tls": seen.hello, "http": len(requests), "requests": requests,
            "error": error}  # fmt: skip


def _kind(registry: Registry, bed: tls_bed.TLSBed, delay: netns.Delay, rounds: int) -> Any:
    """Counts and paired timings of the three clients against one registry."""
    prepared = tls_bed.contenders(registry, bed)
    counts = {name: _counted(registry, delay, prepare()) for name, prepare in prepared.items()}
    try:
        series = measure.paired(prepared, rounds)
    except Exception as error:  # noqa: BLE001 - shown in the table, not fatal
        return f"{type(error).__name__}: {error}"
    rows = {}
    for name, runs in series.items():
        ratio = statistics.median(a / b for a, b in zip(runs, series[OURS], strict=True))
        rows[name] = {"median_s": statistics.median(runs), "ratio_vs_ours": ratio, "runs_s": runs}
        rows[name].update(counts[name])
    return rows


def inside(rounds: int, binary: Path, scratch: Path) -> dict[str, Any]:
    """The whole measurement; runs in the namespace (see `measure` for the way in)."""
    result: dict[str, Any] = {"rounds": rounds, "delays": []}
    with tls_bed.started(scratch) as bed, netns.Delay(binary) as delay:
        os.environ["XDG_CONFIG_HOME"] = str(bed.config_home)  # where ours finds certs.d
        result["ipv6_delayed"] = delay.ipv6
        for one_way in ONE_WAY_MS:
            delay.set(one_way)
            print(f"  round trips: {one_way} ms each way", file=sys.stderr, flush=True)
            rtt = netns.tcp_rtt()
            kinds = {k: _kind(r, bed, delay, rounds) for k, r in bed.registries.items()}
            result["delays"].append({"one_way_ms": one_way, "tcp_rtt_s": rtt, "kinds": kinds})
    return result


def _missing() -> list[str]:
    missing = [p for p in ("ip", "iptables", "gcc", "docker", "skopeo") if not shutil.which(p)]
    return missing + ([] if HEADER.exists() else ["libnetfilter-queue-dev"])


def measure_in_namespace(rounds: int, scratch: Path) -> dict[str, Any]:
    """Build delay.c, make the namespace, run `inside` there; its JSON result."""
    if os.geteuid() != 0:
        raise Failed("needs root (a network namespace and iptables rules)")
    if missing := _missing():
        raise Failed(f"missing {', '.join(missing)} (benchmarks/run.sh installs them as root)")
    directory = Path(tempfile.mkdtemp(prefix="roundtrips-", dir=scratch))
    try:
        binary = netns.build_delay(directory)
        with netns.namespace() as name:
            command = ["ip", "netns", "exec", name, sys.executable, __file__, "--inside"]
            command += ["--rounds", str(rounds), "--binary", str(binary)]
            command += ["--scratch", str(directory)]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
    except netns.NamespaceError as error:
        raise Failed(str(error)) from error
    if done.returncode != 0:
        raise Failed(f"the measurement inside the namespace exited {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _time_cell(name: str, row: dict[str, Any]) -> str:
    cell = _ms(row["median_s"]) + ("" if name == OURS else f" ({row['ratio_vs_ours']:.2f}x)")
    return cell + (" error" if row["error"] else "")


def _label(kind: str, one_way: int) -> str:
    return f"{tls_bed.KINDS[kind]}, " + (f"{2 * one_way} ms RTT" if one_way else "0 ms delay")


def _times(delays: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["| cold check | " + " | ".join(f"`{c}`" for c in tls_bed.CLIENTS) + " |"]
    lines.append("|---" * (len(tls_bed.CLIENTS) + 1) + "|")
    for kind in tls_bed.KINDS:
        for entry in delays:
            rows = entry["kinds"][kind]
            if isinstance(rows, str):
                lines.append(f"| {_label(kind, entry['one_way_ms'])} | {rows} | | |")
                continue
            cells = [_time_cell(name, rows[name]) for name in tls_bed.CLIENTS]
            lines.append(f"| {_label(kind, entry['one_way_ms'])} | " + " | ".join(cells) + " |")
    return lines


def _trips_cell(name: str, rows: dict[str, Any], fast: Any, rtt: float) -> str:
    row = rows[name]
    total = row["tcp"] + row["tls"] + row["http"]
    cell = f"{total} = {row['tcp']} TCP + {row['tls']} TLS + {row['http']} HTTP"
    if isinstance(fast, dict) and rtt > 0:
        cell += f" (~{(row['median_s'] - fast[name]['median_s']) / rtt:.1f} from time)"
    return cell


def _trips(delays: Sequence[dict[str, Any]]) -> list[str]:
    slow, fast = delays[-1], delays[0]
    rtt = slow["tcp_rtt_s"] - fast["tcp_rtt_s"]
    title = f"round trips (counted at {2 * slow['one_way_ms']} ms RTT)"
    lines = [f"| {title} | " + " | ".join(f"`{c}`" for c in tls_bed.CLIENTS) + " |"]
    lines.append("|---" * (len(tls_bed.CLIENTS) + 1) + "|")
    for kind, label in tls_bed.KINDS.items():
        rows = slow["kinds"][kind]
        if isinstance(rows, str):
            continue
        cells = [_trips_cell(name, rows, fast["kinds"][kind], rtt) for name in tls_bed.CLIENTS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def render(result: dict[str, Any]) -> list[str]:
    """Markdown: the time table with ratios, the round-trip table, and any errors."""
    delays = result["delays"]
    rtts = ", ".join(f"{_ms(d['tcp_rtt_s'])} at {d['one_way_ms']} ms each way" for d in delays)
    lines = [f"TCP connect inside the namespace (one round trip): {rtts}", ""]
    lines += [*_times(delays), "", *_trips(delays)]
    for entry in delays:
        for kind, rows in entry["kinds"].items():
            for name, row in rows.items() if isinstance(rows, dict) else ():
                if row["error"]:
                    lines.append(f"- {_label(kind, entry['one_way_ms'])}, {name}: {row['error']}")
    lines += ["", "docker treats loopback registries as insecure: TLS, certificate not verified."]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--binary", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        print(json.dumps(inside(max(1, args.rounds), args.binary, args.scratch)))
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="zdc-bench-"))
    try:
        result = measure_in_namespace(max(1, args.rounds), scratch)
    except Failed as error:
        print(f"not measured: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2) if args.json else "\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
