"""Running `docker-credential-*` helpers: the docker credential-helper protocol, bounded in time.

Not docker-py's `docker.credentials.Store`, which speaks the same protocol: it has no timeout
(a helper waiting on a locked keychain or a pinentry would hang ZenML), passes the helper's
stderr to the terminal unfiltered, surfaces garbage as a bare `JSONDecodeError`/`KeyError`,
finds programs as `shutil.which` does, and importing it imports all of docker-py (which the
pull-secret path avoids). Here the helper runs in its own process group, the whole group is
killed on timeout (a shell script's children would keep the pipes open), every failure is a
`LocalConfigError` naming the helper and where it was configured, and the secret travels on
stdin only. Programs are looked up on PATH as Go's `exec.LookPath` (so the docker CLI) does.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.redaction import REDACTED

HELPER_PREFIX = "docker-credential-"

DEFAULT_HELPER_TIMEOUT = 10.0
TIMEOUT_ENV_VAR = "ZENML_DOCKER_CREDENTIAL_HELPER_TIMEOUT"
"""Seconds to wait for a helper; raise it for helpers that prompt (pass/GPG, hardware keys)."""

_MAX_REPORTED_OUTPUT = 300
_SECRET_FIELD = re.compile(
    r'("?(?:secret|password|auth|identitytoken|token|access_token|refresh_token)"?\s*[:=]\s*)'
    r'("[^"]*"|\S+)',
    re.IGNORECASE,
)
# Long runs of token-ish characters that mix letters and digits (JWTs, base64, hex keys).
_TOKEN_LIKE = re.compile(
    r"(?=[A-Za-z0-9+/=_.-]*[0-9])(?=[A-Za-z0-9+/=_.-]*[A-Za-z])[A-Za-z0-9+/=_.-]{20,}"
)
_NOT_FOUND = "credentials not found"


def helper_timeout(explicit: float | None = None) -> float:
    """The helper timeout: the explicit value, else the environment variable, else the default."""
    if explicit is not None:
        return explicit
    raw = os.environ.get(TIMEOUT_ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_HELPER_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise LocalConfigError(
            f"{TIMEOUT_ENV_VAR}={raw!r} is not a number of seconds; set it to e.g. 30 or unset it."
        ) from None
    if value <= 0:
        raise LocalConfigError(f"{TIMEOUT_ENV_VAR} must be a positive number of seconds.")
    return value


def helper_program(program: str) -> str | None:
    """The first executable `program` on PATH, None if there is none; as Go finds programs.

    `shutil.which` would also run a helper planted in the working directory when PATH has an
    empty or `.` entry; Go (1.19+), and with it the docker CLI, refuses a program found through
    a relative entry, and so do we. An unset or empty PATH finds nothing, as in Go.
    """
    search = os.environ.get("PATH", "")
    for entry in search.split(os.pathsep) if search else []:
        candidate = os.path.join(entry or ".", program)
        if not (os.path.isfile(candidate) and os.access(candidate, os.X_OK)):
            continue
        if not os.path.isabs(candidate):
            raise LocalConfigError(
                f"{program} was found as {os.path.abspath(candidate)} through the PATH entry "
                f"{entry!r}, which is relative to the current directory. Like the docker CLI, "
                "programs found that way are not run (one planted in a working directory would "
                "get your credentials): remove relative entries ('', '.') from PATH, or install "
                "the helper in a directory named by an absolute PATH entry"
            )
        return candidate
    return None


@dataclass(frozen=True)
class CredentialHelper:
    """One configured helper: `suffix` as written in config, `origin` says where (for messages)."""

    suffix: str
    origin: str
    """E.g. "credsStore in /root/.docker/config.json" — never a secret."""
    timeout: float = DEFAULT_HELPER_TIMEOUT
    key: str | None = None
    """The `credHelpers` key it is configured under; None: docker's `credsStore`."""

    @property
    def is_creds_store(self) -> bool:
        return self.key is None

    @property
    def program(self) -> str:
        return HELPER_PREFIX + self.suffix

    @property
    def description(self) -> str:
        return f"credential helper {self.program} ({self.origin})"

    def get(self, server_url: str) -> Credentials | None:
        """Credentials stored for `server_url`, or None when the helper has none for it."""
        what = f"credentials for {server_url}"
        stdout = self._run("get", server_url, f"for {what}", missing_ok=True)
        if stdout is None:
            return None
        data = self._parse_json(stdout, what)
        if not isinstance(data, dict):
            raise self._shape_error(what, "a JSON object")
        username, secret = data.get("Username", ""), data.get("Secret", "")
        if not isinstance(username, str) or not isinstance(secret, str):
            raise self._shape_error(what, "string Username and Secret fields")
        if not username and not secret:
            # docker-credential-pass answers "not found" this way instead of exiting non-zero.
            return None
        if not secret:
            raise LocalConfigError(
                f"The {self.description} returned a username but an empty secret for "
                f"{server_url}. Log in again (docker login {server_url}) or fix the helper's store."
            )
        return Credentials.from_store(username, secret)

    def list(self) -> dict[str, str]:
        """Server URLs the helper holds credentials for, mapped to usernames."""
        what = "its list of registries"
        data = self._parse_json(self._run("list", "", f"for {what}") or "", what)
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise self._shape_error(what, "a JSON object of URL: username")
        return {key: value if isinstance(value, str) else "" for key, value in data.items()}

    def store(self, server_url: str, credentials: Credentials) -> None:
        """Store credentials for `server_url` (`store` action, JSON with the secret on stdin)."""
        payload = {
            "ServerURL": server_url,
            "Username": credentials.username or "",
            "Secret": credentials.secret or "",
        }
        task = f"to store credentials for {server_url}"
        self._run("store", json.dumps(payload), task, scrub=credentials.redact)

    def erase(self, server_url: str) -> bool:
        """Erase credentials for `server_url`; False when the helper had none for it."""
        task = f"to erase credentials for {server_url}"
        return self._run("erase", server_url, task, missing_ok=True) is not None

    def _run(
        self,
        action: str,
        stdin: str,
        task: str,
        *,
        missing_ok: bool = False,
        scrub: Callable[[str], str] = str,
    ) -> str | None:
        """The helper's stdout; None when `missing_ok` and it had no credentials.

        `task` completes "asked …" in messages ("for credentials for X", "to store …");
        `scrub` cleans a failure's message (the secret was on stdin).
        """
        kind, _, rest = task.partition(" ")
        executable = self._executable(
            f"so {rest} cannot be read" if kind == "for" else f"so it cannot {rest}"
        )
        try:
            process = subprocess.Popen(
                [executable, action],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise LocalConfigError(
                f"The {self.description} could not be started ({exc.strerror or exc}). "
                f"Check that {executable} is an executable program, or fix that setting."
            ) from None
        try:
            out, err = process.communicate(stdin.encode(), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise LocalConfigError(
                f"The {self.description} did not answer within {self.timeout:g} s while "
                f"asked {task}; it was stopped. If it waits for a keychain unlock or a passphrase, "
                f"unlock it first or raise {TIMEOUT_ENV_VAR}; otherwise fix or replace the helper."
            ) from None
        stdout, stderr = (text.decode("utf-8", errors="replace") for text in (out, err))
        if process.returncode == 0:
            return stdout
        if missing_ok and _NOT_FOUND in (stdout + "\n" + stderr).lower():
            return None
        output = scrub_output(stderr) or scrub_output(stdout) or "no output"
        raise LocalConfigError(
            scrub(
                f"The {self.description} failed with exit status {process.returncode} when "
                f"asked {task}: {output}. Fix the helper (e.g. unlock its keychain) or fix or "
                "remove that setting."
            )
        )

    def _executable(self, cannot: str) -> str:
        """The helper program's path; the suffix must not be able to name another program."""
        if (
            not self.suffix
            or any(ch in self.suffix for ch in "/\\")
            or not self.suffix.isprintable()
            or self.suffix != self.suffix.strip()
        ):
            raise LocalConfigError(
                f"The credential helper name {self.suffix!r} ({self.origin}) is not a valid "
                f"helper suffix: it must be the part after '{HELPER_PREFIX}', without slashes "
                "or spaces. Fix that setting."
            )
        try:
            executable = helper_program(self.program)
        except LocalConfigError as error:
            raise LocalConfigError(f"The {self.description} was not run: {error}") from None
        if executable is None:
            raise LocalConfigError(
                f"The {self.description} is not installed or not on PATH, {cannot}. "
                f"Install {self.program}, or fix or remove that setting ({self.origin})."
            )
        return executable

    def _parse_json(self, stdout: str, what: str) -> object:
        try:
            return json.loads(stdout)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            # The output is not shown: a broken helper may well have printed the secret.
            raise LocalConfigError(
                f"The {self.description} printed something that is not JSON when asked for "
                f"{what} ({len(stdout)} characters, not shown as they may contain a secret). "
                "Check the helper with "
                f"`echo <registry> | {self.program} get`, or fix or remove that setting."
            ) from None

    def _shape_error(self, what: str, expected: str) -> LocalConfigError:
        return LocalConfigError(
            f"The {self.description} answered with unexpected JSON when asked for {what} "
            f"(expected {expected}). Update or fix the helper, or remove that setting."
        )


def scrub_output(text: str) -> str:
    """A helper's diagnostic output made safe for a message: one line, short, secrets masked."""
    text = " ".join(text.split())
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = "".join(ch for ch in _TOKEN_LIKE.sub(REDACTED, text) if ch.isprintable())
    if len(text) > _MAX_REPORTED_OUTPUT:
        text = text[:_MAX_REPORTED_OUTPUT].rstrip() + "…"
    return text


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # a grandchild escaped the group
        process.communicate(timeout=5)
