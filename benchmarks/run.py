"""Benchmarks against the real test bed: round trips, latency, start-up cost and memory of
zenml-docker-connector next to `docker login`, `skopeo login` and ZenML's built-in connector.

    python benchmarks/run.py [--quick] [--json] [--rounds N] ...   (or: bash benchmarks/run.sh)

Starts a private htpasswd registry, a token-auth registry with its token server and (as root)
a private dockerd, all on 127.0.0.1, and prints one report. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bed  # also puts tests/ on sys.path for the test-bed modules
import clients
import connections
import counts
import latency
import machine
import memory
import notes
import startup
from report import Results, render

SECTIONS = ("requests", "latency", "startup", "memory")
DEFAULTS = {"rounds": 15, "startup_rounds": 10, "python_rounds": 30, "memory_rounds": 3}
QUICK = {"rounds": 5, "startup_rounds": 3, "python_rounds": 10, "memory_rounds": 1}


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about a minute)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--rounds", type=int, help="paired latency rounds (default 15)")
    parser.add_argument(
        "--startup-rounds", type=int, help="pairs for the ZenML start-up rows (default 10)"
    )
    parser.add_argument("--python-rounds", type=int, help="pairs for python -c pass (30)")
    parser.add_argument("--memory-rounds", type=int, help="runs per memory variant (3)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    arguments = parser.parse_args(argv)
    base = QUICK if arguments.quick else DEFAULTS
    for name, value in base.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
        if getattr(arguments, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    arguments.sections = [s.strip() for s in arguments.only.split(",") if s.strip()]
    unknown = set(arguments.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}")
    return arguments


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _isolate(scratch: Path) -> None:
    """A throw-away ZenML home for this process (ZenML reads it when first imported, which
    happens later, inside the measurements), and our connector active whatever the
    caller's environment says."""
    isolated = clients.base_env(scratch)
    os.environ.clear()
    os.environ.update(isolated)
    import zenml_docker_connector.activation as activation

    activation.activate()


def _requests(
    results: Results, the_bed: bed.Bed, targets: dict[str, clients.Target], scratch: Path
) -> None:
    env = clients.base_env(scratch)
    no_strace = connections.strace_available()
    trace_dir = None if no_strace else scratch / "traces"
    if no_strace:
        results.notes.append(f"TCP connections not counted: {no_strace}")
    for kind, target in targets.items():
        registry = the_bed.registries[kind]
        _progress(f"requests: {kind}")
        cold, warm = counts.ours_cold_and_warm(registry, target)
        rows = [cold, warm]
        rows.append(
            counts.run_contender(
                counts.FRESH,
                registry,
                clients.ours_subprocess(target, env),
                trace_dir,
            )
        )
        docker_config = scratch / f"connect-docker-config-{kind}"
        docker_config.mkdir()
        flow = counts.zenml_flow(the_bed, registry, target, str(docker_config))
        rows += _flow_rows(flow)
        rows.append(
            counts.run_contender(
                counts.DOCKER,
                registry,
                clients.docker_login(target, scratch, env),
                trace_dir,
            )
        )
        rows.append(
            counts.run_contender(
                counts.SKOPEO,
                registry,
                clients.skopeo_login(target, scratch, env),
                trace_dir,
            )
        )
        results.counts[kind] = rows


def _flow_rows(flow: list[counts.Count]) -> list[counts.Count]:
    """ZenML's flow, with connect() split into our verification and dockerd's own login."""
    get_client, connect = flow
    if connect.error is not None:
        return [get_client, connect]
    ours, daemon = counts.split_by_agent(connect)
    ours.scenario = counts.FLOW_OURS
    daemon.scenario = counts.FLOW_DAEMON
    total = counts.Count(
        counts.FLOW_TOTAL,
        get_client.registry_requests + connect.registry_requests,
        get_client.token_requests + connect.token_requests,
        error=get_client.error,
    )
    return [get_client, ours, daemon, total]


def _latency(
    results: Results, targets: dict[str, clients.Target], rounds: int, scratch: Path
) -> None:
    env = clients.base_env(scratch)
    for kind, target in targets.items():
        _progress(f"latency: {kind}, {rounds} rounds")
        try:
            results.latency[kind] = latency.measure(target, scratch, env, rounds)
        except clients.ContenderFailed as error:
            results.latency[kind] = str(error)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the report: ZenML and children print there while we measure."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _launcher() -> str:
    """How this run was started, for the report's reproduction line."""
    launcher = os.environ.get("BENCH_LAUNCHER")
    if launcher:
        return launcher
    return f"{shlex.quote(sys.executable)} benchmarks/run.py"


def _measure(arguments: argparse.Namespace, results: Results, scratch: Path) -> None:
    sections = set(arguments.sections)
    if {"requests", "latency", "memory"} & sections:
        _progress("starting the test bed (registries, token server, dockerd)")
        with bed.started(scratch / "testbed", with_dockerd=True) as the_bed:
            targets = {
                kind: clients.Target(kind, reg.host, reg.username, reg.password)
                for kind, reg in the_bed.registries.items()
            }
            if the_bed.dockerd is None:
                results.notes.append(f"no private dockerd: {the_bed.dockerd_problem}")
            if "requests" in sections:
                _requests(results, the_bed, targets, scratch)
            if "latency" in sections:
                _latency(results, targets, arguments.rounds, scratch)
            if "memory" in sections:
                _progress(f"memory: {arguments.memory_rounds} round(s)")
                try:
                    results.memory = memory.measure(
                        targets["htpasswd"],
                        clients.base_env(scratch),
                        the_bed.dockerd.host if the_bed.dockerd else None,
                        arguments.memory_rounds,
                    )
                except (RuntimeError, subprocess.SubprocessError) as error:
                    results.memory = str(error)
    if "startup" in sections:
        _progress(f"start-up: {arguments.python_rounds} + 3 x {arguments.startup_rounds} pairs")
        try:
            results.startup = startup.measure(
                clients.base_env(scratch), arguments.python_rounds, arguments.startup_rounds
            )
        except (RuntimeError, subprocess.SubprocessError) as error:
            results.startup = str(error)


def main(argv: list[str]) -> int:
    arguments = _arguments(argv)
    scratch = Path(tempfile.mkdtemp(prefix="zdc-bench-"))
    _isolate(scratch)
    shown = " ".join(shlex.quote(a) for a in argv)
    results = Results(
        facts=machine.facts(),
        command=" ".join(f"{_launcher()} {shown}".split()),
        settings={
            "rounds": arguments.rounds,
            "startup_rounds": arguments.startup_rounds,
            "python_rounds": arguments.python_rounds,
            "memory_rounds": arguments.memory_rounds,
        },
    )
    started, load_before = time.monotonic(), os.getloadavg()[0]
    try:
        with _stdout_to_stderr():
            _measure(arguments, results, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results.notes += notes.observations(results)
    results.facts["run time"] = f"{time.monotonic() - started:.0f} s"
    results.facts["load average"] = (
        f"{load_before:.2f} at start, {os.getloadavg()[0]:.2f} at end (1 min; other work on"
        " the machine makes the timings noisier)"
    )
    print(results.as_json() if arguments.json else render(results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
