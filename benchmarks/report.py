"""Plain-text and JSON rendering of one benchmark run."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from counts import FLOW_TOTAL, Count
from latency import OURS_IN_PROCESS, OURS_SUBPROCESS, LatencyResult
from memory import MemoryRow
from startup import StartupResult

KINDS = {"htpasswd": "htpasswd (Basic)", "token": "token (Bearer)"}


@dataclass
class Results:
    """Everything one run measured; a section left as None/empty was not run."""

    facts: dict[str, str]
    command: str
    settings: dict[str, int]
    counts: dict[str, list[Count]] = field(default_factory=dict)
    latency: dict[str, LatencyResult | str] = field(default_factory=dict)
    startup: StartupResult | str | None = None
    memory: list[MemoryRow] | str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "facts": self.facts,
                "command": self.command,
                "settings": self.settings,
                "requests": {
                    kind: [c.as_json() for c in rows] for kind, rows in self.counts.items()
                },
                "latency": {
                    kind: value if isinstance(value, str) else value.as_json()
                    for kind, value in self.latency.items()
                },
                "startup": (
                    self.startup
                    if self.startup is None or isinstance(self.startup, str)
                    else self.startup.as_json()
                ),
                "memory": (
                    self.memory
                    if self.memory is None or isinstance(self.memory, str)
                    else [row.as_json() for row in self.memory]
                ),
                "notes": self.notes,
            },
            indent=2,
        )


def _table(rows: Sequence[Sequence[str]], indent: str = "  ", align: str = "") -> list[str]:
    """Columns padded to width; `align` has one letter per column after the first
    ("l" or "r", default "r"); the first column is always left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        for index, (cell, width) in enumerate(zip(row[1:], widths[1:], strict=True)):
            left = index < len(align) and align[index] == "l"
            cells.append(cell.ljust(width) if left else cell.rjust(width))
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _bullets(items: Sequence[str], indent: str = "   ", width: int = 100) -> list[str]:
    lines: list[str] = []
    for item in items:
        lines += textwrap.wrap(
            item,
            width,
            initial_indent=f"{indent}- ",
            subsequent_indent=f"{indent}  ",
            break_on_hyphens=False,
            break_long_words=False,
        )
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.2f} s"


def _signed_ms(seconds: float) -> str:
    return f"{seconds * 1000:+.1f} ms"


def _cell(count: Count | None, kind: str) -> str:
    if count is None:
        return "-"
    if count.error is not None:
        return "error"
    if kind == "token":
        return f"{count.registry_total} + {count.token_total}"
    return str(count.registry_total)


def _sequence(count: Count) -> str:
    parts = [f"{r.method} {r.path} {r.status}" for r in count.registry_requests]
    text = ", ".join(parts) if parts else "none"
    if count.token_requests:
        tokens = []
        for t in count.token_requests:
            extra = f" client_id={t.params.client_id}" if t.params.client_id else ""
            scope = f" scope={','.join(t.params.scopes)}" if t.params.scopes else " no scope"
            tokens.append(f"{t.method} {t.params.grant} {t.status}{scope}{extra}")
        text += "; token server: " + ", ".join(tokens)
    agents = sorted({r.agent for r in count.registry_requests})
    if agents:
        text += f"  [{', '.join(agents)}]"
    if count.error:
        text += f"  ERROR {count.error}"
    return text


def _traced(rows: Sequence[Count], scenario: str) -> Count | None:
    return next((c for c in rows if c.scenario == scenario and c.connections is not None), None)


def _requests_section(results: Results) -> list[str]:
    kinds = [k for k in KINDS if k in results.counts]
    lines = [
        "1. Requests per verification, as the servers counted them",
        "   (htpasswd: registry requests; token: registry requests + token-server requests)",
        "",
    ]
    scenarios: list[str] = []
    for kind in kinds:
        for count in results.counts[kind]:
            if count.scenario not in scenarios:
                scenarios.append(count.scenario)
    rows = [["", *(KINDS[k] for k in kinds)]]
    for scenario in scenarios:
        cells = []
        for kind in kinds:
            found = next((c for c in results.counts[kind] if c.scenario == scenario), None)
            cells.append(_cell(found, kind))
        rows.append([scenario, *cells])
    lines += _table(rows)
    traced = [s for s in scenarios if any(_traced(results.counts[k], s) for k in kinds)]
    if traced:
        lines += [
            "",
            "   TCP connections the client process opened (strace -f -e trace=connect):",
            "",
        ]
        rows = [["", *(KINDS[k] for k in kinds)]]
        for scenario in traced:
            cells = []
            for kind in kinds:
                found = _traced(results.counts[kind], scenario)
                connections = found.connections if found is not None else None
                if connections is None:
                    cells.append("-")
                elif kind == "token":
                    cells.append(f"{connections[0]} + {connections[1]}")
                else:
                    cells.append(str(connections[0]))
            rows.append([scenario, *cells])
        lines += _table(rows)
    lines += ["", "   Requests in order (registry; token server) [User-Agent]:"]
    lines += _bullets(
        [
            f"{kind} / {count.scenario}: {_sequence(count)}"
            for kind in kinds
            for count in results.counts[kind]
            if count.scenario != FLOW_TOTAL
        ]
    )
    return lines


def _latency_section(results: Results) -> list[str]:
    rounds = results.settings["rounds"]
    lines = [
        "2. Wall time of one cold verification or login:"
        f" median of {rounds} rounds, order rotated every round",
        "   ratio = contender / ours, median of the per-round ratios (> 1: slower than ours)",
        "   ours, in-process: what a running ZenML process pays (cache cleared before each run;"
        " the token",
        "   server runs in the benchmark process too). ours, python -c: a fresh interpreter,"
        " imports and one",
        "   verification, like the CLIs, which include their own process start-up.",
        "",
    ]
    for kind, value in results.latency.items():
        lines.append(f"   {KINDS[kind]}")
        if isinstance(value, str):
            lines.append(f"     not measured: {value}")
            continue
        rows = [["", "median", "vs ours in-process", "vs ours python -c"]]
        for series in value.series:
            in_process, subprocess_ = value.ratios(series.name)
            rows.append(
                [
                    series.name,
                    _ms(series.median),
                    "(ref)" if series.name == OURS_IN_PROCESS else f"{in_process:.2f}x",
                    "(ref)" if series.name == OURS_SUBPROCESS else f"{subprocess_:.2f}x",
                ]
            )
        lines += _table(rows, indent="     ")
        lines.append("")
    return lines[:-1] if lines[-1] == "" else lines


def _startup_section(results: Results) -> list[str]:
    settings = results.settings
    lines = [
        "3. Start-up cost of the plugin: medians of paired runs, order alternating",
        f"   ({settings['python_rounds']} pairs for python -c pass,"
        f" {settings['startup_rounds']} for each ZenML row)",
        "",
    ]
    startup = results.startup
    if startup is None:
        return []
    if isinstance(startup, str):
        return [*lines, f"   not measured: {startup}"]
    rows = [["", "without", "with", "with/without", "paired difference: median [IQR]"]]
    for row in startup.rows:
        low, middle, high = row.differences
        rows.append(
            [
                row.label,
                _ms(row.without.median),
                _ms(row.with_plugin.median),
                f"{row.ratio:.3f}",
                f"{_signed_ms(middle)} [{_signed_ms(low)}, {_signed_ms(high)}]",
            ]
        )
    lines += _table(rows)
    explanations = [
        f"{row.label}: {row.without_label} -> {row.with_label}." for row in startup.rows
    ]
    explanations += [
        "python -c pass runs `python -S` plus a driver that processes every .pth file of the"
        " venv's site-packages as site.py does, once skipping zenml_docker_connector_activate.pth:"
        " what every Python start in this venv pays for the plugin, ZenML or not.",
        "The ZenML rows toggle ZENML_DOCKER_CONNECTOR_DISABLE=1. The .pth line (and ZenML's"
        " init hook) import our small package in both columns, so these rows show only what"
        " activation adds on top of the .pth row: a meta-path hook, and our connector module"
        " once ZenML loads its service connector registry (the 'resolve' row).",
    ]
    if startup.import_time_us is not None:
        added = (
            f"; it brings {startup.extra_modules} modules into a bare interpreter"
            if startup.extra_modules is not None
            else ""
        )
        explanations.append(
            "`python -X importtime -c pass`: importing zenml_docker_connector from the .pth"
            f" takes {startup.import_time_us / 1000:.1f} ms (cumulative, median of 5){added}."
        )
    explanations.append(
        f"docker connector class: disabled -> {startup.type_check.get('disabled')};"
        f" active -> {startup.type_check.get('active')}."
    )
    lines += ["", "   What each row compares (without -> with):", *_bullets(explanations)]
    return lines


def _memory_section(results: Results) -> list[str]:
    memory = results.memory
    if memory is None:
        return []
    lines = [
        "4. Peak RSS of a process that verifies one connector",
        f"   (ru_maxrss from wait4, median of {results.settings['memory_rounds']};"
        " htpasswd registry; DOCKER_HOST = the private dockerd)",
        "",
    ]
    if isinstance(memory, str):
        return [*lines, f"   not measured: {memory}"]
    rows = [["", "peak RSS", "outcome"]]
    for row in memory:
        rows.append([row.label, f"{row.median_mib:.1f} MiB", row.outcome])
    lines += _table(rows, align="rl")
    builtin = next((r for r in memory if "built-in" in r.label), None)
    ours = next((r for r in memory if "zenml-docker-connector" in r.label), None)
    if builtin is not None and ours is not None and builtin.kib and ours.kib:
        lines.append(
            f"  ours / built-in: {ours.median_mib / builtin.median_mib:.3f}"
            f" ({ours.median_mib - builtin.median_mib:+.1f} MiB)"
        )
    return lines


def render(results: Results) -> str:
    title = "zenml-docker-connector benchmarks"
    lines = [title, "=" * len(title)]
    width = max(len(name) for name in results.facts) + 1
    for name, value in results.facts.items():
        lines.append(f"{name.ljust(width)} {value}")
    lines.append(f"{'reproduce'.ljust(width)} {results.command}")
    lines.append("")
    for section in (
        _requests_section(results) if results.counts else [],
        _latency_section(results) if results.latency else [],
        _startup_section(results),
        _memory_section(results),
    ):
        if section:
            lines += [*section, ""]
    if results.notes:
        lines += ["Notes", *_bullets(results.notes, indent="")]
    return "\n".join(lines).rstrip() + "\n"
