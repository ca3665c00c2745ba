"""The four measurements; each returns plain JSON-ready data.

Timings are paired and interleaved: every round runs each contender once, the order rotated
and reversed round by round so that drift (CPU frequency, caches, other load) hits all alike.
"""

from __future__ import annotations

import functools
import json
import os
import site
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bed import Action, Bed, Prepare, cli_login, ours, run

from testbed.registry import Registry
from zenml_docker_connector.glue.activation import DISABLE_ENV
from zenml_docker_connector.registry.verification import VerificationReport

PTH_NAME = "zenml_docker_connector_activate.pth"
OURS = "ours, in-process"
# `python -S -c SITE_DRIVER DIR[:DIR] [skipped.pth ...]`: the .pth processing of site.main()
# for the venv's site directories, minus the skipped files (under -S the child's
# getsitepackages() would name the base Python's, so the directories come from this process).
SITE_DRIVER = """\
import os, site, sys
directories, *skip = sys.argv[1:]
for directory in directories.split(os.pathsep):
    if os.path.isdir(directory):
        sys.path.append(directory)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".pth") and name not in skip:
                site.addpackage(directory, name, None)
"""
# `python -S -c SPAWNER PROGRAM ARGS...`: runs PROGRAM, prints "rusage MAXRSS_KIB" and exits
# as PROGRAM did. A lean spawner: a child's ru_maxrss also counts its pre-exec parent copy.
SPAWNER = """\
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print("rusage", usage.ru_maxrss, flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""
VERIFY_CONNECTOR = """\
import json, sys
from zenml.service_connectors.service_connector_registry import service_connector_registry
args = json.load(sys.stdin)
cls = service_connector_registry.get_service_connector_type("docker").connector_class
connector = cls(auth_method="password", resource_type="docker-registry",
                resource_id=args["registry"], config=args)
error = connector.verify(resource_type="docker-registry").error
print(cls.__module__ + ": " + (f"failed: {str(error)[:70]}" if error else "verified"))
"""


def paired(contenders: dict[str, Prepare], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per run (preparation excluded); index i of every series is the same round."""

    def once(name: str) -> float:
        action = contenders[name]()
        started = time.perf_counter()
        action()
        return time.perf_counter() - started

    names = list(contenders)
    for name in names * warmup:
        once(name)
    series: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in reversed(order) if index % 2 else order:
            series[name].append(once(name))
    return series


def quartiles(values: Sequence[float]) -> list[float]:
    """[Q1, median, Q3]."""
    return statistics.quantiles(values, n=4, method="inclusive") if values[1:] else [*values] * 3


def _counted(scenario: str, registry: Registry, action: Action) -> dict[str, Any]:
    """What the registry's access log and its token server saw during one run of `action`."""
    server = registry.token_server
    mark, token_mark = registry.mark(), server.mark() if server is not None else 0
    row: dict[str, Any] = {"scenario": scenario, "error": None}
    try:
        report = action()
    except Exception as error:  # noqa: BLE001 - shown in the table, not fatal
        row["error"], report = f"{type(error).__name__}: {error}", None
    seen = registry.requests_since(mark)
    tokens = server.requests_since(token_mark) if server is not None else []
    row["registry"], row["token"] = len(seen), len(tokens)
    row["sequence"] = [f"{r.method} {r.path} {r.status}" for r in seen]
    row["sequence"] += [f"token {t.method} {t.params.grant} {t.status}" for t in tokens]
    if isinstance(report, VerificationReport):
        row["self_reported"] = [report.registry_requests, report.token_requests]
    return row


def requests(bed: Bed) -> dict[str, list[dict[str, Any]]]:
    """Section 1: requests of one cold and one warm verification, and of each CLI login."""
    result: dict[str, list[dict[str, Any]]] = {}
    for kind, registry in bed.registries.items():
        verify = ours(registry)()  # one cache: the first call is cold, the second warm
        result[kind] = [
            _counted("ours, cold", registry, verify),
            _counted("ours, warm (2nd call)", registry, verify),
            *(
                _counted(f"{tool} login", registry, cli_login(tool, registry, bed)())
                for tool in ("docker", "skopeo")
            ),
        ]
    return result


def latency(bed: Bed, rounds: int) -> dict[str, Any]:
    """Section 2: a cold verification in-process vs `docker login` and `skopeo login`."""
    result: dict[str, Any] = {}
    for kind, registry in bed.registries.items():
        contenders = {OURS: ours(registry)}
        for tool in ("docker", "skopeo"):
            contenders[f"{tool} login"] = cli_login(tool, registry, bed)
        try:
            series = paired(contenders, rounds)
        except Exception as error:  # noqa: BLE001 - shown in the table, not fatal
            result[kind] = f"{type(error).__name__}: {error}"
            continue
        result[kind] = {}
        for name, runs in series.items():
            ratio = statistics.median(a / b for a, b in zip(runs, series[OURS], strict=True))
            result[kind][name] = {"median_s": statistics.median(runs), "ratio_vs_ours": ratio}
            result[kind][name]["runs_s"] = runs
    return result


def _command(command: list[str], env: dict[str, str]) -> Prepare:
    return lambda: functools.partial(run, command, env)


def startup(env: dict[str, str], python_rounds: int, zenml_rounds: int) -> list[dict[str, Any]]:
    """Section 3: `python -c pass` with our .pth skipped vs run; `import zenml` with the
    plugin disabled vs active (the .pth line still imports our small package in both)."""
    python, sites = sys.executable, site.getsitepackages()
    driver = [python, "-S", "-c", SITE_DRIVER, os.pathsep.join(sites)]
    zenml, disabled = [python, "-c", "import zenml"], dict(env, **{DISABLE_ENV: "1"})
    pairs = [("import zenml (DISABLE=1 vs active)", zenml_rounds, zenml, disabled, zenml)]
    if any((Path(directory) / PTH_NAME).exists() for directory in sites):
        skip = [*driver, PTH_NAME]
        pairs.insert(0, ("python -c pass (.pth skipped vs run)", python_rounds, skip, env, driver))
    rows = []
    for label, rounds, without, without_env, with_ in pairs:
        contenders = {"without": _command(without, without_env), "with": _command(with_, env)}
        series = paired(contenders, rounds)
        differences = [b - a for a, b in zip(series["without"], series["with"], strict=True)]
        row = {f"{key}_s": quartiles(values) for key, values in series.items()}
        rows.append(
            {"label": label, "pairs": rounds, **row, "difference_s": quartiles(differences)}
        )
    return rows


def memory(bed: Bed, rounds: int) -> dict[str, Any]:
    """Section 4: peak RSS of a fresh process verifying one connector, plugin off vs on."""
    registry = bed.registries["htpasswd"]
    env = dict(bed.env)
    if bed.dockerd is not None:
        env["DOCKER_HOST"] = bed.dockerd.host  # the built-in's verify logs in through dockerd
    variants = {"plugin off (ZenML built-in)": dict(env, **{DISABLE_ENV: "1"}), "plugin on": env}
    user, password = registry.username, registry.password
    payload = json.dumps({"registry": registry.host, "username": user, "password": password})
    command = [sys.executable, "-S", "-c", SPAWNER, sys.executable, "-c", VERIFY_CONNECTOR]
    result: dict[str, Any] = {label: {"runs_kib": []} for label in variants}
    for index in range(rounds):
        for label in reversed(variants) if index % 2 else variants:
            output, _, usage = run(command, variants[label], payload).strip().rpartition("\n")
            result[label]["runs_kib"].append(int(usage.removeprefix("rusage ")))
            result[label]["outcome"] = (output.splitlines() or [""])[-1]
    for row in result.values():
        row["median_mib"] = statistics.median(row["runs_kib"]) / 1024
    return result
