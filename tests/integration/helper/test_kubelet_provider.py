"""zenml-kubelet-credential-provider with the real ZenML, and containerd pulling with its answer.

No kubelet can run here; the kubelet hands the provider's `auth` to the CRI runtime's
PullImage, which is what `ctr images pull --user` does against a private containerd.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testbed.containerd import Containerd, containerd
from testbed.docker_cli import push_tiny_image
from testbed.leaks import assert_no_secret
from testbed.net import free_port
from testbed.secret_scan import observe
from testbed.zenml_fixtures import register_docker_connector

__all__ = ["containerd"]

PROVIDER = str(Path(sys.executable).parent / "zenml-kubelet-credential-provider")
API = "credentialprovider.kubelet.k8s.io/v1"


def provide(
    image: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    request = {"apiVersion": API, "kind": "CredentialProviderRequest", "image": image}
    result = subprocess.run(
        [PROVIDER, *args],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    observe(result.stderr, "stderr of the kubelet provider")
    if result.returncode != 0:
        observe(result.stdout, "stdout of the failed kubelet provider")
    return result


def test_the_providers_answer_lets_containerd_pull(
    containerd: Containerd,
    dockerd: Any,
    tiny_image: str,
    htpasswd_registry: Any,
    unique_name: str,
) -> None:
    registry = htpasswd_registry
    register_docker_connector(unique_name, registry)
    image = push_tiny_image(dockerd, tiny_image, registry)
    anonymous = containerd.ctr("images", "pull", "--plain-http", image)
    assert anonymous.returncode != 0, "the registry must want credentials"
    result = provide(image, "--connector", unique_name)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    response = json.loads(result.stdout)
    assert response["apiVersion"] == API and response["kind"] == "CredentialProviderResponse"
    assert response["cacheKeyType"] == "Registry" and response["cacheDuration"] == "300s"
    auth = response["auth"][registry.host]
    assert set(response["auth"]) == {registry.host}
    user = f"{auth['username']}:{auth['password']}"
    pulled = containerd.ctr("images", "pull", "--plain-http", "--user", user, image)
    assert pulled.returncode == 0, pulled.stderr
    assert containerd.ctr("images", "ls", "-q").stdout.split().count(image) == 1
    containerd.ctr("images", "rm", image)


def _assert_one_line(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_an_image_of_another_registry_is_refused(htpasswd_registry: Any, unique_name: str) -> None:
    register_docker_connector(unique_name, htpasswd_registry)
    result = provide("ghcr.io/team/app:1", "--connector", unique_name)
    _assert_one_line(result, f"serves {htpasswd_registry.host}, not ghcr.io")
    assert_no_secret(result.stderr, htpasswd_registry.password)


def test_a_malformed_request_and_an_unreachable_server_fail_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = subprocess.run(
        [PROVIDER, "--connector", "x"], input="{", capture_output=True, text=True, timeout=60
    )
    _assert_one_line(bad, "the request is not JSON")
    monkeypatch.setenv("ZENML_STORE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("ZENML_STORE_API_KEY", "ZENKEY_not-a-real-key")
    monkeypatch.setenv("ZENML_DOCKER_CREDENTIAL_FETCH_TIMEOUT", "30")
    started = time.monotonic()
    result = provide("127.0.0.1:5000/app", "--connector", "nowhere")
    _assert_one_line(result, "Error connecting")
    assert time.monotonic() - started < 60
