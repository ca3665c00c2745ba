"""Benchmarks of zenml-docker-connector next to `docker login`, `skopeo login` and ZenML's
built-in docker connector, on the real test bed (127.0.0.1 only; dockerd needs root).

    bash benchmarks/run.sh [--quick] [--json] [--only SECTION,...]

SECTION: requests, latency, startup, memory, roundtrips, listing, throughput, load.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bed
import listing
import load
import measure
import roundtrips
import throughput

SECTIONS = (
    "requests",
    "latency",
    "startup",
    "memory",
    "roundtrips",
    "listing",
    "throughput",
    "load",
)
DEFAULTS = {"rounds": 15, "startup_rounds": 10, "python_rounds": 30, "memory_rounds": 3}
DEFAULTS["rtt_rounds"] = 9
QUICK = {"rounds": 5, "startup_rounds": 3, "python_rounds": 10, "memory_rounds": 1}
QUICK["rtt_rounds"] = 3


def _arguments(argv: list[str]) -> argparse.Namespace:
    """The options, with `--quick` or full defaults filled in and `--only` as a set."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a minute or two)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--only", default=",".join(SECTIONS), help="a subset of the sections")
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"default {default}")
    arguments = parser.parse_args(argv)
    for name, value in (QUICK if arguments.quick else DEFAULTS).items():
        setattr(arguments, name, max(1, getattr(arguments, name) or value))
    arguments.sections = {s.strip() for s in arguments.only.split(",") if s.strip()}
    if arguments.sections - set(SECTIONS):
        parser.error(f"--only takes a subset of {','.join(SECTIONS)}")
    return arguments


def _facts() -> dict[str, str]:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.platform()}, {len(os.sched_getaffinity(0))} CPUs"
    facts = {"date": now, "machine": machine, "python": platform.python_version()}
    for name in ("zenml", "zenml-docker-connector"):
        facts[name] = importlib.metadata.version(name)
    for program in ("docker", "skopeo", "docker-registry"):
        if shutil.which(program):
            output = subprocess.run([program, "--version"], capture_output=True, text=True)
            facts[program] = (output.stdout.strip().splitlines() or ["?"])[0]
    return facts


def _section(results: dict[str, Any], name: str, call: Callable[[], Any]) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
    try:
        results[name] = call()
    except bed.Failed as error:
        results[name] = f"  not measured: {error}"


def _measure(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    settings = {name: getattr(args, name) for name in DEFAULTS}
    settings["throughput_seconds"] = throughput.QUICK_SECONDS if args.quick else throughput.SECONDS
    settings["load_minutes"] = load.QUICK_MINUTES if args.quick else load.MINUTES
    results: dict[str, Any] = {"facts": _facts(), "settings": settings}
    if args.sections & {"requests", "latency", "memory"}:
        with bed.started(scratch, with_dockerd="memory" in args.sections) as the_bed:
            if "memory" in args.sections and the_bed.dockerd is None:
                results["facts"]["dockerd"] = f"none ({the_bed.dockerd_problem})"
            if "requests" in args.sections:
                _section(results, "requests", lambda: measure.requests(the_bed))
            if "latency" in args.sections:
                _section(results, "latency", lambda: measure.latency(the_bed, args.rounds))
            if "memory" in args.sections:
                _section(results, "memory", lambda: measure.memory(the_bed, args.memory_rounds))
    if "startup" in args.sections:
        env = bed.base_env(scratch)
        call = functools.partial(measure.startup, env, args.python_rounds, args.startup_rounds)
        _section(results, "startup", call)
    if "roundtrips" in args.sections:
        in_namespace = functools.partial(
            roundtrips.measure_in_namespace, args.rtt_rounds, scratch, not args.quick
        )
        _section(results, "roundtrips", in_namespace)
    if "listing" in args.sections:
        sizes = listing.QUICK_SIZES if args.quick else listing.SIZES
        _section(results, "listing", lambda: listing.both(scratch, sizes))
    if "throughput" in args.sections:
        counts, seconds = throughput.CLIENTS, throughput.SECONDS
        if args.quick:
            counts, seconds = throughput.QUICK_CLIENTS, throughput.QUICK_SECONDS
        _section(results, "throughput", lambda: throughput.measure(scratch, counts, seconds))
    if "load" in args.sections:
        minutes, every = settings["load_minutes"], 10.0 if args.quick else 60.0
        _section(results, "load", lambda: load.measure(scratch, minutes * 60, every))
    return results


def _table(rows: Sequence[Sequence[str]], left: Sequence[int] = (0,)) -> list[str]:
    """Columns padded to width; those in `left` left-aligned, the others right-aligned."""
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    lines = []
    for row in rows:
        cells = enumerate(zip(row, widths, strict=True))
        lines.append(
            "  " + "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in cells)
        )
    return [line.rstrip() for line in lines]


def _ms(seconds: float, sign: str = "") -> str:
    return f"{seconds * 1000:{sign}.1f} ms"


def _count(kind: str, row: dict[str, Any]) -> str:
    cell = f"{row['registry']} + {row['token']}" if kind == "token" else str(row["registry"])
    reported = row.get("self_reported")
    if reported and reported != [row["registry"], row["token"]]:
        cell += f" (self-reported {reported[0]} + {reported[1]})"
    return f"error ({cell})" if row["error"] else cell


def _requests(counts: Any) -> list[str]:
    rows = [["", *(bed.KINDS[kind] for kind in counts)]]
    for index, first in enumerate(counts["htpasswd"]):
        rows.append([first["scenario"], *(_count(k, v[index]) for k, v in counts.items())])
    errors = [
        f"  {k}, {r['scenario']}: {r['error']}" for k, v in counts.items() for r in v if r["error"]
    ]
    return _table(rows) + errors


def _latency(latency: Any) -> list[str]:
    rows = [["", *(f"{bed.KINDS[kind]}   ratio" for kind in latency)]]
    for name in (measure.OURS, "docker login", "skopeo login"):
        cells = [v[name] if isinstance(v, dict) else None for v in latency.values()]
        rows.append(
            [
                name,
                *(f"{_ms(c['median_s'])}  {c['ratio_vs_ours']:5.2f}x" if c else "-" for c in cells),
            ]
        )
    return _table(rows) + [f"  {k}: {v}" for k, v in latency.items() if isinstance(v, str)]


def _startup(startup: Any) -> list[str]:
    rows = [["", "pairs", "without", "with", "with - without [IQR]"]]
    for row in startup:
        low, middle, high = (_ms(s, "+") for s in row["difference_s"])
        without, with_ = _ms(row["without_s"][1]), _ms(row["with_s"][1])
        rows.append([row["label"], str(row["pairs"]), without, with_, f"{middle} [{low}, {high}]"])
    return _table(rows)


def _memory(memory: Any) -> list[str]:
    rows = [[k, f"{v['median_mib']:.1f} MiB", v["outcome"]] for k, v in memory.items()]
    off, on = (row["median_mib"] for row in memory.values())
    return [*_table(rows, left=(0, 2)), f"  on / off: {on / off:.3f} ({on - off:+.1f} MiB)"]


TITLES = {
    "requests": "1. Requests per verification (registry [+ token server], from their logs)",
    "latency": "2. Cold verification latency, median of {rounds} paired rounds\n"
    "   (ratio = contender / ours in-process, median of the per-round ratios)",
    "startup": "3. Start-up cost of the plugin: medians and [IQR] of paired runs",
    "memory": "4. Peak RSS verifying one connector (htpasswd; median of {memory_rounds} runs)",
    "roundtrips": "5. Cold checks over TLS, 0 ms and 40 ms round trip (private namespace, NFQUEUE\n"
    "   delay), median of {rtt_rounds} paired rounds (ratio = contender / ours, per round)",
    "listing": "6. Listing of N docker connectors, with or without one silent registry (drops\n"
    "   the SYN): ZenML's one-by-one loop vs side by side (8 workers), one run each, in the local\n"
    "   store and behind a ZenML server with the plugin (the server checks), on loopback and\n"
    "   with a 40 ms round trip to the registries (private namespace, NFQUEUE delay)",
    "throughput": "7. A ZenML server verifying distinct connectors (Basic over TLS, certs.d CA)\n"
    "   for M concurrent clients, each run ~{throughput_seconds:.0f} s; before = one SSLContext\n"
    "   per connection (ZENML_DOCKER_CONNECTOR_TLS_CONTEXT_CACHE=0), after = one per trust",
    "load": "8. Sustained load: 4 clients for {load_minutes:g} min through one ZenML server\n"
    "   against good, wrong-password, slow and hostile registries; its RSS, FDs and threads",
}


def render(results: dict[str, Any]) -> str:
    lines = ["zenml-docker-connector benchmarks"]
    lines += [f"  {name}: {value}" for name, value in results["facts"].items()]
    shows = (_requests, _latency, _startup, _memory, roundtrips.render, listing.render,
             throughput.render, load.report)  # fmt: skip
    for section, show in zip(SECTIONS, shows, strict=True):
        if section in results:
            value = results[section]
            shown = [value] if isinstance(value, str) else show(value)
            lines += ["", TITLES[section].format(**results["settings"]), *shown]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    arguments = _arguments(argv)
    scratch = Path(tempfile.mkdtemp(prefix="zdc-bench-"))
    started, load = time.monotonic(), os.getloadavg()[0]
    try:
        results = _measure(arguments, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed, load_now = time.monotonic() - started, os.getloadavg()[0]
    results["facts"]["run"] = f"{elapsed:.0f} s, load average {load:.2f} -> {load_now:.2f}"
    print(json.dumps(results, indent=2) if arguments.json else render(results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
