"""The docs page's command outputs are what the commands print today (`docs/generate.py --check`).

The generator runs in a process of its own: it needs a fresh ZenML home, which ZenML's
process-wide configuration cannot switch to inside this session. Its passwords are made here
and handed over, so the secret scan knows them, and everything it printed is scanned too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testbed.requirements import require_binary
from testbed.secret_scan import make_secret, observe

GENERATOR = Path(__file__).resolve().parents[2] / "docs" / "generate.py"
USERNAME = "ci-bot"
"""The registry user the page's commands name (`docs/generate.py` USERNAME)."""


def test_docs_page_outputs_match_a_fresh_run() -> None:
    require_binary("docker-registry", "docker-registry")
    require_binary("htpasswd", "apache2-utils")
    environment = {
        **os.environ,
        "ZDC_DOCS_PASSWORD": make_secret("docs page password", [USERNAME]),
        "ZDC_DOCS_WRONG_PASSWORD": make_secret("docs page wrong password", [USERNAME]),
    }
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    observe(done.stdout + done.stderr, "output of docs/generate.py --check")
    assert done.returncode == 0, done.stdout + done.stderr
