"""Section 4: peak RSS of a process that verifies one connector, built-in vs ours.

Each variant is a fresh `python -c` whose peak comes from `os.wait4` (that child's own
`ru_maxrss`, KiB on Linux; it also covers descendants the child waited for). Credentials
travel on stdin.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from clients import DISABLE_ENV, Target

SPAWNER_MARK = "spawner-rusage"
# `python -S -c SPAWNER_CODE PROGRAM ARGS...`: runs PROGRAM with this stdin/stdout/stderr,
# then prints "spawner-rusage EXIT MAXRSS_KIB" as the last stdout line.
SPAWNER_CODE = """\
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print("spawner-rusage", os.waitstatus_to_exitcode(status), usage.ru_maxrss, flush=True)
"""
BASELINE_CODE = "import zenml\n"
VERIFY_CONNECTOR_CODE = """\
import json, sys
from zenml.service_connectors.service_connector_registry import service_connector_registry
args = json.load(sys.stdin)
cls = service_connector_registry.get_service_connector_type("docker").connector_class
connector = cls(
    auth_method="password",
    resource_type="docker-registry",
    resource_id=args["registry"],
    config={
        "username": args["username"],
        "password": args["password"],
        "registry": args["registry"],
    },
)
result = connector.verify(resource_type="docker-registry")
print(json.dumps({"class": cls.__module__, "error": result.error}))
"""


@dataclass
class MemoryRow:
    label: str
    kib: list[int] = field(default_factory=list)
    outcome: str = ""

    @property
    def median_mib(self) -> float:
        return statistics.median(self.kib) / 1024

    def as_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "median_peak_rss_mib": self.median_mib,
            "runs_kib": self.kib,
            "outcome": self.outcome,
        }


def peak_rss(code: str, env: dict[str, str], stdin: str = "") -> tuple[int, str]:
    """(ru_maxrss in KiB, stdout) of `python -c code`; raises if it failed.

    The child is started by a lean `python -S` spawner, not by this process: on Linux a
    child's ru_maxrss also counts the memory it had between fork and exec, which is a copy
    of its parent's, and this process (with ZenML imported) is larger than any probe.
    """
    with tempfile.TemporaryFile() as errors:
        process = subprocess.run(
            [sys.executable, "-S", "-c", SPAWNER_CODE, sys.executable, "-c", code],
            env=env,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            timeout=300,
        )
        output, _, usage = process.stdout.rstrip("\n").rpartition("\n")
        if process.returncode != 0 or not usage.startswith(SPAWNER_MARK):
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"memory probe exited {process.returncode}: {tail}")
    status, kib = usage.split()[1:]
    if int(status) != 0:
        raise RuntimeError(f"memory probe exited {status}")
    return int(kib), output


def measure(
    target: Target, env: dict[str, str], docker_host: str | None, rounds: int
) -> list[MemoryRow]:
    """`import zenml` alone, then a verify with the built-in and with ours, interleaved."""
    base = dict(env)
    if docker_host is not None:
        base["DOCKER_HOST"] = docker_host  # the built-in's verify pings the daemon
    variants = {
        "import zenml (baseline, plugin active)": (BASELINE_CODE, base),
        "verify, ZenML built-in (plugin disabled)": (
            VERIFY_CONNECTOR_CODE,
            dict(base, **{DISABLE_ENV: "1"}),
        ),
        "verify, zenml-docker-connector": (VERIFY_CONNECTOR_CODE, base),
    }
    payload = json.dumps(
        {"registry": target.host, "username": target.username, "password": target.password}
    )
    rows = {label: MemoryRow(label) for label in variants}
    for index in range(rounds):
        labels = list(variants)
        if index % 2:
            labels.reverse()
        for label in labels:
            code, child_env = variants[label]
            kib, stdout = peak_rss(code, child_env, payload)
            rows[label].kib.append(kib)
            rows[label].outcome = _outcome(stdout)
    return list(rows.values())


def _outcome(stdout: str) -> str:
    line = stdout.strip().splitlines()[-1:] if stdout.strip() else []
    if not line:
        return ""
    try:
        parsed = json.loads(line[0])
    except ValueError:
        return line[0][:100]
    error = parsed.get("error")
    verdict = "verified" if not error else f"failed: {str(error)[:80]}"
    return f"{parsed.get('class')}: {verdict}"
