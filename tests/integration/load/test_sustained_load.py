"""The short load profile: 4 clients for 40 s through a real ZenML server with the plugin.

The driver is `testbed.load` (the long profile, `benchmarks/load.py --minutes 10`, runs the
same code; docs/benchmarks.md has both results). The server is this test's own, so its
memory, descriptors and threads are those of this load alone. What holds:

- every outcome is the one expected for its registry (good and slow: ok, wrong password:
  refused, hostile: rejected as not a registry), for every operation, and each was seen;
- no form of any password is in the server's log, the clients' stderr or any message;
- the server still answers afterwards (health, and a fresh client's verify);
- resources stay flat: after a warm-up run of `WARM_UP` s (the same load: it loads the code
  every path needs and grows the allocator's arenas, ~30 MiB in the first minute of the long
  profile), from the first sample of the measured run to the one after it VmRSS grows by
  less than `RSS_GROWTH_BOUND_MIB`; open descriptors after the load are within `FD_SLACK`
  of their count before it; threads stay under `THREAD_BOUND` and are back within
  `THREAD_SLACK` of the start afterwards. Counts and sizes only, no timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.factory import Testbed
from testbed.leaks import assert_no_secret
from testbed.load import EXPECTED, KINDS, LoadResult, details, load_bed, register, render, run_load
from testbed.secret_scan import observe
from testbed.zenml_server_fixture import ZenServer, ZenServerPool, _healthy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

CLIENTS, USERS, WARM_UP, SECONDS, SAMPLE_EVERY = 4, 2, 20.0, 40.0, 10.0
RSS_GROWTH_BOUND_MIB = 20
FD_SLACK = 5
THREAD_BOUND = 40 + 5 + 8 * CLIENTS + 8
"""ZenML's request pool (40) and auth pool (5), our 8 listing workers for each client listing
at the same time, and the server's own few: what a server could hold without leaking."""
THREAD_SLACK = 8
OPERATIONS = ("verify", "verify-type", "connect", "list-entry")


def _verify_once(server: ZenServer, home: Path, connector: str) -> list[object]:
    client = server.client(home)
    return client.results(
        "from zenml.client import Client\n"
        f"resources = Client().verify_service_connector({connector!r})\n"
        "emit(resources.error)\n"
    )


def _outcomes(result: LoadResult) -> dict[tuple[str, str], set[str]]:
    seen: dict[tuple[str, str], set[str]] = {}
    for op, kind, outcome in result.tally.counts:
        seen.setdefault((op, kind), set()).add(outcome)
    return seen


def test_sustained_load_through_a_zenml_server(
    testbed: Testbed, zenml_server_pool: ZenServerPool, tmp_path: Path
) -> None:
    server = zenml_server_pool.private(tmp_path / "server")
    try:
        with load_bed(testbed, USERS) as bed:
            ids = register(server, tmp_path / "setup", bed)
            runs = [
                run_load(
                    server,
                    bed,
                    tmp_path / name,
                    clients=CLIENTS,
                    seconds=seconds,
                    sample_every=SAMPLE_EVERY,
                    ids=ids,
                )
                for name, seconds in (("warm-up", WARM_UP), ("load", SECONDS))
            ]
            healthy = _healthy(server.url)
            final = _verify_once(server, tmp_path / "final", ids["good-basic"][0])
        log = server.log()
    finally:
        server.stop()
    texts = [t for run in runs for t in [*run.tally.stderr, *run.tally.first_messages.values()]]
    for index, text in enumerate(texts):
        observe(text, f"load client output {index}")

    for run in runs:
        assert run.exit_codes == [0] * CLIENTS, run.tally.stderr
        assert run.tally.unexpected() == {}, run.tally.first_messages
    result = runs[-1]
    seen = _outcomes(result)
    for kind in KINDS:
        for op in OPERATIONS:
            assert seen.get((op, kind)) == EXPECTED[kind], (op, kind, seen)
    assert seen[("list", "(request)")] == {"ok"}
    assert healthy and final == [None]
    assert_no_secret([log, *texts], *bed.secrets, usernames=bed.users)

    figures = details(result)
    print(figures["requests_served"], figures["by_operation"], figures["registry_requests"])
    print("\n".join(render(figures)))  # the figures docs/benchmarks.md quotes (pytest -rP)
    samples, start, after = result.samples, result.samples[0], result.after
    assert len(samples) >= 5, samples
    assert after.rss_kib - start.rss_kib < RSS_GROWTH_BOUND_MIB * 1024, (samples, after)
    assert after.fds <= start.fds + FD_SLACK, (samples, after)
    assert max(s.threads for s in samples) < THREAD_BOUND, samples
    assert after.threads <= start.threads + THREAD_SLACK, (samples, after)
