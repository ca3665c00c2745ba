"""The protocol as docker speaks it, with ZenML replaced by a counting fake (`command.fetch`)."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from testbed.leaks import assert_no_secret
from testbed.secret_scan import register_secret
from zenml_docker_connector.helper import cache, command
from zenml_docker_connector.helper.fetch import Answer
from zenml_docker_connector.helper.mapping import Route

from .conftest import REGISTRY

SECRET = register_secret("helper-unit-S3cret-9f8e7d", "credential helper unit secret", ["alice"])


class FakeZenML:
    def __init__(self, expires_at: float | None = None, updated: str = "v1") -> None:
        self.calls: list[str | None] = []
        self.expires_at = expires_at
        self.updated = updated
        self.error: str | None = None

    def __call__(self, route: Route, known_updated: str | None) -> Answer:
        self.calls.append(known_updated)
        if self.error:
            raise command.HelperError(self.error)
        if known_updated == self.updated:
            return Answer(self.updated, True)
        return Answer(self.updated, False, "alice", SECRET, self.expires_at)


@pytest.fixture
def zenml(monkeypatch: pytest.MonkeyPatch) -> FakeZenML:
    fake = FakeZenML()
    monkeypatch.setattr(command, "fetch", fake)
    return fake


def helper(action: str, stdin: bytes = b"") -> tuple[int, str]:
    out = io.StringIO()
    status = command.run([action], io.BytesIO(stdin), out)
    return status, out.getvalue()


def test_get_answers_with_the_connectors_credentials(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path
) -> None:
    status, out = helper("get", REGISTRY.encode())
    assert status == 0
    assert json.loads(out) == {"ServerURL": REGISTRY, "Username": "alice", "Secret": SECRET}
    assert helper("get", f"http://{REGISTRY}/v2/\n".encode())[0] == 0
    assert zenml.calls == [None], "the second get is served from the cache"
    entries = list((runtime_dir / cache.CACHE_DIR_NAME).glob("*.json"))
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o777 == 0o600


def test_unknown_registry_gets_dockers_not_found(zenml: FakeZenML, mapping_file: Path) -> None:
    assert helper("get", b"other.example:5000") == (1, "credentials not found in native keychain\n")
    assert zenml.calls == []


@pytest.mark.parametrize(
    ("action", "stdin", "expected"),
    [
        ("get", b"", "no credentials server URL"),
        ("get", b"x" * (command.MAX_INPUT_BYTES + 1), "larger than"),
        ("get", b"\xff\xfe", "not UTF-8"),
        ("get", b"bad host", "does not name a registry"),
        ("store", b"", "not the JSON docker sends"),
        ("store", b"[1]", "not the JSON docker sends"),
        (
            "store",
            b'{"ServerURL": "", "Username": "u", "Secret": "s"}',
            "no credentials server URL",
        ),
        (
            "store",
            f'{{"ServerURL": "{REGISTRY}", "Secret": "s"}}'.encode(),
            "no credentials username",
        ),
        ("erase", b"", "no credentials server URL"),
        ("nonsense", b"", "Usage: docker-credential-zenml"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    zenml: FakeZenML, mapping_file: Path, action: str, stdin: bytes, expected: str
) -> None:
    status, out = helper(action, stdin)
    assert status == 1
    assert expected in out and out.count("\n") == 1


def test_store_accepts_and_writes_nothing(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    before = sorted(p for p in tmp_path.rglob("*"))
    payload = json.dumps({"ServerURL": REGISTRY, "Username": "bob", "Secret": SECRET}).encode()
    assert helper("store", payload) == (0, "")
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert list(runtime_dir.rglob("*")) == []
    unserved = json.dumps({"ServerURL": "x.example", "Username": "b", "Secret": SECRET}).encode()
    status, out = helper("store", unserved)
    assert status == 1 and "stores nothing" in out
    assert_no_secret(out, SECRET, usernames=["b"])


def test_erase_drops_the_cached_credential(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path
) -> None:
    helper("get", REGISTRY.encode())
    assert helper("erase", REGISTRY.encode()) == (0, "")
    assert list((runtime_dir / cache.CACHE_DIR_NAME).glob("*.json")) == []
    helper("get", REGISTRY.encode())
    assert zenml.calls == [None, None]


def test_list_and_version(mapping_file: Path) -> None:
    assert helper("list") == (0, json.dumps({REGISTRY: "alice"}) + "\n")
    status, out = helper("version")
    assert status == 0 and out.startswith("docker-credential-zenml (zenml-docker-connector) ")


def test_unchanged_connector_rearms_and_a_changed_one_refetches(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.RECHECK_ENV, "0")
    helper("get", REGISTRY.encode())
    helper("get", REGISTRY.encode())
    assert zenml.calls == [None, "v1"], "asked whether v1 is current, no new credential"
    zenml.updated = "v2"
    helper("get", REGISTRY.encode())
    assert zenml.calls[-1] == "v1"
    helper("get", REGISTRY.encode())
    assert zenml.calls[-1] == "v2", "the entry now holds the v2 credential"


def test_expiry_less_margin_bounds_the_cache(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path
) -> None:
    zenml.expires_at = time.time() + 2.0  # margin: a quarter of the life left
    helper("get", REGISTRY.encode())
    helper("get", REGISTRY.encode())
    assert len(zenml.calls) == 1
    time.sleep(1.6)
    helper("get", REGISTRY.encode())
    assert zenml.calls == [None, None], "expired less margin: a new credential, not a re-arm"
    assert cache.serve_until(None, 0) == float("inf")
    assert cache.serve_until(100_000.0, 0) == 100_000.0 - cache.MAX_MARGIN


def test_deleted_connector_fails_and_is_not_served_again(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.RECHECK_ENV, "0")
    helper("get", REGISTRY.encode())
    zenml.error = "no ZenML service connector 'x' is registered (deleted?)"
    status, out = helper("get", REGISTRY.encode())
    assert status == 1 and "deleted?" in out
    assert list((runtime_dir / cache.CACHE_DIR_NAME).glob("*.json")) == []
    assert_no_secret(out, SECRET, usernames=["alice"])


def test_without_a_runtime_directory_there_is_no_cache(
    zenml: FakeZenML, mapping_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    helper("get", REGISTRY.encode())
    helper("get", REGISTRY.encode())
    assert zenml.calls == [None, None]


def test_a_runtime_directory_on_disk_gets_no_cache(
    zenml: FakeZenML, mapping_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    disk = tmp_path / "run"
    disk.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(disk))
    if cache.on_memory_filesystem(str(disk)):
        pytest.skip("tmp_path is on tmpfs here")
    helper("get", REGISTRY.encode())
    assert not (disk / cache.CACHE_DIR_NAME).exists()


@pytest.mark.parametrize("problem", ["world-writable", "foreign", "symlink", "corrupt", "shape"])
def test_an_untrusted_mapping_is_refused(
    zenml: FakeZenML, mapping_file: Path, problem: str, tmp_path: Path
) -> None:
    if problem == "world-writable":
        mapping_file.chmod(0o666)
    elif problem == "foreign":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(mapping_file, 65534, 65534)
    elif problem == "symlink":
        target = tmp_path / "elsewhere.json"
        mapping_file.rename(target)
        mapping_file.symlink_to(target)
    elif problem == "corrupt":
        mapping_file.write_text("{not json")
    else:
        mapping_file.write_text(json.dumps({"registries": {REGISTRY: {"connector": "../x"}}}))
    status, out = helper("get", REGISTRY.encode())
    assert status == 1 and "refused" in out and out.count("\n") == 1
    assert zenml.calls == []


@pytest.mark.parametrize("problem", ["world-writable", "foreign", "directory"])
def test_an_untrusted_cache_is_refused(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path, problem: str
) -> None:
    helper("get", REGISTRY.encode())
    directory = runtime_dir / cache.CACHE_DIR_NAME
    (entry,) = directory.glob("*.json")
    if problem == "world-writable":
        entry.chmod(0o666)
    elif problem == "foreign":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(entry, 65534, 65534)
    else:
        directory.chmod(0o777)
    status, out = helper("get", REGISTRY.encode())
    assert status == 1 and "refused" in out
    assert_no_secret(out, SECRET, usernames=["alice"])


def test_a_corrupt_cache_entry_is_replaced(
    zenml: FakeZenML, mapping_file: Path, runtime_dir: Path
) -> None:
    helper("get", REGISTRY.encode())
    (entry,) = (runtime_dir / cache.CACHE_DIR_NAME).glob("*.json")
    entry.write_text('{"username": 1}')
    status, out = helper("get", REGISTRY.encode())
    assert status == 0 and json.loads(out)["Secret"] == SECRET
    assert len(zenml.calls) == 2


def test_an_unexpected_error_is_one_line_without_traceback(
    mapping_file: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(route: Route, known: str | None) -> Answer:
        raise RuntimeError(f"boom {SECRET}")

    monkeypatch.setattr(command, "fetch", broken)
    assert helper("get", REGISTRY.encode()) == (
        1,
        "docker-credential-zenml: internal error (RuntimeError)\n",
    )
