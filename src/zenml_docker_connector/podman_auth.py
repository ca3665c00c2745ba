"""Where Podman, Buildah and Skopeo keep registry credentials, and how their keys match.

Locations follow containers-auth.json(5) as implemented by containers/image:
`$REGISTRY_AUTH_FILE` alone when set; otherwise `$XDG_RUNTIME_DIR/containers/auth.json`
(`/run/containers/$UID/auth.json` when `XDG_RUNTIME_DIR` is unset — where `podman login`
writes as root), then `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config`). The
docker config.json fallback those tools also read is covered by the docker sources.
Keys may be namespaced (`host/ns/repo`); the longest namespace containing the requested
repository wins, like containers/image does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .auth_files import AuthConfigData, AuthEntry, parse_auth_config, read_json_file
from .errors import CredentialSourceError
from .references import RegistryReference

KIND = "containers auth file"


def podman_auth_paths() -> list[Path]:
    """The auth.json files containers tools read, in their order of precedence."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return [Path(explicit)]
    paths = []
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        paths.append(Path(runtime_dir) / "containers" / "auth.json")
    elif hasattr(os, "getuid"):
        paths.append(Path(f"/run/containers/{os.getuid()}/auth.json"))
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [*paths, Path(config_home) / "containers" / "auth.json"]


def load_podman_auth(path: Path) -> AuthConfigData | None:
    """The validated contents of one auth.json, or None if it does not exist."""
    data = read_json_file(path, what=KIND)
    if data is None:
        return None
    return parse_auth_config(data, origin=str(path), kind=KIND, namespaced=True)


def match_namespaced(
    entries: Sequence[AuthEntry], reference: RegistryReference, *, origin: str
) -> AuthEntry | None:
    """The entry for `reference`: the longest matching namespace, else the registry-wide one.

    Without a repository in `reference` the registry-wide entry is used; if there is none and
    exactly one namespaced entry, that one; several namespaces are ambiguous (error).
    """
    candidates = [e for e in entries if e.registry.same_registry(reference) and e.has_credentials]
    if reference.repository is not None:
        repository = reference.repository
        matching = [
            e
            for e in candidates
            if e.namespace is None
            or repository == e.namespace
            or repository.startswith(e.namespace + "/")
        ]
        return max(matching, key=lambda e: len(e.namespace or ""), default=None)
    whole = [e for e in candidates if e.namespace is None]
    if whole:
        return whole[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        return None
    names = ", ".join(sorted(e.key for e in candidates))
    raise CredentialSourceError(
        f"The {KIND} {origin} holds credentials for several namespaces of {reference} "
        f"({names}) and none for the whole registry. Name the one you want, e.g. "
        f"registry={candidates[0].key}, or log in to the whole registry with "
        f"`podman login {reference}`."
    )
