"""Shared pytest set-up.

ZenML keeps a process-wide global configuration, so the in-process tests share one throw-away
ZenML home, set here before anything imports ZenML; each test uses its own connector names.
All test support code lives in the `testbed` package. Loaded here, for every test:
`secret_scan`, which fails the session when a test secret shows up in anything it printed or
logged, and `plain_fixtures` (isolated client files, no service). `unit/` mirrors the
package's modules and needs nothing more; `integration/conftest.py` adds the services.
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

pytest_plugins = ["pytester", "testbed.secret_scan", "testbed.plain_fixtures"]
