"""Observations computed from one run's figures, so that the report explains itself."""

from __future__ import annotations

import counts
from counts import Count
from report import Results


def _total(count: Count | None) -> int | None:
    if count is None or count.error is not None:
        return None
    return count.registry_total + count.token_total


def _per_kind(kind: str, rows: dict[str, Count]) -> list[str]:
    notes: list[str] = []
    cold, warm = _total(rows.get(counts.COLD)), _total(rows.get(counts.WARM))
    docker, skopeo = _total(rows.get(counts.DOCKER)), _total(rows.get(counts.SKOPEO))
    if cold is not None:
        others = [
            f"{name} {value}"
            for name, value in (("docker login", docker), ("skopeo login", skopeo))
            if value is not None
        ]
        warm_text = "" if warm is None else f"; warm: {warm}"
        notes.append(
            f"{kind}: requests of a cold verification: ours {cold}, {', '.join(others)}"
            f"{warm_text}{' (answered from the per-process cache)' if warm == 0 else ''}."
        )
    client, connect = _total(rows.get(counts.FLOW_CLIENT)), _total(rows.get(counts.FLOW_OURS))
    if client is not None and connect is not None:
        notes.append(
            f"{kind}: ZenML runs _verify twice in get_service_connector_client() and once in"
            f" connect(); all three cost {client + connect} request(s) of ours. The daemon's"
            " own login in connect() is the docker engine's (docker-py `login`), not ours."
        )
    for scenario in (counts.COLD, counts.WARM):
        row = rows.get(scenario)
        if row is None or row.self_reported is None or row.error is not None:
            continue
        seen = (row.registry_total, row.token_total)
        if row.self_reported != seen:
            notes.append(
                f"{kind}: {scenario}: VerificationReport says {row.self_reported[0]} + "
                f"{row.self_reported[1]} requests, the servers saw {seen[0]} + {seen[1]}."
            )
    return notes


def _connections(results: Results) -> list[str]:
    surplus: list[str] = []
    ours: list[str] = []
    for kind, rows in results.counts.items():
        for row in rows:
            if row.connections is None or row.error is not None:
                continue
            if row.scenario == counts.FRESH:
                ours.append(f"{row.connections[0]} on {kind}")
            elif row.connections[0] > row.registry_total:
                surplus.append(
                    f"{row.scenario.split(' (')[0]} on {kind}: {row.connections[0]} for"
                    f" {row.registry_total} requests"
                )
    if not surplus:
        return []
    return [
        "TCP connections to the registry: "
        + "; ".join(surplus)
        + ". Both CLIs try https:// first on a plain-HTTP loopback registry (their debug"
        " output shows the failed attempt; a TLS handshake answered by an HTTP server is never"
        " logged as a request), then use http://."
        + (
            f" Ours ({', '.join(ours)}) goes to http:// directly for a loopback registry named"
            " without a scheme, as Docker treats those, and keeps its connection alive."
            if ours
            else ""
        )
    ]


def _startup(results: Results) -> list[str]:
    if results.startup is None or isinstance(results.startup, str):
        return []
    within_noise = [
        row.label for row in results.startup.rows if row.differences[0] <= 0 <= row.differences[2]
    ]
    if not within_noise:
        return []
    return [
        "Start-up rows whose paired differences have an interquartile range spanning zero"
        f" (no difference measurable at this number of pairs): {'; '.join(within_noise)}."
    ]


def observations(results: Results) -> list[str]:
    notes: list[str] = []
    for kind, rows in results.counts.items():
        notes += _per_kind(kind, {row.scenario: row for row in rows})
    return notes + _connections(results) + _startup(results)
