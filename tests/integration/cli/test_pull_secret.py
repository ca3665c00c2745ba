"""`zenml-docker pull-secret`: the emitted Secret lets the real docker CLI and podman pull.

Connectors are registered in this process's ZenML store and the command runs in-process
(click's CliRunner); one test runs the installed `zenml-docker` executable to prove that
standard output carries the manifest alone, as `kubectl apply -f -` needs.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner, Result

from testbed.docker_cli import docker_pull, push_tiny_image
from testbed.leaks import assert_no_secret
from testbed.podman_cli import podman_pull
from testbed.zenml_fixtures import register_docker_connector as register
from zenml_docker_connector.cli import main

WRONG_PASSWORD = "not-the-Password-77"


def pull_secret(*args: str) -> Result:
    return CliRunner().invoke(main, ["pull-secret", *args])


def manifest_of(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    manifest: dict[str, Any] = yaml.safe_load(result.stdout)
    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)
    return manifest


def docker_config_dir(manifest: dict[str, Any], directory: Path) -> Path:
    """The Secret's `.dockerconfigjson`, decoded, as `directory/config.json`."""
    directory.mkdir()
    (directory / "config.json").write_bytes(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    return directory


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_the_secret_pulls_a_private_image_with_docker_and_podman(
    kind: str,
    request: pytest.FixtureRequest,
    dockerd: Any,
    tiny_image: str,
    tmp_path: Path,
    unique_name: str,
) -> None:
    registry = request.getfixturevalue(f"{kind}_registry")
    image = push_tiny_image(dockerd, tiny_image, registry)
    register(unique_name, registry)

    result = pull_secret(unique_name, "--namespace", "pipelines")
    manifest = manifest_of(result)
    config = docker_config_dir(manifest, tmp_path / "from-secret")

    anonymous = tmp_path / "anonymous"
    anonymous.mkdir()
    refused = docker_pull(dockerd, anonymous, image)
    assert refused.returncode != 0  # the image really is private
    pulled = docker_pull(dockerd, config, image)
    assert pulled.returncode == 0, pulled.stderr
    podman = podman_pull(tmp_path, config / "config.json", image)
    assert podman.returncode == 0, podman.stderr

    assert manifest["metadata"]["namespace"] == "pipelines"
    assert_no_secret(result.stderr, registry.password, usernames=[registry.username])


def test_rejected_credentials_emit_nothing(
    htpasswd_registry: Any, tmp_path: Path, unique_name: str
) -> None:
    register(unique_name, htpasswd_registry, password=WRONG_PASSWORD)
    target = tmp_path / "secret.yaml"

    printed = pull_secret(unique_name)
    to_file = pull_secret(unique_name, "--file", str(target))

    for result in (printed, to_file):
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "rejected" in result.stderr and htpasswd_registry.host in result.stderr
        assert unique_name in result.stderr
        assert_no_secret(result.output, WRONG_PASSWORD, usernames=[htpasswd_registry.username])
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_file_output_is_private_and_stdout_stays_empty(
    htpasswd_registry: Any, tmp_path: Path, unique_name: str
) -> None:
    register(unique_name, htpasswd_registry)
    target = tmp_path / "secret.json"
    target.write_text("stale")
    os.chmod(target, 0o644)

    result = pull_secret(unique_name, "--output", "json", "--file", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    manifest = json.loads(target.read_text())
    assert f"Wrote Secret '{manifest['metadata']['name']}'" in result.stderr
    assert f"kubectl apply -f {target}" in result.stderr
    assert_no_secret(
        result.output, htpasswd_registry.password, usernames=[htpasswd_registry.username]
    )
    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("victim_exists", [True, False], ids=["existing", "missing"])
def test_another_users_symlink_in_a_sticky_directory_is_not_followed(
    htpasswd_registry: Any, tmp_path: Path, unique_name: str, victim_exists: bool
) -> None:
    """`--file` in a shared /tmp-like directory: a symlink someone else planted there is
    refused, so their chosen file is neither overwritten nor created (issue 19)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a symlink to another user")
    register(unique_name, htpasswd_registry)
    victim = tmp_path / "profile"
    if victim_exists:
        victim.write_text("original\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    link = shared / "secret.yaml"
    link.symlink_to(victim)
    os.lchown(link, 54321, 54321)

    result = pull_secret(unique_name, "--file", str(link))

    assert result.exit_code != 0, result.output
    assert "symbolic link owned by another user" in result.stderr and str(link) in result.stderr
    assert victim.read_text() == "original\n" if victim_exists else not victim.exists()
    assert link.is_symlink() and [p.name for p in shared.iterdir()] == ["secret.yaml"]
    assert_no_secret(
        result.output, htpasswd_registry.password, usernames=[htpasswd_registry.username]
    )


@pytest.mark.usefixtures("needs_pull_secret_settings")
def test_default_name_is_stable_and_matches_the_pod_settings_helper(
    htpasswd_registry: Any, unique_name: str
) -> None:
    from zenml_docker_connector.pull_secrets import image_pull_secrets, kubernetes_pod_settings

    connector_id = str(register(unique_name, htpasswd_registry).id)

    first = manifest_of(pull_secret(unique_name))["metadata"]
    second = manifest_of(pull_secret(unique_name, "-o", "json"))["metadata"]

    assert first["name"] == second["name"]
    assert first["name"].startswith(f"zenml-docker-{unique_name}-")
    assert image_pull_secrets(unique_name) == [first["name"]]
    assert kubernetes_pod_settings(unique_name).image_pull_secrets == [first["name"]]
    assert first["labels"]["zenml.io/service-connector"] == unique_name
    assert first["labels"]["zenml.io/service-connector-id"] == connector_id
    assert first["annotations"]["zenml.io/docker-registry"] == htpasswd_registry.host


def test_expiring_credentials_are_annotated_and_the_refresh_time_is_said(
    htpasswd_registry: Any, unique_name: str
) -> None:
    expires_at = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    register(unique_name, htpasswd_registry, expires_at=expires_at.replace(tzinfo=None))

    result = pull_secret(unique_name, "--name", "ecr-pull")
    manifest = manifest_of(result)

    stamp = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert manifest["metadata"]["name"] == "ecr-pull"
    assert manifest["metadata"]["annotations"]["zenml.io/credentials-expire-at"] == stamp
    assert f"expire at {stamp} (in 1 h 59 min)" in result.stderr
    assert f"zenml-docker pull-secret {unique_name}" in result.stderr


def test_expired_connectors_emit_nothing(htpasswd_registry: Any, unique_name: str) -> None:
    register(unique_name, htpasswd_registry, expires_at=datetime.utcnow() - timedelta(hours=1))

    result = pull_secret(unique_name)

    assert result.exit_code == 1 and result.stdout == ""
    assert "expired" in result.stderr and unique_name in result.stderr


def test_unknown_connector_is_a_clear_error() -> None:
    result = pull_secret("no-such-connector-xyz")
    assert result.exit_code == 1 and result.stdout == ""
    assert "No service connector named 'no-such-connector-xyz'" in result.stderr


@pytest.mark.e2e
def test_executable_prints_the_manifest_alone_even_on_a_first_run(
    htpasswd_registry: Any, tmp_path: Path, unique_name: str
) -> None:
    """A fresh ZenML home logs its set-up; stdout must still be the Secret and nothing else."""
    from zenml.config.global_config import GlobalConfiguration

    register(unique_name, htpasswd_registry)
    executable = shutil.which("zenml-docker", path=str(Path(sys.executable).parent))
    assert executable is not None, "zenml-docker is not installed next to this Python"
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(tmp_path / "fresh-zenml-home"),
        "ZENML_STORE_URL": GlobalConfiguration().store_configuration.url,
        "ZENML_LOGGING_VERBOSITY": "INFO",
    }
    result = subprocess.run(
        [executable, "pull-secret", unique_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Initializing the ZenML global configuration" in result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["kind"] == "Secret" and list(manifest["data"]) == [".dockerconfigjson"]
    assert_no_secret(
        result.stderr, htpasswd_registry.password, usernames=[htpasswd_registry.username]
    )
