"""`update_json_file` across processes: the flock keeps every writer's entry.

The single-process behaviour (modes, symlinks, corrupt files, threads) is unit-tested in
tests/unit/local/test_json_files.py.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from testbed.local_stores import RICH_CONFIG


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


_CHILD = """
import sys, time
from pathlib import Path
from zenml_docker_connector.local.json_files import update_json_file
path, i, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
def mutate(data):
    data.setdefault("auths", {})[f"proc{i}.example:5000"] = {"auth": "dTpw"}
    time.sleep(0.002)  # widen the read-modify-write window
update_json_file(path, mutate)
"""


def test_fifty_processes_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(RICH_CONFIG)
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(i), str(go)])
        for i in range(50)
    ]
    go.touch()
    assert [child.wait(timeout=120) for child in children] == [0] * 50
    auths = json.loads(path.read_text())["auths"]
    assert {f"proc{i}.example:5000" for i in range(50)} <= set(auths)
    assert len(auths) == 53
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
