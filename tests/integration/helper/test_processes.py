"""docker-credential-zenml in fresh processes: racing refreshes, and what a warm `get` imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from testbed.secret_scan import register_secret
from zenml_docker_connector.helper import command
from zenml_docker_connector.helper.fetch import Answer
from zenml_docker_connector.helper.mapping import Route

from .conftest import REGISTRY

SECRET = register_secret("helper-proc-S3cret-4a5b6c", "credential helper process secret", ["alice"])


def _fake(route: Route, known: str | None) -> Answer:
    return Answer("v1", False, "alice", SECRET, None)


_RACER = """
import sys, time
from zenml_docker_connector.helper import command
from zenml_docker_connector.helper.fetch import Answer
LOG, SECRET = sys.argv[1], sys.argv[2]

def slow(route, known):
    with open(LOG, "a") as log:
        log.write("fetch\\n")
    time.sleep(1.0)
    return Answer("v1", False, "alice", SECRET, None)

command.fetch = slow
sys.argv = ["docker-credential-zenml", "get"]
command.main()
"""


def test_two_helpers_racing_make_one_fetch_and_both_answer(
    mapping_file: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "fetches.log"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(log), SECRET],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [racer.communicate(REGISTRY.encode(), timeout=60)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    assert all(json.loads(out)["Secret"] == SECRET for out in outputs)
    assert log.read_text() == "fetch\n"


_WARM = """
import io, sys
from zenml_docker_connector.helper import command
out = io.StringIO()
status = command.run(["get"], io.BytesIO(sys.argv[1].encode()), out)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("zenml", "pydantic", "requests",
    "docker", "urllib3", "click", "yaml", "subprocess", "typing", "dataclasses", "glue"))
print(status, heavy)
"""


def test_a_warm_get_imports_nothing_heavy(
    mapping_file: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command, "fetch", _fake)
    out = io.StringIO()
    assert command.run(["get"], io.BytesIO(REGISTRY.encode()), out) == 0  # fills the cache
    result = subprocess.run(
        [sys.executable, "-c", _WARM, REGISTRY], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "0 []", result.stderr
