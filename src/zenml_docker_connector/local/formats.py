"""How docker's `config.json` and podman's `auth.json` differ, written down as data.

Both hold `auths` and `credHelpers`; they differ in
- the key a registry is stored under (docker: `https://index.docker.io/v1/` for Docker Hub,
  else `host[:port]`; podman: `docker.io`, else `host[:port]`, and keys may be namespaced,
  `host/ns/repo`),
- which helper serves a registry (docker: the exact `credHelpers` key, else `credsStore`;
  podman: `credHelpers` only),
- whether a helper login leaves `auths[key] = {}` behind (docker does, podman does not),
- and the words and commands a message should use.
`login` and `discovery` read these descriptions instead of having one code path per tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_docker_connector.errors import LocalConfigError
from zenml_docker_connector.local.helpers import CredentialHelper, helper_timeout
from zenml_docker_connector.references import (
    DOCKER_HUB,
    DOCKER_HUB_CONFIG_KEY,
    RegistryReference,
)


@dataclass(frozen=True)
class ClientFileFormat:
    """One tool's credential file format."""

    tool: str
    """`docker` or `podman`: the program whose `login`/`logout` this file serves."""
    what: str
    """How messages name the file ("docker config file")."""
    hub_key: str
    """The key Docker Hub is stored under."""
    namespaced_keys: bool
    """Keys may name a namespace (`host/ns/repo`), not only a registry."""
    uses_creds_store: bool
    """A `credsStore` helper serves every registry without a `credHelpers` entry."""
    helper_placeholder: bool
    """A login through a helper leaves `auths[key] = {}`, as the docker CLI does."""

    def key_for(self, reference: RegistryReference) -> str:
        return self.hub_key if reference.is_docker_hub else reference.netloc

    def helper_for(self, data: dict[str, Any], key: str, path: Path) -> CredentialHelper | None:
        """The helper this tool uses for `key` in the file content `data` (None: the file)."""
        helpers = data.get("credHelpers")
        if helpers is not None and not isinstance(helpers, dict):
            raise bad_value(self, path, "credHelpers", "an object of registry: helper")
        setting, suffix = f"credHelpers[{key!r}]", (helpers or {}).get(key)
        from_store = key not in (helpers or {}) and self.uses_creds_store
        if from_store:
            setting, suffix = "credsStore", data.get("credsStore")
        if suffix is not None and not isinstance(suffix, str):
            raise bad_value(self, path, setting, "a string")
        if not suffix:
            return None
        return CredentialHelper(
            suffix=suffix,
            origin=f"{setting} in {path}",
            timeout=helper_timeout(),
            is_creds_store=from_store,
        )


DOCKER = ClientFileFormat(
    tool="docker",
    what="docker config file",
    hub_key=DOCKER_HUB_CONFIG_KEY,
    namespaced_keys=False,
    uses_creds_store=True,
    helper_placeholder=True,
)
PODMAN = ClientFileFormat(
    tool="podman",
    what="containers auth file",
    hub_key=DOCKER_HUB,
    namespaced_keys=True,
    uses_creds_store=False,
    helper_placeholder=False,
)


def bad_value(
    file_format: ClientFileFormat, path: Path, name: str, expected: str
) -> LocalConfigError:
    return LocalConfigError(
        f"The {file_format.what} {path} was left unchanged because its '{name}' value is not "
        f"{expected}. Fix that value by hand, then retry."
    )
