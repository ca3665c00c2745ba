"""A private mount namespace whose /etc/hosts sends chosen host names to loopback addresses.

Cloud connectors name their registries themselves (moto's ECR answers
`https://123456789012.dkr.ecr.us-east-1.amazonaws.com`), so to serve such a registry here the
name must resolve to a local one. Only processes started through `command()` see the extra
entries: the machine's /etc/hosts and every other process stay untouched. Entries must be
loopback addresses, and the namespace is only handed out after `getent` inside it resolved
every name to its address, so a failed mount can never send a request to the real host.
Needs root and util-linux (`unshare`, `nsenter`).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.process import die_with_parent, stop_process

# Bind the prepared file over /etc/hosts, say so, then keep the namespace alive.
_HOLDER_SCRIPT = 'mount --bind "$1" /etc/hosts && echo ready && exec sleep infinity'
START_TIMEOUT = 10.0


class NamespaceStartError(RuntimeError):
    """The namespace could not be set up (the message says why)."""


@dataclass
class HostsNamespace:
    """A running namespace; `command(argv)` runs a program inside it."""

    entries: dict[str, str]
    holder: subprocess.Popen[bytes] = field(repr=False)
    nsenter: str

    @property
    def pid(self) -> int:
        return self.holder.pid

    def command(self, argv: Sequence[str] = ()) -> list[str]:
        """`argv` prefixed so that it runs in this namespace (it keeps its pid)."""
        return [self.nsenter, f"--target={self.pid}", "--mount", "--", *argv]

    def resolve(self, name: str) -> str | None:
        """The IPv4 address `name` resolves to inside the namespace, None if it does not."""
        done = subprocess.run(
            self.command(["getent", "ahostsv4", name]),
            capture_output=True,
            text=True,
            timeout=10,
        )
        fields = done.stdout.split()
        return fields[0] if done.returncode == 0 and fields else None

    def stop(self) -> None:
        """End the holder; the namespace (and what was mounted in it) goes with it."""
        stop_process(self.holder)


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise NamespaceStartError(f"{name} not found (apt-get install util-linux)")
    return found


def start_hosts_namespace(directory: Path, entries: Mapping[str, str]) -> HostsNamespace:
    """A namespace where each `name -> loopback address` of `entries` is in /etc/hosts."""
    for name, address in entries.items():
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError(f"{name} must map to a loopback address, not {address}")
    directory.mkdir(parents=True, exist_ok=True)
    hosts = directory / "hosts"
    lines = "".join(f"{address} {name}\n" for name, address in entries.items())
    hosts.write_text(Path("/etc/hosts").read_text() + "\n" + lines)
    unshare = [_binary("unshare"), "--mount", "--propagation", "private", "--"]
    holder = subprocess.Popen(
        [*unshare, "sh", "-c", _HOLDER_SCRIPT, "sh", str(hosts)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    assert holder.stdout is not None
    namespace = HostsNamespace(dict(entries), holder, _binary("nsenter"))
    if holder.stdout.readline().strip() != b"ready":
        namespace.stop()
        error = holder.stderr.read().decode(errors="replace") if holder.stderr else ""
        raise NamespaceStartError(f"could not bind a private /etc/hosts: {error[-1000:]}")
    for name, address in entries.items():
        seen = namespace.resolve(name)
        if seen != address:
            namespace.stop()
            raise NamespaceStartError(f"{name} resolves to {seen} inside, not {address}")
    return namespace
