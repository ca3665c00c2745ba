"""Running `docker-credential-*` helpers: the docker credential-helper protocol, bounded in time.

docker-py's `docker.credentials.Store` speaks the same protocol, but we cannot use it here:
it has no timeout (a helper waiting on a locked keychain or a GPG pinentry would hang ZenML
forever), it lets the helper's stderr through to the user's terminal unfiltered and so cannot
report it, and garbage output surfaces as a bare `JSONDecodeError`/`KeyError`. This module runs
the helper in its own process group with a bounded wait, kills the whole group on timeout (a
shell-script helper's children would otherwise keep the pipes open), and turns every failure
into a `LocalConfigError` that names the helper and where it was configured. `get` and
`list` serve discovery; `store` and `erase` serve local login/logout (the secret travels on
the helper's stdin only, never on its command line). Helpers are looked up on PATH as Go's
`exec.LookPath` (so the docker CLI) does it: one found through a relative entry is refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field

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

    `shutil.which` would also run a `docker-credential-*` planted in whatever directory ZenML
    was started from when PATH has an empty or `.` entry. Go (1.19+) refuses a program found
    through a relative entry, and with it the docker CLI; so do we. An unset or empty PATH
    finds nothing, as in Go.
    """
    search = os.environ.get("PATH", "")
    if not search:
        return None
    for entry in search.split(os.pathsep):
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
        """Configured as docker's `credsStore` (for every registry), not a `credHelpers` entry."""
        return self.key is None

    @property
    def program(self) -> str:
        return HELPER_PREFIX + self.suffix

    @property
    def description(self) -> str:
        return f"credential helper {self.program} ({self.origin})"

    def get(self, server_url: str) -> Credentials | None:
        """Credentials stored for `server_url`, or None when the helper has none for it."""
        result = self._run("get", server_url, what=f"credentials for {server_url}")
        if result.returncode != 0:
            if _NOT_FOUND in result.stdout.lower() or _NOT_FOUND in result.stderr.lower():
                return None
            raise self._exit_error(result, f"credentials for {server_url}")
        data = self._parse_json(result.stdout, f"credentials for {server_url}")
        if not isinstance(data, dict):
            raise self._shape_error(f"credentials for {server_url}", "a JSON object")
        username, secret = data.get("Username", ""), data.get("Secret", "")
        if not isinstance(username, str) or not isinstance(secret, str):
            raise self._shape_error(
                f"credentials for {server_url}", "string Username and Secret fields"
            )
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
        result = self._run("list", "", what="its list of registries")
        if result.returncode != 0:
            raise self._exit_error(result, "its list of registries")
        data = self._parse_json(result.stdout, "its list of registries")
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise self._shape_error("its list of registries", "a JSON object of URL: username")
        return {key: value if isinstance(value, str) else "" for key, value in data.items()}

    def store(self, server_url: str, credentials: Credentials) -> None:
        """Store credentials for `server_url` (`store` action, JSON with the secret on stdin)."""
        payload = json.dumps(
            {
                "ServerURL": server_url,
                "Username": credentials.username or "",
                "Secret": credentials.secret or "",
            }
        )
        task = f"store credentials for {server_url}"
        result = self._run("store", payload, what=task, task=task)
        if result.returncode != 0:
            error = self._exit_error(result, task, asked="when asked to")
            raise LocalConfigError(credentials.redact(str(error))) from None

    def erase(self, server_url: str) -> bool:
        """Erase credentials for `server_url`; False when the helper had none for it."""
        task = f"erase credentials for {server_url}"
        result = self._run("erase", server_url, what=task, task=task)
        if result.returncode == 0:
            return True
        if _NOT_FOUND in result.stdout.lower() or _NOT_FOUND in result.stderr.lower():
            return False
        raise self._exit_error(result, task, asked="when asked to")

    def _run(self, action: str, stdin: str, *, what: str, task: str | None = None) -> _Completed:
        """Run the helper; `what` (a noun: get/list) or `task` (a verb phrase) is for messages."""
        cannot = f"so {what} cannot be read" if task is None else f"so it cannot {task}"
        asked = f"asked for {what}" if task is None else f"asked to {task}"
        executable = self._executable(cannot)
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
                f"{asked}; it was stopped. If it waits for a keychain unlock or a passphrase, "
                f"unlock it first or raise {TIMEOUT_ENV_VAR}; otherwise fix or replace the helper."
            ) from None
        return _Completed(
            process.returncode,
            out.decode("utf-8", errors="replace"),
            err.decode("utf-8", errors="replace"),
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

    def _exit_error(
        self, result: _Completed, what: str, *, asked: str = "when asked for"
    ) -> LocalConfigError:
        output = scrub_output(result.stderr) or scrub_output(result.stdout) or "no output"
        return LocalConfigError(
            f"The {self.description} failed with exit status {result.returncode} {asked} "
            f"{what}: {output}. Fix the helper (e.g. unlock its keychain) or fix or "
            "remove that setting."
        )


@dataclass(frozen=True)
class _Completed:
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def scrub_output(text: str) -> str:
    """A helper's diagnostic output made safe for a message: one line, short, secrets masked."""
    text = " ".join(text.split())
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = _TOKEN_LIKE.sub(REDACTED, text)
    text = "".join(ch for ch in text if ch.isprintable())
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
