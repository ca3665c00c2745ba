"""Activation: installed wheel → our class serves `docker`, by each door, exactly once.

Each case runs a fresh interpreter (activation is per process). `python -S` skips the `.pth`
start-up lines so that each door can be opened on its own; the other start-up lines of the
environment are then run by hand (from Python 3.12 ZenML's `import distutils` works only
through setuptools' `distutils-precedence.pth`). ZenML's hook door is closed by emptying the
`zenml.init_hooks` group, as on a ZenML release that predates hooks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from importlib.metadata import entry_points, version
from pathlib import Path

import pytest
from packaging.version import Version

pytestmark = pytest.mark.zenml_lines

ZENML_HAS_INIT_HOOKS = Version(version("zenml")) >= Version("0.94.1")

SITE = sysconfig.get_paths()["purelib"]
OURS = "zenml_docker_connector.glue.connector.DockerServiceConnector"
BUILTIN = "zenml.service_connectors.docker_service_connector.DockerServiceConnector"

OUR_PTH = "zenml_docker_connector_activate.pth"
AWS_MODULE = "zenml.integrations.aws.service_connectors.aws_service_connector"

PRELUDE = f"""
import os, sys, site
if {{pth}}:
    site.addsitedir({SITE!r})
else:
    sys.path.append({SITE!r})
    for _name in sorted(os.listdir({SITE!r})):
        if _name.endswith(".pth") and _name != {OUR_PTH!r}:
            site.addpackage({SITE!r}, _name, set())
if {{no_hooks}}:
    import importlib.metadata as md
    _real = md.entry_points
    class _NoHooks:
        def __init__(self, eps): self.eps = eps
        def select(self, **kw):
            if kw.get("group") == "zenml.init_hooks":
                return md.EntryPoints([])
            return self.eps.select(**kw)
        def __iter__(self): return iter(self.eps)
        def __getattr__(self, name): return getattr(self.eps, name)
    def _entry_points(**kw):
        if kw.get("group") == "zenml.init_hooks":
            return md.EntryPoints([])
        return _real(**kw) if kw else _NoHooks(_real())
    md.entry_points = _entry_points
"""

REPORT = f"""
from zenml.service_connectors.service_connector_registry import service_connector_registry as r
cls = r.get_service_connector_type("docker").connector_class
print(cls.__module__ + "." + cls.__name__)
finders = [f for f in sys.meta_path if type(f).__name__ == "_ZenmlModuleFinder"]
print(f"finders {{len(finders)}}")
aws = sys.modules.get({AWS_MODULE!r})
print(aws.DockerServiceConnector.__module__ if aws else "no AWS connector")
"""


def run(body: str, *, pth: bool, no_hooks: bool) -> list[str]:
    code = PRELUDE.format(pth=pth, no_hooks=no_hooks) + body
    # Older ZenML logs its warnings (e.g. "Could not import AWS service connector") to stdout.
    env = {**os.environ, "ZENML_LOGGING_VERBOSITY": "ERROR"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.split("\n")


def test_wheel_declares_the_hook_and_ships_the_pth() -> None:
    hooks = [ep.value for ep in entry_points(group="zenml.init_hooks")]
    assert "zenml_docker_connector.glue.activation:activate" in hooks
    assert (Path(SITE) / "zenml_docker_connector_activate.pth").is_file()


@pytest.mark.parametrize(
    ("pth", "no_hooks"),
    [
        pytest.param(
            False,
            False,
            marks=pytest.mark.skipif(
                not ZENML_HAS_INIT_HOOKS,
                reason=f"ZenML {version('zenml')} predates zenml.init_hooks (0.94.1)",
            ),
        ),
        (True, True),
        (True, False),
    ],
    ids=["init-hook-only", "pth-only (pre-0.94.1 ZenML)", "both"],
)
def test_each_door_activates_once(pth: bool, no_hooks: bool) -> None:
    lines = run("import zenml\n" + REPORT, pth=pth, no_hooks=no_hooks)
    assert lines[0] == OURS
    # One finder, whichever doors ran; it waits for connector modules not imported yet.
    assert lines[1] == "finders 1"
    # The AWS connector (its SDK is a test dependency) builds ECR clients with our class.
    assert lines[2] == "zenml_docker_connector.glue.connector"


def test_no_door_leaves_the_builtin_until_the_package_is_imported() -> None:
    body = "import zenml\n" + REPORT + "import zenml_docker_connector\n" + REPORT
    lines = run(body, pth=False, no_hooks=True)
    assert lines[:3] == [BUILTIN, "finders 0", "zenml.service_connectors.docker_service_connector"]
    # Importing the package adjusts what is already loaded, the registry and the AWS module.
    assert lines[3] == OURS
    assert lines[5] == "zenml_docker_connector.glue.connector"


def test_hook_imports_nothing_heavy() -> None:
    body = (
        "import zenml\n"
        "heavy = [m for m in ('zenml.service_connectors.docker_service_connector',"
        " 'zenml_docker_connector.glue.connector', 'docker', 'requests') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    lines = run(body, pth=True, no_hooks=False)
    assert "zenml.service_connectors.docker_service_connector" not in lines[0]
    assert "zenml_docker_connector.glue.connector" not in lines[0]


def test_activate_is_idempotent_and_never_raises() -> None:
    body = (
        "import zenml_docker_connector.glue.activation as a\n"
        "for _ in range(3): a.activate()\n"
        "sys.modules['zenml.service_connectors.service_connector_registry'] = object()\n"
        "a._activated = False\n"
        "a.activate()\n"
        "print('ok')\n"
    )
    lines = run(body, pth=False, no_hooks=True)
    assert lines[0].startswith("ok")
