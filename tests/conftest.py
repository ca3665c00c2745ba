"""Shared pytest set-up.

ZenML keeps a process-wide global configuration, so the in-process tests share one throw-away
ZenML home, set here before anything imports ZenML; each test uses its own connector names.
All test support code lives in the `testbed` package: its `fixtures` plugin holds the
real-service test bed (registries, token server, dockerd, credential helper), `zenml_fixtures`
the ZenML CLI helpers, `zenml_server_fixture` the ZenML servers, `cloud_fixtures` moto's AWS
API with a local ECR stand-in, and `secret_scan` fails the session when a test secret shows up
in anything it printed or logged. `unit/` mirrors the package's modules and needs none of
those services; `integration/` uses them.
"""

from __future__ import annotations

import os
import tempfile

_ZENML_HOME = tempfile.mkdtemp(prefix="zdc-zenml-")
os.environ["ZENML_CONFIG_PATH"] = _ZENML_HOME
os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
os.environ["ZENML_ENABLE_RICH_TRACEBACK"] = "false"
os.environ["ZENML_LOGGING_COLORS_DISABLED"] = "true"
os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
os.environ.pop("ZENML_STORE_URL", None)

pytest_plugins = [
    "pytester",
    "testbed.secret_scan",
    "testbed.fixtures",
    "testbed.zenml_fixtures",
    "testbed.corpus",
    "testbed.zenml_server_fixture",
    "testbed.cloud_fixtures",
]
