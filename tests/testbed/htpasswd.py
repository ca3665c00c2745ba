"""An htpasswd file the running registry re-reads whenever its modification time changes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from testbed.secret_scan import register_secret


class HtpasswdFile:
    """bcrypt entries (the only kind distribution accepts), rewritten atomically on change."""

    def __init__(self, path: Path, htpasswd_binary: str) -> None:
        self.path = path
        self._binary = htpasswd_binary
        self._lines: dict[str, str] = {}
        self._lock = threading.Lock()
        self._last_mtime_ns = 0

    def _hash(self, user: str, password: str) -> str:
        if ":" in user or "\n" in user or "\n" in password:
            raise ValueError("htpasswd users may not contain ':' or newlines")
        # -i reads the password from stdin; cost 4 keeps every authenticated request fast.
        done = subprocess.run(
            [self._binary, "-n", "-i", "-B", "-C", "4", user],
            input=password,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def set(self, user: str, password: str) -> None:
        """Add `user` or change their password."""
        register_secret(password, "registry password", [user])
        line = self._hash(user, password)
        with self._lock:
            self._lines[user] = line
            self._write()

    def remove(self, user: str) -> None:
        """Delete `user`; later requests with their credentials get 401."""
        with self._lock:
            self._lines.pop(user, None)
            self._write()

    def users(self) -> list[str]:
        with self._lock:
            return list(self._lines)

    def _write(self) -> None:
        staging = self.path.with_name(self.path.name + ".new")
        staging.write_text("".join(f"{line}\n" for line in self._lines.values()))
        # The registry reloads only when the mtime differs; two writes inside one kernel clock
        # tick would share it, so force a strictly newer value.
        mtime = max(time.time_ns(), self._last_mtime_ns + 1_000_000)
        os.utime(staging, ns=(mtime, mtime))
        os.replace(staging, self.path)
        self._last_mtime_ns = mtime
