"""Section 8: sustained load on a real ZenML server with the plugin (issue 19, item 4).

K client processes loop through one server for minutes against good Basic, good token,
wrong-password, slow and hostile registries (`tests/testbed/load.py` says what each does and
what the verdict cache does to them); the server's VmRSS, open FDs and threads are sampled at
the start and every minute. The short profile of the same driver runs in the test suite
(tests/integration/load/test_sustained_load.py).

    .venv-test/bin/python benchmarks/load.py --minutes 10 [--clients 4] [--users 4] [--json F]
    bash benchmarks/run.sh --only load [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testbed.factory import Testbed
from testbed.load import details, growth, load_bed, render, run_load
from testbed.zenml_server_fixture import ZenServerPool

MINUTES, QUICK_MINUTES = 10.0, 1.0
CLIENTS, USERS = 4, 4


def measure(
    scratch: Path, seconds: float, sample_every: float, clients: int = CLIENTS, users: int = USERS
) -> dict[str, Any]:
    """One load run on a private server; the summary, samples and bounds held."""
    registry, htpasswd = (shutil.which(n) or n for n in ("docker-registry", "htpasswd"))
    testbed = Testbed(scratch / "testbed", registry_binary=registry, htpasswd_binary=htpasswd)
    server = ZenServerPool(scratch / "servers").private(scratch / "servers" / "load")
    load_before = os.getloadavg()
    try:
        with load_bed(testbed, users) as bed:
            result = run_load(
                server,
                bed,
                scratch / "clients",
                clients=clients,
                seconds=seconds,
                sample_every=sample_every,
            )
            secrets_in_log = sum(secret in server.log() for secret in bed.secrets)
    finally:
        server.stop()
        testbed.stop()
    data = details(result)
    data["growth"] = growth(result.samples, result.after)
    data["secrets_in_server_log"] = secrets_in_log
    data["load_average"] = {"before": load_before, "after": os.getloadavg()}
    data["finished_utc"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return data


def report(data: dict[str, Any]) -> list[str]:
    """The figures docs/benchmarks.md shows, as markdown."""
    lines = [
        f"{data['clients']} clients, {data['seconds']:.0f} s, finished {data['finished_utc']}, "
        f"load average {data['load_average']['before'][0]:.2f} -> "
        f"{data['load_average']['after'][0]:.2f}",
        f"requests served: {data['requests_served']} ({data['by_operation']}); registry checks "
        f"by the server: {data['checks']} ({data['fresh_verifications']} fresh verifications)",
        f"registry requests: {data['registry_requests']}",
        f"unexpected outcomes: {data['unexpected'] or 'none'}; secrets in the server log: "
        f"{data['secrets_in_server_log']}; client exit codes {data['exit_codes']}",
        f"growth from the warm-up sample: {data['growth']}",
        "",
        *render(data),
    ]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=MINUTES)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--users", type=int, default=USERS, help="connectors per kind")
    parser.add_argument("--sample-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="zdc-load-"))
    try:
        data = measure(scratch, args.minutes * 60, args.sample_every, args.clients, args.users)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(data, indent=2))
    print("\n".join(report(data)))
    return 1 if data["unexpected"] or data["secrets_in_server_log"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
