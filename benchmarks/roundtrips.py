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
trip, checks it. Then (not with --no-paths) paths.py counts the other paths that check a
connector: `zenml service-connector verify` and `login`, `zenml-docker doctor`, `pull-secret`.

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
import paths
import tls_bed
from bed import Failed

from testbed.registry import Registry

ONE_WAY_MS = (0, 20)
TIMEOUT = 900.0
HEADER = Path("/usr/include/libnetfilter_queue/libnetfilter_queue.h")
OURS = tls_bed.CLIENTS[0]


def _kind(registry: Registry, bed: tls_bed.TLSBed, delay: netns.Delay, rounds: int) -> Any:
    """Counts and paired timings of the three clients against one registry."""
    prepared = tls_bed.contenders(registry, bed)
    counts = {name: tls_bed.counted(registry, delay, p()) for name, p in prepared.items()}
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


def inside(rounds: int, binary: Path, scratch: Path, with_paths: bool) -> dict[str, Any]:
    """The whole measurement; runs in the namespace (see `measure_in_namespace`)."""
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
        if with_paths:
            print("  round trips: the other paths (zenml, zenml-docker)", file=sys.stderr)
            result["paths"] = paths.measure(bed, delay)
            result["paths_one_way_ms"] = ONE_WAY_MS[-1]
    return result


def _missing() -> list[str]:
    missing = [p for p in ("ip", "iptables", "gcc", "docker", "skopeo") if not shutil.which(p)]
    return missing + ([] if HEADER.exists() else ["libnetfilter-queue-dev"])


def measure_in_namespace(rounds: int, scratch: Path, with_paths: bool = True) -> dict[str, Any]:
    """Build delay.c, make the namespace, run `inside` there; its JSON result. `with_paths`
    adds the other paths (paths.py: eight ZenML processes, a minute or two)."""
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
            command += ["--scratch", str(directory)] + ([] if with_paths else ["--no-paths"])
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=TIMEOUT)
    except netns.NamespaceError as error:
        raise Failed(str(error)) from error
    except subprocess.TimeoutExpired as error:
        raise Failed(f"the measurement inside the namespace took over {TIMEOUT:.0f} s") from error
    if done.returncode != 0:
        raise Failed(f"the measurement inside the namespace exited {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.0f} ms" if milliseconds >= 10 else f"{milliseconds:.2f} ms"


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


def _counts(row: dict[str, Any]) -> str:
    total = row["tcp"] + row["tls"] + row["http"]
    cell = f"{total} = {row['tcp']} TCP + {row['tls']} TLS + {row['http']} HTTP"
    return cell + (" error" if row["error"] else "")


def _trips_cell(name: str, rows: dict[str, Any], fast: Any, rtt: float) -> str:
    cell = _counts(rows[name])
    if isinstance(fast, dict) and rtt > 0:
        cell += f" (~{(rows[name]['median_s'] - fast[name]['median_s']) / rtt:.1f} from time)"
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


def _paths(result: dict[str, Any]) -> list[str]:
    kinds = tls_bed.KINDS
    title = f"round trips per path, one cold process, {2 * result['paths_one_way_ms']} ms RTT"
    lines = [f"| {title} | " + " | ".join(kinds.values()) + " |", "|---" * 3 + "|"]
    for path, rows in result["paths"].items():
        lines.append(f"| `{path}` | " + " | ".join(_counts(rows[k]) for k in kinds) + " |")
    lines.append("| minimum (from cold) | 4 | 7 |")
    for path, rows in result["paths"].items():
        lines += [f"- `{path}`, {k}: {r['error']}" for k, r in rows.items() if r["error"]]
    return lines


def render(result: dict[str, Any]) -> list[str]:
    """Markdown: the time table with ratios, the round-trip tables, and any errors."""
    delays = result["delays"]
    rtts = ", ".join(f"{_ms(d['tcp_rtt_s'])} at {d['one_way_ms']} ms each way" for d in delays)
    lines = [f"TCP connect inside the namespace (one round trip): {rtts}", ""]
    lines += [*_times(delays), "", *_trips(delays)]
    skipped = ["(per-path table: not with --quick)"]
    lines += ["", *(_paths(result) if "paths" in result else skipped)]
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
    parser.add_argument("--no-paths", action="store_true", help="skip the table of paths.py")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--binary", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inside:
        result = inside(max(1, args.rounds), args.binary, args.scratch, not args.no_paths)
        print(json.dumps(result))
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="zdc-bench-"))
    try:
        result = measure_in_namespace(max(1, args.rounds), scratch, not args.no_paths)
    except Failed as error:
        print(f"not measured: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2) if args.json else "\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
