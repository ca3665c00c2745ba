"""The kubelet credential provider protocol, with ZenML replaced by a fake (`kubelet.fetch`)."""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest

from testbed.leaks import assert_no_secret
from testbed.secret_scan import register_secret
from zenml_docker_connector.helper import kubelet
from zenml_docker_connector.helper.fetch import Answer
from zenml_docker_connector.helper.files import HelperError
from zenml_docker_connector.helper.mapping import Route

SECRET = register_secret("kubelet-unit-S3cret-1q2w3e", "kubelet provider unit secret", ["alice"])
REQUEST = {"apiVersion": kubelet.API_VERSION, "kind": "CredentialProviderRequest"}


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("127.0.0.1:5000/team/app:1", "127.0.0.1:5000"),
        ("registry.example.com/app@sha256:abc", "registry.example.com"),
        ("localhost/app", "localhost"),
        ("busybox", "docker.io"),
        ("library/busybox:1", "docker.io"),
        ("docker.io/library/busybox", "docker.io"),
        ("index.docker.io/x/y", "docker.io"),
    ],
)
def test_the_registry_of_an_image(image: str, registry: str) -> None:
    assert kubelet.image_registry(image) == registry


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"[" * 50000, "not JSON"),
        (b"\xff", "not JSON"),
        (b"[]", "not a CredentialProviderRequest"),
        (json.dumps({**REQUEST, "kind": "Other"}).encode(), "not a CredentialProviderRequest"),
        (json.dumps({**REQUEST, "apiVersion": "v1alpha1"}).encode(), "apiVersion"),
        (json.dumps(REQUEST).encode(), "names no image"),
        (json.dumps({**REQUEST, "image": 5}).encode(), "names no image"),
        (b" " * (kubelet.MAX_REQUEST_BYTES + 1), "larger than"),
    ],
)
def test_malformed_requests_are_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(HelperError, match=problem):
        kubelet.parse_request(raw)


def _fake(expires_at: float | None, registry: str = "127.0.0.1:5000") -> Any:
    def fetch(route: Route, known: str | None) -> Answer:
        assert route.connector_id == "conn" and known is None
        return Answer("v1", False, "alice", SECRET, expires_at, registry)

    return fetch


def test_a_response_has_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubelet, "fetch", _fake(None))
    response = kubelet.respond("127.0.0.1:5000/app:1", "conn", None, 1000.0)
    assert response == {
        "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": "300s",
        "auth": {"127.0.0.1:5000": {"username": "alice", "password": SECRET}},
    }


def test_the_cache_duration_is_shorter_than_the_tokens_life(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kubelet, "fetch", _fake(1000.0 + 12 * 3600))
    response = kubelet.respond("127.0.0.1:5000/app", "conn", None, 1000.0)
    assert response["cacheDuration"] == f"{12 * 3600 - 300}s"
    monkeypatch.setattr(kubelet, "fetch", _fake(1000.0 + 400))
    assert kubelet.respond("127.0.0.1:5000/app", "conn", None, 1000.0)["cacheDuration"] == "300s"


def test_an_image_of_another_registry_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kubelet, "fetch", _fake(None))
    with pytest.raises(HelperError, match=re.escape("serves 127.0.0.1:5000, not ghcr.io")):
        kubelet.respond("ghcr.io/app", "conn", None, 1000.0)


def test_main_fails_in_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(route: Route, known: str | None) -> Answer:
        raise HelperError("ZenML failed: RuntimeError: Error connecting to URL")

    monkeypatch.setattr(kubelet, "fetch", broken)
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps({**REQUEST, "image": "a.b/c"}).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(SystemExit) as exited:
        kubelet.main(["--connector", "conn"])
    assert exited.value.code == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Error connecting" in err
    assert_no_secret(err, SECRET)


def test_main_prints_the_response(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kubelet, "fetch", _fake(None))
    body = json.dumps({**REQUEST, "image": "127.0.0.1:5000/c:1"}).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    kubelet.main(["--connector", "conn"])
    with capsys.disabled():  # the response holds the secret on purpose: not shown, not kept
        out, _ = capsys.readouterr()
    assert json.loads(out)["auth"]["127.0.0.1:5000"]["password"] == SECRET
