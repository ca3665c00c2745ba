"""A private network namespace whose loopback delays every arriving packet by a set time.

This kernel has no netem, so the delay comes from NFQUEUE: in a namespace made for this run
(`ip netns add zdc-bench-…`, loopback up, nothing else in it), iptables and ip6tables send
every packet arriving on `lo` to queue 0, where `delay.c` holds it DELAY ms before letting it
through; 20 ms each way is a 40 ms round trip. `--queue-bypass` lets packets through
undelayed whenever no program is bound, so a crash never blackholes the namespace.

The parent side (`namespace`, `build_delay`) creates and always deletes the namespace; only a
name it created itself is ever deleted, and each one is also written to the ledger file named
by `$ZDC_BENCH_NETNS_LEDGER`, from which benchmarks/run.sh's EXIT trap deletes leftovers. The
inside side (`Delay`, `tcp_rtt`) runs in a process already in the namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

PREFIX = "zdc-bench-"
LEDGER_ENV = "ZDC_BENCH_NETNS_LEDGER"
SOURCE = Path(__file__).resolve().parent / "delay.c"
RULE = ["PREROUTING", "-i", "lo", "-j", "NFQUEUE", "--queue-num", "0", "--queue-bypass"]


class NamespaceError(RuntimeError):
    """The delayed namespace could not be set up (the message says why)."""


def _run(command: list[str], timeout: float = 60) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise NamespaceError(f"{' '.join(command[:4])} exited {done.returncode}: {''.join(last)}")
    return done.stdout


def build_delay(directory: Path) -> Path:
    """Compile delay.c into `directory` (needs gcc and libnetfilter-queue-dev)."""
    binary = directory / "delay"
    _run(["gcc", "-O2", "-Wall", "-o", str(binary), str(SOURCE), "-lnetfilter_queue"])
    return binary


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def namespace() -> Iterator[str]:
    """A new namespace with loopback up; deleted on the way out, SIGTERM/SIGHUP included."""
    name = f"{PREFIX}{os.getpid()}-{time.monotonic_ns() % 100000}"
    if name in _run(["ip", "netns", "list"]).split():
        raise NamespaceError(f"namespace {name} exists already; not touching it")
    previous = {s: signal.signal(s, _raise_exit) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        _run(["ip", "netns", "add", name])
        ledger = os.environ.get(LEDGER_ENV)
        if ledger:
            with open(ledger, "a") as stream:
                stream.write(name + "\n")
        try:
            _run(["ip", "-n", name, "link", "set", "lo", "up"])
            yield name
        finally:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=60)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass(frozen=True)
class Counts:
    """What delay.c saw arrive: TCP SYNs, TLS ClientHellos, packets."""

    syn: int
    hello: int
    packets: int

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.syn - other.syn, self.hello - other.hello, self.packets - other.packets)


class Delay:
    """delay.c bound to queue 0 of this namespace, and the rules that feed it (inside only)."""

    def __init__(self, binary: Path) -> None:
        self._process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        if self._read() != "ready":
            self.close()
            raise NamespaceError("delay program did not bind NFQUEUE queue 0 (root? kernel?)")
        self.ipv6 = True
        try:
            _run(["iptables", "-t", "mangle", "-A", *RULE])
        except NamespaceError:
            self.close()
            raise
        try:
            _run(["ip6tables", "-t", "mangle", "-A", *RULE])
        except NamespaceError:
            self.ipv6 = False  # no IPv6 here: nothing to delay there either

    def _read(self) -> str:
        assert self._process.stdout is not None
        return self._process.stdout.readline().strip()

    def _ask(self, command: str) -> str:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._read()

    def set(self, milliseconds: int) -> None:
        """Hold each packet arriving from now on `milliseconds` (0: none)."""
        if self._ask(f"delay {milliseconds}") != f"delay={milliseconds}":
            raise NamespaceError("delay program did not take the new delay")

    def count(self) -> Counts:
        fields = dict(item.split("=") for item in self._ask("count").split())
        return Counts(int(fields["syn"]), int(fields["hello"]), int(fields["packets"]))

    def close(self) -> None:
        """Remove the rules, then let delay.c release what it holds and exit."""
        for tool in ("iptables", "ip6tables"):
            subprocess.run([tool, "-t", "mangle", "-D", *RULE], capture_output=True, timeout=60)
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> Delay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def undelayed_port(port: int) -> None:
    """Let TCP packets to and from `port` on this loopback through at once (inside only): an
    ACCEPT ahead of the NFQUEUE rule ends their walk of the mangle table; the rules go with
    the namespace."""
    for direction in ("--dport", "--sport"):
        _run(["iptables", "-t", "mangle", "-I", "PREROUTING", "-i", "lo", "-p", "tcp",
              direction, str(port), "-j", "ACCEPT"])  # fmt: skip


def tcp_rtt(samples: int = 7, host: str = "127.0.0.1") -> float:
    """Median seconds of a TCP connect (one round trip) to a listener on this loopback."""
    with socket.socket() as listener:
        listener.bind((host, 0))
        listener.listen(samples)
        times = []
        for _ in range(samples):
            with socket.socket() as client:
                started = time.perf_counter()
                client.connect(listener.getsockname())
                times.append(time.perf_counter() - started)
            listener.accept()[0].close()
    return statistics.median(times)
