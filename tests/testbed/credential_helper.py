"""A `docker-credential-<name>` program speaking the real helper protocol, backed by a JSON file.

Its behaviour is steered by a mode file next to the store (not env vars, which callers such
as the docker CLI or a daemon may not pass through), so a test can make it fail, print garbage
or hang.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from testbed.secret_scan import register_secret

Mode = Literal["fail", "garbage", "hang", "scripted"]
NOT_FOUND = "credentials not found in native keychain"

_SCRIPT = '''\
#!{python} -IS
"""docker credential helper test double (zenml-docker-connector testbed)."""
import json, pathlib, sys, time

STORE = pathlib.Path({store!r})
MODE = pathlib.Path({mode!r})
CALLS = pathlib.Path({calls!r})


def load():
    return json.loads(STORE.read_text()) if STORE.exists() else {{}}


def save(entries):
    staging = STORE.with_suffix(".tmp")
    staging.write_text(json.dumps(entries, indent=1, sort_keys=True))
    staging.replace(STORE)


def scripted(mode, data):
    """Answer with exactly the bytes, exit status, delay or misbehaviour the test asked for."""
    if mode.get("orphan"):
        import subprocess
        subprocess.Popen(["sleep", "30"])  # a grandchild keeping stdout open
    time.sleep(mode.get("seconds", 0))
    sys.stdout.buffer.write(mode.get("stdout", "").encode("utf-8", "surrogateescape"))
    sys.stderr.buffer.write(mode.get("stderr", "").encode("utf-8", "surrogateescape"))
    if mode.get("echo_stdin"):
        sys.stderr.write(data)
    sys.stdout.flush()
    sys.stderr.flush()
    if mode.get("signal"):
        import os, signal
        os.kill(os.getpid(), signal.SIGKILL)
    return int(mode.get("exit_code", 0))


def main():
    action = sys.argv[1] if len(sys.argv) > 1 else ""
    data = sys.stdin.read() if action in ("store", "get", "erase") else ""
    server = data.strip()
    if action == "store":
        try:
            server = json.loads(data).get("ServerURL", "")
        except ValueError:
            server = "?"
    with CALLS.open("a") as calls:
        calls.write(json.dumps([action, server]) + "\\n")
    mode = json.loads(MODE.read_text()) if MODE.exists() else {{}}
    if mode and (not mode.get("actions") or action in mode["actions"]):
        if mode["mode"] == "scripted":
            return scripted(mode, data)
        if mode["mode"] == "hang":
            time.sleep(mode.get("seconds", 60))
        elif mode["mode"] == "garbage":
            print("}}this is not json{{")
            return 0
        else:
            print(mode.get("message", "testbed helper failure"))
            return int(mode.get("exit_code", 1))
    entries = load()
    if action == "store":
        item = json.loads(data)
        entries[item["ServerURL"]] = {{"Username": item["Username"], "Secret": item["Secret"]}}
        save(entries)
    elif action == "get":
        if server not in entries:
            print({not_found!r})
            return 1
        print(json.dumps({{"ServerURL": server, **entries[server]}}))
    elif action == "erase":
        entries.pop(server, None)
        save(entries)
    elif action == "list":
        print(json.dumps({{url: item["Username"] for url, item in entries.items()}}))
    else:
        print("unknown action " + repr(action))
        return 1
    return 0


sys.exit(main())
'''


@dataclass
class CredentialHelper:
    """The helper installed as `bin_dir/docker-credential-{name}`; use `name` in credsStore."""

    name: str
    bin_dir: Path
    state_dir: Path

    @property
    def executable(self) -> Path:
        return self.bin_dir / f"docker-credential-{self.name}"

    @property
    def store_path(self) -> Path:
        return self.state_dir / "store.json"

    @property
    def mode_path(self) -> Path:
        return self.state_dir / "mode.json"

    @property
    def calls_path(self) -> Path:
        return self.state_dir / "calls.jsonl"

    def install(self) -> CredentialHelper:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.executable.write_text(
            _SCRIPT.format(
                python=sys.executable,
                store=str(self.store_path),
                mode=str(self.mode_path),
                calls=str(self.calls_path),
                not_found=NOT_FOUND,
            )
        )
        self.executable.chmod(0o755)
        return self

    def entries(self) -> dict[str, dict[str, str]]:
        """{server URL: {"Username", "Secret"}} as stored."""
        if not self.store_path.exists():
            return {}
        loaded: dict[str, dict[str, str]] = json.loads(self.store_path.read_text())
        return loaded

    def set_entry(self, server_url: str, username: str, secret: str) -> None:
        """Pre-seed the store as if `store` had been called."""
        register_secret(secret, "credential helper secret", [username])
        entries = self.entries()
        entries[server_url] = {"Username": username, "Secret": secret}
        self.store_path.write_text(json.dumps(entries, indent=1, sort_keys=True))

    def calls(self) -> list[tuple[str, str]]:
        """(action, server URL) per invocation, in order (secrets are not recorded)."""
        if not self.calls_path.exists():
            return []
        lines = self.calls_path.read_text().splitlines()
        return [(action, server) for action, server in map(json.loads, lines)]

    def break_with(
        self,
        mode: Mode,
        *,
        message: str = "testbed helper failure",
        exit_code: int = 1,
        seconds: float = 60,
        actions: tuple[str, ...] = (),
    ) -> None:
        """Misbehave from now on, for `actions` only if given (e.g. ("get",))."""
        self.mode_path.write_text(
            json.dumps(
                {
                    "mode": mode,
                    "message": message,
                    "exit_code": exit_code,
                    "seconds": seconds,
                    "actions": list(actions),
                }
            )
        )

    def script(
        self,
        *,
        stdout: str = "",
        stderr: str = "",
        exit_code: int = 0,
        seconds: float = 0,
        echo_stdin: bool = False,
        orphan: bool = False,
        signal: bool = False,
        actions: tuple[str, ...] = (),
    ) -> None:
        """Answer with exactly this (for `actions` only if given), whatever is stored."""
        self.mode_path.write_text(
            json.dumps(
                {
                    "mode": "scripted",
                    "stdout": stdout,
                    "stderr": stderr,
                    "exit_code": exit_code,
                    "seconds": seconds,
                    "echo_stdin": echo_stdin,
                    "orphan": orphan,
                    "signal": signal,
                    "actions": list(actions),
                }
            )
        )

    def repair(self) -> None:
        self.mode_path.unlink(missing_ok=True)
