"""Regenerate the command-output blocks of docs/docker-service-connector.md from a real run.

A block on the page is an HTML comment naming the commands, followed by the fenced block this
script writes:

    <!-- output: zenml service-connector verify my-registry -->
    ```console
    $ zenml service-connector verify my-registry
    ...what it printed...
    ```

Several commands may share a block (`A && B`). `<!-- setup: NAME -->` runs a named step that
prints nothing (see `SETUPS`). The script starts a throwaway htpasswd registry with the test
bed (`tests/testbed`), points ZenML, docker and podman at a temporary home, and runs the
commands in page order through ZenML's and zenml-docker's click groups in this process (the
`zenml` executable costs ~5 s per start). What changes from run to run is normalised: the
registry's port, UUIDs (and the pull-secret name derived from one), times, the temporary
home, the Python version; the pull secret's base64 data is shown decoded with its secrets
masked. No output may hold a form of either password: the script stops before writing one.

`--check` writes nothing and exits 1 with a diff when the page differs from a fresh run;
tests/integration/test_docs.py runs it, so the README test command fails when they differ.
Run it with the test venv's Python (`.venv-test/bin/python docs/generate.py [--check]`): it
needs the test bed's dependencies and the Debian `docker-registry` and `apache2-utils`.

Commands on the page use placeholders: `$PASSWORD` and `$WRONG_PASSWORD` (taken from
ZDC_DOCS_PASSWORD / ZDC_DOCS_WRONG_PASSWORD when set, so the test's secret scan knows them;
random otherwise) and `127.0.0.1:55000` for the registry's real address.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "docker-service-connector.md"
sys.path.insert(0, str(ROOT / "tests"))

from testbed.factory import Testbed  # noqa: E402  (needs tests/ on sys.path)
from testbed.leaks import secret_forms  # noqa: E402
from testbed.registry import Registry  # noqa: E402

USERNAME = "ci-bot"
"""The registry user; the page's commands name it (tests/integration/test_docs.py too)."""
SHOWN_HOST = "127.0.0.1:55000"
"""Stands for the registry's address; five digits like every ephemeral port, so tables keep
their widths when the real one is replaced."""
SHOWN_HOME = "/home/user"
SHOWN_TIME = "2026-01-01 12:00:00.000000"
SHOWN_PYTHON = "Python 3.x"
MARKER = re.compile(
    r"^<!-- (?P<kind>output|setup): (?P<text>[^\n]+?) -->\n(?:```console\n.*?^```\n)?",
    re.MULTILINE | re.DOTALL,
)
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
DURATION = re.compile(r"\b\d+\.\d{3} s\b")
PYTHON = re.compile(r"\bPython \d+\.\d+\.\d+\S*")
DOCKERCONFIGJSON = re.compile(r"(\.dockerconfigjson: )(\S+)")
BASE64_WORD = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


@dataclass
class Session:
    """One run: the registry, the passwords, the temporary home and the UUIDs seen so far."""

    registry: Registry
    password: str
    wrong_password: str
    home: Path
    uuids: dict[str, str] = field(default_factory=dict)

    def expand(self, command: str) -> list[str]:
        """The command's words with the placeholders replaced by the real values."""
        words = []
        for word in shlex.split(command):
            word = word.replace("$WRONG_PASSWORD", self.wrong_password)
            word = word.replace("$PASSWORD", self.password)
            words.append(word.replace(SHOWN_HOST, self.registry.host))
        return words

    def secrets(self) -> list[str]:
        return [self.password, self.wrong_password]


def _sandbox(root: Path) -> Path:
    """Every ZenML, docker and podman location inside `root`, no Docker daemon reachable, a
    wide plain terminal; set before ZenML is imported (it reads them at import). The home."""
    home = root / "home"
    for directory in (home, root / "run", root / "xdg-config"):
        directory.mkdir(parents=True)
    os.environ.update(
        HOME=str(home),
        XDG_RUNTIME_DIR=str(root / "run"),
        XDG_CONFIG_HOME=str(root / "xdg-config"),
        ZENML_CONFIG_PATH=str(root / "zenml"),
        DOCKER_HOST=f"unix://{root}/no-docker.sock",
        ZENML_ANALYTICS_OPT_IN="false",
        ZENML_ENABLE_RICH_TRACEBACK="false",
        ZENML_LOGGING_COLORS_DISABLED="true",
        ZENML_LOGGING_VERBOSITY="WARN",
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
    )
    for name in (
        "DOCKER_CONFIG",
        "DOCKER_AUTH_CONFIG",
        "DOCKER_CONTEXT",
        "DOCKER_TLS_VERIFY",
        "DOCKER_CERT_PATH",
        "REGISTRY_AUTH_FILE",
        "ZENML_STORE_URL",
        "ZENML_SERVER",
        "ZENML_DOCKER_CONNECTOR_DISABLE",
    ):
        os.environ.pop(name, None)
    return home


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise SystemExit(f"{name} is not installed (scripts/test.sh installs it)")
    return found


@contextmanager
def session() -> Iterator[Session]:
    """A sandbox, a started htpasswd registry and an initialised ZenML store; all removed after."""
    root = Path(tempfile.mkdtemp(prefix="zdc-docs-"))
    bed: Testbed | None = None
    try:
        home = _sandbox(root)
        password = os.environ.get("ZDC_DOCS_PASSWORD") or f"Docs-{secrets.token_hex(10)}"
        wrong = os.environ.get("ZDC_DOCS_WRONG_PASSWORD") or f"Old-{secrets.token_hex(10)}"
        bed = Testbed(
            root=root / "bed",
            registry_binary=_binary("docker-registry"),
            htpasswd_binary=_binary("htpasswd"),
        )
        registry = bed.registry("htpasswd", username=USERNAME, password=password)
        if len(registry.host) != len(SHOWN_HOST):
            raise SystemExit(f"registry port {registry.port} is not five digits long")
        from zenml.client import Client

        Client().zen_store.get_store_info()  # prints "Initializing..." lines: in no block
        yield Session(registry, password, wrong, home)
    finally:
        if bed is not None:
            bed.stop()
        shutil.rmtree(root, ignore_errors=True)


def _docker_login(run: Session) -> None:
    """What `docker login REGISTRY` leaves in ~/.docker/config.json without a credential helper."""
    auth = base64.b64encode(f"{USERNAME}:{run.password}".encode()).decode()
    config = run.home / ".docker" / "config.json"
    config.parent.mkdir(mode=0o700, exist_ok=True)
    config.write_text(json.dumps({"auths": {run.registry.host: {"auth": auth}}}, indent="\t"))
    config.chmod(0o600)


SETUPS: dict[str, Callable[[Session], None]] = {"docker-login": _docker_login}


def _groups() -> dict[str, Any]:
    from zenml.cli.cli import cli

    from zenml_docker_connector.cli import main

    return {"zenml": cli, "zenml-docker": main}


def invoke(run: Session, command: str) -> str:
    """Run one command in this process; its output, with the exit status when not 0."""
    from click.testing import CliRunner

    program, *arguments = run.expand(command)
    group = _groups().get(program)
    if group is None:
        raise SystemExit(f"the page runs `{program}`: only zenml and zenml-docker are known")
    result = CliRunner().invoke(group, arguments, catch_exceptions=True)
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        # A crash is a bug to fix, not an output to show: stop with its traceback.
        traceback.print_exception(type(error), error, error.__traceback__)
        raise SystemExit(f"`{' '.join(shlex.split(command)[:3])}` crashed: {type(error).__name__}")
    status = f"[exit status {result.exit_code}]\n" if result.exit_code else ""
    return result.output + status


def _shown_uuid(run: Session, real: str) -> str:
    """The same stand-in for the same UUID throughout a run, numbered in order of appearance."""
    if real not in run.uuids:
        run.uuids[real] = f"00000000-0000-4000-8000-{len(run.uuids) + 1:012d}"
    return run.uuids[real]


def _name_hash(connector_id: str) -> str:
    """The 8 hex digits a pull secret's default name takes from its connector's id."""
    return hashlib.sha256(connector_id.encode()).hexdigest()[:8]


def _masked_dockerconfigjson(run: Session, match: re.Match[str]) -> str:
    """The Secret's data decoded and checked, every password and auth value masked."""
    config = json.loads(base64.b64decode(match.group(2)))
    expected = base64.b64encode(f"{USERNAME}:{run.password}".encode()).decode()
    for entry in config["auths"].values():
        if entry.get("password") != run.password or entry.get("auth") != expected:
            raise SystemExit("the pull secret does not hold the connector's credentials")
        entry["password"] = entry["auth"] = "***"
    return f"{match.group(1)}<base64 of {json.dumps(config)}>"


def normalise(run: Session, text: str) -> str:
    """Replace what changes from run to run; strip the trailing blanks of rich's tables."""
    text = DOCKERCONFIGJSON.sub(lambda match: _masked_dockerconfigjson(run, match), text)
    text = text.replace(run.registry.host, SHOWN_HOST)
    text = text.replace(str(run.home), SHOWN_HOME)
    for real in UUID.findall(text):
        shown = _shown_uuid(run, real)
        text = text.replace(real, shown).replace(_name_hash(real), _name_hash(shown))
    text = TIMESTAMP.sub(lambda m: SHOWN_TIME[: len(m.group(0))], text)
    text = DURATION.sub("N.NNN s", text)
    text = PYTHON.sub(SHOWN_PYTHON, text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _block(run: Session, commands: str) -> str:
    parts = []
    for command in commands.split(" && "):
        parts.append(f"$ {command}")
        output = normalise(run, invoke(run, command))
        if output:
            parts.append(output)
    return "```console\n" + "\n".join(parts) + "\n```\n"


def _views(block: str) -> list[str]:
    """The block and every base64 word in it decoded: a secret inside encoded JSON (a pull
    secret's data) shows in no form `secret_forms` knows."""
    views = [block]
    for word in BASE64_WORD.findall(block):
        try:
            views.append(base64.b64decode(word + "=" * (-len(word) % 4)).decode("utf-8"))
        except ValueError:  # binascii.Error and UnicodeDecodeError both are ValueErrors
            continue
    return views


def _refuse_secrets(run: Session, block: str, commands: str) -> None:
    """Stop before a block holding any form of a password is written or shown in a diff."""
    views = _views(block)
    for secret in run.secrets():
        for form in secret_forms(secret, [USERNAME]):
            if any(form in view for view in views):
                raise SystemExit(f"the output of `{commands[:60]}` holds a password: not written")


def regenerate(page: str) -> str:
    """The page with every marked block replaced by a fresh run's output."""
    with session() as run:

        def replace(match: re.Match[str]) -> str:
            kind, text = match.group("kind"), match.group("text")
            marker = f"<!-- {kind}: {text} -->\n"
            if kind == "setup":
                SETUPS[text](run)
                return marker
            block = _block(run, text)
            _refuse_secrets(run, block, text)
            return marker + block

        return MARKER.sub(replace, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff on a difference"
    )
    options = parser.parse_args(argv)
    current = PAGE.read_text()
    fresh = regenerate(current)
    if fresh == current:
        print(f"{PAGE.relative_to(ROOT)}: every output block matches a fresh run")
        return 0
    if options.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            f"{PAGE.name} (on disk)",
            f"{PAGE.name} (fresh run)",
        )
        sys.stdout.writelines(diff)
        print(f"\n{PAGE.relative_to(ROOT)} differs from a fresh run: run docs/generate.py")
        return 1
    PAGE.write_text(fresh)
    print(f"{PAGE.relative_to(ROOT)}: output blocks rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
