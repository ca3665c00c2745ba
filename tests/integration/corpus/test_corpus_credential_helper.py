"""Corpus runner: docker-credential-zenml given bad input (credential_helper_input.yaml)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from testbed import corpus
from testbed.corpus import Case, CorpusRun
from testbed.helper_env import runtime_dir
from testbed.secret_scan import observe
from zenml_docker_connector.helper import cache, command, mapping
from zenml_docker_connector.helper.fetch import Answer
from zenml_docker_connector.helper.mapping import Route

__all__ = ["runtime_dir"]

CASES = corpus.load("credential_helper_input", default_paths=("run", "script"))
REGISTRY = "127.0.0.1:5000"
CONNECTOR_ID = "5d1c2b3a-aaaa-4bbb-8ccc-ddddeeeeffff"
HELPER = str(Path(sys.executable).parent / "docker-credential-zenml")
NOBODY = 65534


def _never(route: Route, known: str | None) -> Answer:
    raise AssertionError("a bad input must not reach ZenML")


def _mapping(path: Path, kind: str | None) -> None:
    """The served registry's mapping, then made bad the way the case says."""
    route = Route(REGISTRY, CONNECTOR_ID, "corpus", None, "alice")
    good = json.dumps({"version": 1, "registries": {REGISTRY: route.as_json()}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(good)
    path.chmod(0o600)
    if kind is None:
        return
    if kind == "world-writable":
        path.chmod(0o666)
    elif kind == "group-writable":
        path.chmod(0o620)
    elif kind == "foreign":
        _chown_nobody(path)
    elif kind == "symlink":
        path.rename(path.with_name("target.json"))
        path.symlink_to(path.with_name("target.json"))
    elif kind in ("fifo", "directory"):
        path.unlink()
        os.mkfifo(path) if kind == "fifo" else path.mkdir()
    else:
        path.write_bytes(kind.encode("utf-8", "surrogateescape"))


def _cache(kind: str, secret: str) -> None:
    assert cache.remember(REGISTRY, CONNECTOR_ID, "alice", secret, "v1", None)
    store = cache.open_store(create=False)
    assert store is not None
    entry = Path(store.entry_path(REGISTRY, CONNECTOR_ID))
    if kind == "world-writable":
        entry.chmod(0o666)
    elif kind == "foreign":
        _chown_nobody(entry)
    elif kind == "shared-directory":
        entry.parent.chmod(0o777)
    else:
        entry.rename(entry.with_name("elsewhere"))
        entry.symlink_to(entry.with_name("elsewhere"))


def _chown_nobody(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    os.chown(path, NOBODY, NOBODY)


def _helper(path: str, args: list[str], stdin: bytes) -> tuple[int, str, str]:
    if path == "run":
        out = io.StringIO()
        return command.run(args, io.BytesIO(stdin), out), out.getvalue(), ""
    done = subprocess.run([HELPER, *args], input=stdin, capture_output=True, timeout=60)
    text = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    observe(text[0] + text[1], f"docker-credential-zenml {' '.join(args)}")
    return done.returncode, *text


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("case", "path"), corpus.params(CASES))
def test_credential_helper_input(
    case: Case,
    path: str,
    run: CorpusRun,
    runtime_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = case.fields
    mapping_file = tmp_path / "zenml-config" / "mapping.json"
    monkeypatch.setenv(mapping.MAPPING_ENV, str(mapping_file))
    monkeypatch.setattr(command, "fetch", _never)
    _mapping(mapping_file, corpus.with_secret(fields.get("mapping"), run.secret))
    if "cache" in fields:
        _cache(fields["cache"], run.secret)
    default = REGISTRY if "mapping" in fields else ""  # a mapping is read for a registry
    stdin = corpus.with_secret(fields.get("stdin", default), run.secret)
    with run.attempt():
        status, out, err = _helper(
            path, list(fields.get("args", ["get"])), stdin.encode("utf-8", "surrogateescape")
        )
        assert (status, err) == (1, ""), f"{case.id}: exit {status}, stderr {err[:300]!r}"
        assert out.endswith("\n") and out.count("\n") == 1, f"{case.id}: {out[:300]!r}"
        corpus.check_message(out, case, (run.secret,))
