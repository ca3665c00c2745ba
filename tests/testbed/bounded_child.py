"""A verification run in a child process with an address-space limit, its memory measured.

`verify_in_child` starts this file as a script: after its imports the child caps its own
address space at what it uses plus `budget_mib` (`resource.setrlimit(RLIMIT_AS, ...)`), runs
one `verify_registry_access` and prints what happened as JSON: the error class and message,
or the report's summary, and how much the peak resident set grew (VmHWM, reset through
`/proc/self/clear_refs` just before the check, minus VmRSS then). A runaway allocation hits
the limit (MemoryError, or the child dies) instead of the test machine; a hang hits the
subprocess timeout. glibc's per-thread malloc arenas are limited so that the watchdog
thread's arena reservation does not count against the budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

RESULT_PREFIX = "BOUNDED-CHILD-RESULT "


@dataclass(frozen=True)
class ChildResult:
    error: str | None
    """Exception class name, or None when the verification succeeded."""
    message: str
    rss_growth_mib: float
    """Peak resident set growth during the verification, in MiB."""
    seconds: float


def verify_in_child(
    registry: str,
    username: str | None,
    password: str | None,
    *,
    deadline: float = 10.0,
    budget_mib: int = 256,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> ChildResult:
    """Verify `registry` in a child limited to its start-up address space + `budget_mib`."""
    spec = {
        "registry": registry,
        "username": username,
        "password": password,
        "deadline": deadline,
        "budget": budget_mib * 1024 * 1024,
    }
    child_env = dict(os.environ if env is None else env)
    child_env["MALLOC_ARENA_MAX"] = "2"
    done = subprocess.run(
        [sys.executable, __file__, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert done.returncode == 0 and lines, (
        f"child exited {done.returncode} without a result:\n{done.stdout[-2000:]}\n"
        f"{done.stderr[-4000:]}"
    )
    data = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return ChildResult(data["error"], data["message"], data["rss_growth_mib"], data["seconds"])


def _status(field: str) -> int:
    """A size from /proc/self/status, in bytes (VmSize, VmRSS, VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Make VmHWM (the peak resident set) start again from the current resident set."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _main(spec: dict[str, Any]) -> None:  # pragma: no cover - runs in the child
    import resource
    import time

    from zenml_docker_connector.credentials import Credentials
    from zenml_docker_connector.errors import DockerConnectorError
    from zenml_docker_connector.references import parse_registry_reference
    from zenml_docker_connector.registry.cache import AuthCache
    from zenml_docker_connector.registry.transport import ConnectionSettings
    from zenml_docker_connector.registry.verification import verify_registry_access

    reference = parse_registry_reference(spec["registry"])
    credentials = Credentials(spec["username"], spec["password"])
    settings = ConnectionSettings(deadline=spec["deadline"])
    limit = _status("VmSize") + spec["budget"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _reset_peak()
    before = _status("VmRSS")
    started = time.monotonic()
    error: str | None = None
    try:
        message = verify_registry_access(
            reference, credentials, settings=settings, cache=AuthCache()
        ).summary()
    except (DockerConnectorError, MemoryError, RecursionError) as caught:
        error, message = type(caught).__name__, str(caught)
    growth = (_status("VmHWM") - before) / 1024 / 1024
    result = {
        "error": error,
        "message": message,
        "rss_growth_mib": round(growth, 1),
        "seconds": round(time.monotonic() - started, 3),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":  # pragma: no cover
    _main(json.loads(sys.argv[1]))
