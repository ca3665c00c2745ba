"""docker-credential-zenml `get` latency: warm (cached), recheck, cold, beside the floors.

    .venv-test/bin/python benchmarks/credential_helper.py [--rounds N] [--go-helper PATH] [--json]

Wall-clock and CPU time (user + system of the process and its children: steadier than wall
time on a shared machine) are reported. Contenders, each a fresh process per call,
interleaved round by round (order rotated):
- `python3 -c pass` (the system interpreter) and the venv's `python -c pass` (its start-up
  .pth line included): the floor any Python helper pays;
- a Go helper from Debian's golang-docker-credential-helpers (`docker-credential-pass
  version`: process start of a Go binary, the latency peer). It is unpacked with `dpkg -x`
  into a temporary directory, never installed (installed, it breaks docker logins here);
- warm `get`: the credential is in the tmpfs cache and fresh: no ZenML, pydantic or requests;
- recheck `get`: the entry's recheck time has passed: ZenML is asked whether the connector
  changed (it did not), the entry is re-armed;
- cold `get`: no cache entry: ZenML builds the connector client (which checks the
  credentials against the registry) and the entry is written.
A real htpasswd registry of the test bed backs the connector; ZenML's store is a fresh
local one in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testbed.factory import Testbed
from testbed.registry import Registry

BIN = Path(sys.executable).parent
HELPER = str(BIN / "docker-credential-zenml")
GO_PACKAGE = "golang-docker-credential-helpers"


def go_helper(scratch: Path, explicit: str | None) -> str | None:
    """The Go helper binary: given, or unpacked from the Debian package (downloaded once)."""
    if explicit:
        return explicit
    debs = glob.glob(f"/var/cache/apt/archives/{GO_PACKAGE}_*.deb")
    if not debs:
        done = subprocess.run(
            ["apt-get", "download", GO_PACKAGE], cwd=scratch, capture_output=True, timeout=300
        )
        debs = glob.glob(str(scratch / f"{GO_PACKAGE}_*.deb")) if done.returncode == 0 else []
    if not debs:
        return None
    subprocess.run(["dpkg", "-x", debs[0], str(scratch / "go")], check=True, timeout=120)
    found = glob.glob(str(scratch / "go/usr/bin/docker-credential-pass"))
    return found[0] if found else None


@contextlib.contextmanager
def served_registry(scratch: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A test bed registry, a ZenML connector for it and the helper's environment."""
    bed = Testbed(
        scratch / "testbed",
        registry_binary=shutil.which("docker-registry") or "docker-registry",
        htpasswd_binary=shutil.which("htpasswd"),
    )
    runtime = Path(tempfile.mkdtemp(prefix="zdc-bench-run-", dir="/dev/shm"))
    try:
        registry = bed.registry("htpasswd")
        env = dict(os.environ)
        env.update(
            ZENML_CONFIG_PATH=str(scratch / "zenml"),
            ZENML_ANALYTICS_OPT_IN="false",
            ZENML_LOGGING_VERBOSITY="ERROR",
            XDG_RUNTIME_DIR=str(runtime),
            DOCKER_CONFIG=str(scratch / "docker"),
            REGISTRY_AUTH_FILE=str(scratch / "auth.json"),
            PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
        )
        env.pop("ZENML_STORE_URL", None)
        _register(registry, env)
        yield registry.host, env
    finally:
        bed.stop()
        shutil.rmtree(runtime, ignore_errors=True)


def _register(registry: Registry, env: dict[str, str]) -> None:
    code = (
        "import sys\n"
        "from zenml.client import Client\n"
        "Client().create_service_connector(name='bench', connector_type='docker',\n"
        "    auth_method='password', configuration={'username': sys.argv[1],\n"
        "    'password': sys.stdin.read(), 'registry': sys.argv[2]})\n"
    )
    user, url, secret = registry.username, registry.url, registry.password
    subprocess.run(
        [sys.executable, "-c", code, user, url], input=secret, env=env, text=True, check=True
    )
    subprocess.run(
        [str(BIN / "zenml-docker"), "configure-docker", "bench"],
        env=env,
        check=True,
        capture_output=True,
    )


_cpu: list[float] = []
"""CPU time (user + system, ms) of the last timed process and its children: unlike wall
time it hardly moves when other work shares the cores."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def timed(command: list[str], stdin: str, env: dict[str, str]) -> float:
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, input=stdin, env=env, capture_output=True, text=True)
    elapsed = (time.perf_counter() - started) * 1000
    _cpu.append(_children_cpu() - cpu_before)
    if done.returncode != 0 and "version" not in command:
        raise RuntimeError(f"{command[0]} failed: {done.stdout[:200]}")
    return elapsed


def contenders(host: str, env: dict[str, str], go: str | None) -> dict[str, Callable[[], float]]:
    cache_dir = Path(env["XDG_RUNTIME_DIR"]) / "zenml-docker-credentials"
    recheck_env = {**env, "ZENML_DOCKER_CREDENTIAL_CACHE_SECONDS": "0"}

    def cold() -> float:
        for entry in cache_dir.glob("*.json"):
            entry.unlink()
        return timed([HELPER, "get"], host, env)

    def recheck() -> float:
        for entry in cache_dir.glob("*.json"):
            entry.unlink()
        timed([HELPER, "get"], host, recheck_env)  # untimed: an entry due for its recheck
        return timed([HELPER, "get"], host, recheck_env)

    def warm() -> float:
        if not list(cache_dir.glob("*.json")):
            timed([HELPER, "get"], host, env)  # untimed: fills the cache
        return timed([HELPER, "get"], host, env)

    found: dict[str, Callable[[], float]] = {
        "python3 -c pass": lambda: timed(["python3", "-c", "pass"], "", env),
        "venv python -c pass": lambda: timed([sys.executable, "-c", "pass"], "", env),
        "warm get": warm,
        "recheck get": recheck,
        "cold get": cold,
    }
    if go is not None:
        found["Go helper (pass) version"] = lambda: timed([go, "version"], "", env)
    return found


def measure(
    runs: dict[str, Callable[[], float]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall-clock and CPU samples (ms) per contender, interleaved round by round."""
    names = list(runs)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order if number % 2 == 0 else reversed(order):
            wall[name].append(runs[name]())
            cpu[name].append(_cpu[-1])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--go-helper")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zdc-bench-") as scratch_name:
        scratch = Path(scratch_name)
        go = go_helper(scratch, options.go_helper)
        with served_registry(scratch) as (host, env):
            wall, cpu = measure(contenders(host, env, go), options.rounds)
    medians = {name: round(statistics.median(values), 1) for name, values in wall.items()}
    cpu_medians = {name: round(statistics.median(values), 1) for name, values in cpu.items()}
    load = os.getloadavg()[0]
    if options.json:
        report = {"rounds": options.rounds, "median_ms": medians, "median_cpu_ms": cpu_medians}
        print(json.dumps({**report, "load_average": load}, indent=2))
        return
    print(f"docker-credential-zenml get, median of {options.rounds} runs (load {load:.1f}):")
    print(f"  {'':28} {'wall ms':>8} {'CPU ms':>8}")
    for name, value in medians.items():
        print(f"  {name:28} {value:8.1f} {cpu_medians[name]:8.1f}")
    if go is None:
        print(f"  (no Go helper: {GO_PACKAGE} could not be fetched; pass --go-helper)")


if __name__ == "__main__":
    main()
