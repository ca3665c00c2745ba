"""The real `zenml` executable in subprocesses: what only a fresh process proves.

Activation through the installed wheel (init hook / .pth), prompts on a real terminal-less
stdin, and a stack component pushing with the connector's credentials. Every run costs ~5 s,
so the in-process tests (test_zenml_flows.py) cover the variations.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.zenml_fixtures import ZenSubprocess, output_of

pytestmark = pytest.mark.e2e

QUIET = "ERROR"
"""Logging level for interpreters whose stdout is compared: older ZenML logs warnings there."""


def test_fresh_interpreter_uses_our_class_and_import_stays_lazy() -> None:
    code = (
        "import sys, zenml\n"
        "assert 'zenml.service_connectors.docker_service_connector' not in sys.modules\n"
        "from zenml.service_connectors.service_connector_registry import service_connector_registry as r\n"
        "cls = r.get_service_connector_type('docker').connector_class\n"
        "print(cls.__module__ + '.' + cls.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ZENML_LOGGING_VERBOSITY": QUIET},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "zenml_docker_connector.glue.connector.DockerServiceConnector"


def test_disable_switch_leaves_the_builtin() -> None:
    code = (
        "from zenml.service_connectors.service_connector_registry import service_connector_registry as r\n"
        "print(r.get_service_connector_type('docker').connector_class.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ZENML_DOCKER_CONNECTOR_DISABLE": "1", "ZENML_LOGGING_VERBOSITY": QUIET},
    )
    assert result.stdout.strip() == "zenml.service_connectors.docker_service_connector"


def test_cli_register_describe_verify_and_push(
    zenml_subprocess: ZenSubprocess,
    token_registry: Any,
    dockerd: Any,
    tiny_image: str,
    tmp_path: Path,
) -> None:
    zen = zenml_subprocess
    password = token_registry.password
    outputs: list[str] = []

    listed = zen.run("service-connector", "list-types", "--type", "docker")
    outputs.append(output_of(listed))
    assert (
        listed.returncode == 0
        and "docker-registry" in output_of(listed)
        and "✅" in output_of(listed)
    )

    # Interactive registration, prompts as in the reference page; no daemon needed to verify.
    zen.env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    answers = f"\n\ndocker\n\ny\n{token_registry.username}\n{password}\n{token_registry.url}\n\n\n"
    registered = zen.run("service-connector", "register", "hub", "-in", input=answers)
    outputs.append(output_of(registered))
    assert registered.returncode == 0, output_of(registered)
    assert (
        "[registry] Registry server URL. Omit to use DockerHub. {string, optional}:"
        in output_of(registered)
    )
    assert "Successfully registered service connector `hub`" in output_of(registered)

    wrong = zen.run(
        "service-connector",
        "register",
        "bad",
        "--type",
        "docker",
        f"--username={token_registry.username}",
        "--password=not-the-Password-42",
        f"--registry={token_registry.url}",
    )
    outputs.append(output_of(wrong))
    assert wrong.returncode != 0
    assert "rejected" in output_of(wrong) and token_registry.host in output_of(wrong)

    described = zen.run("service-connector", "describe", "hub")
    outputs.append(output_of(described))
    assert described.returncode == 0 and "docker-registry" in output_of(described)

    verified = zen.run("service-connector", "verify", "hub")
    outputs.append(output_of(verified))
    assert verified.returncode == 0, output_of(verified)
    assert token_registry.host in output_of(verified)

    # A stack component linked to the connector pushes with its credentials.
    zen.env["DOCKER_HOST"] = dockerd.host
    uri = f"{token_registry.host}/e2e"
    image = f"{uri}/pushed:1"
    dockerd.client().images.get(tiny_image).tag(image)
    for args in (
        ("container-registry", "register", "cr", "--flavor=default", f"--uri={uri}"),
        ("container-registry", "connect", "cr", "--connector", "hub"),
    ):
        done = zen.run(*args)
        outputs.append(output_of(done))
        assert done.returncode == 0, output_of(done)
    script = (
        "from zenml.client import Client\n"
        "from zenml.enums import StackComponentType\n"
        "from zenml.stack import StackComponent\n"
        "model = Client().get_stack_component(StackComponentType.CONTAINER_REGISTRY, 'cr')\n"
        "component = StackComponent.from_model(model)\n"
        "try:\n"
        "    from zenml.container_engines import get_container_engine\n"
        "except ModuleNotFoundError:  # ZenML < 0.94.3: the component pushes via connect()\n"
        f"    print(component.push_image('{image}'))\n"
        "else:\n"
        f"    print(get_container_engine().push_image('{image}', container_registry=component))\n"
    )
    mark = token_registry.mark()
    script_path = tmp_path / "push_through_zenml.py"  # ZenML needs a source root: a file
    script_path.write_text(script)
    pushed = subprocess.run(
        [sys.executable, str(script_path)],
        env=zen.env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    outputs.append(output_of(pushed))
    assert pushed.returncode == 0, output_of(pushed)
    seen = token_registry.requests_since(mark)
    assert any(m == "PUT" and "/manifests/1" in p and s == 201 for m, p, s in seen), seen

    assert_no_secret(outputs, password)
