"""ZenML glue: the `docker` service connector, delegating every real job to its own module.

It subclasses ZenML's built-in class (container registries test `isinstance` against it, the
cloud connectors build it); `_TYPE` is redeclared so that `get_type()` returns our spec
(`patches.ZENML_TYPE_CACHE`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, ClassVar

import click
from pydantic import field_validator
from zenml.exceptions import AuthorizationException
from zenml.models import ServiceConnectorTypeModel
from zenml.service_connectors.docker_service_connector import (
    DockerConfiguration,
)
from zenml.service_connectors.docker_service_connector import (
    DockerServiceConnector as BuiltinDockerServiceConnector,
)

from zenml_docker_connector.credentials import Credentials
from zenml_docker_connector.errors import DockerConnectorError, RegistryOutOfReachError
from zenml_docker_connector.glue import spec
from zenml_docker_connector.glue.resource_listing import model_with_secrets, prechecked
from zenml_docker_connector.glue.zenml_settings import (
    configured_container_engine,
    inside_zenml_server,
)
from zenml_docker_connector.local.daemon import authenticated_docker_client
from zenml_docker_connector.local.discovery import find_local_credentials
from zenml_docker_connector.local.login import login_local_clients
from zenml_docker_connector.references import (
    DOCKER_HUB,
    RegistryReference,
    parse_registry_reference,
)
from zenml_docker_connector.registry.policy import private_networks_allowed
from zenml_docker_connector.registry.transport import ConnectionSettings
from zenml_docker_connector.registry.verification import verify_registry_access

_explicit_check: ContextVar[bool] = ContextVar("zenml_docker_explicit_check", default=False)
"""True while ZenML's public `verify()` runs: register and verify must ask the registry."""
_afresh_once: ContextVar[list[bool] | None] = ContextVar("zenml_docker_afresh_once", default=None)


@contextmanager
def first_check_afresh() -> Iterator[list[bool]]:
    """Within: the first `_verify` asks the registry, later ones reuse its fresh verdict (the
    yielded list holds True once it passed). Pull secrets get ZenML's client in here: ZenML's
    own `_verify` is then their one verification, and never a cached one."""
    done: list[bool] = []
    token = _afresh_once.set(done)
    try:
        yield done
    finally:
        _afresh_once.reset(token)


logger = logging.getLogger(__name__)


class DockerServiceConnector(BuiltinDockerServiceConnector):
    """Docker/OCI registry connector that verifies, connects and logs in for real."""

    config: spec.DockerConnectorConfiguration
    _TYPE: ClassVar[ServiceConnectorTypeModel | None] = None
    checks_ahead_in_listing: ClassVar[bool] = True
    """`resource_listing` may verify us side by side with others before ZenML's loop."""

    @classmethod
    def _get_connector_type(cls) -> ServiceConnectorTypeModel:
        return spec.build_connector_type()

    # --- how ZenML builds us ----------------------------------------------------------

    @field_validator("config", mode="before")
    @classmethod
    def _accept_builtin_configuration(cls, value: Any) -> Any:
        """The AWS/GCP/Azure connectors build their `docker-registry` clients (ECR, Artifact
        Registry, ACR) with ZenML's own `DockerConfiguration`, which lacks our `insecure`."""
        if isinstance(value, DockerConfiguration) and not isinstance(
            value, spec.DockerConnectorConfiguration
        ):
            fields = DockerConfiguration.model_fields
            return spec.DockerConnectorConfiguration(**{n: getattr(value, n) for n in fields})
        return value

    @classmethod
    def from_model(cls, model: Any) -> Any:
        """Listing resources hands us models without secrets: fetch them once more there
        (`resource_listing`). If that fails too, the first, secret-free error is raised."""
        try:
            return super().from_model(model)
        except ValueError as error:
            first = error
        with suppress(Exception):  # the first error says what is wrong, and holds no secret
            loaded = model_with_secrets(model)
            if loaded is not None:
                return super().from_model(loaded)
        raise first

    # --- what the connector points at -------------------------------------------------

    def registry_reference(self) -> RegistryReference:
        """The registry from the `registry` field, Docker Hub when it is empty."""
        return parse_registry_reference(self.config.registry or DOCKER_HUB)

    def credentials(self) -> Credentials:
        """The configured username and password (`<token>` marks an identity token)."""
        return Credentials.from_store(
            self.config.username.get_secret_value(),
            self.config.password.get_secret_value(),
        )

    def connection_settings(self) -> ConnectionSettings:
        """How to reach the registry (configs built by other connectors have no `insecure`).

        Inside a ZenML server the connector serves every user: private destinations other
        than the registry's host are refused unless the operator allows them.
        """
        return ConnectionSettings(
            insecure=bool(getattr(self.config, "insecure", False)),
            refuse_private_destinations=inside_zenml_server()
            and not private_networks_allowed(os.environ),
        )

    @classmethod
    def _parse_resource_id(cls, resource_id: str) -> str:
        return parse_registry_reference(resource_id).resource_id

    def _canonical_resource_id(self, resource_type: str, resource_id: str) -> str:
        return self._parse_resource_id(resource_id)

    def _get_default_resource_id(self, resource_type: str) -> str:
        return self.registry_reference().resource_id

    # --- ZenML hooks ------------------------------------------------------------------

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        """An explicit check (register, verify, a server's verify endpoint) is never cached,
        so a long-running server notices a changed password; the up to three `_verify` calls
        of `connect()`/`get_connector_client()`/`configure_local_client()` share one."""
        ahead = None if args else prechecked(self.id, kwargs)
        if ahead is not None:  # run with the others already (`resource_listing`)
            return ahead.result()
        token = _explicit_check.set(True)
        try:
            return super().verify(*args, **kwargs)
        finally:
            _explicit_check.reset(token)

    def _verify(
        self,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> list[str]:
        reference = self.registry_reference()
        once = _afresh_once.get()
        afresh = _explicit_check.get() or (once is not None and not once)
        with zenml_errors():
            try:
                verify_registry_access(
                    reference,
                    self.credentials(),
                    settings=self.connection_settings(),
                    use_cache=not afresh,
                )
            except RegistryOutOfReachError as error:
                # Not a verdict on the credentials: see docs/reachability.md for the policy.
                if afresh:
                    raise AuthorizationException(out_of_reach_message(error, self.name)) from None
                if _unreachable_reported.first(reference.resource_id):
                    logger.warning("%s", unchecked_warning(error))
            else:
                _unreachable_reported.forget(reference.resource_id)
        if once is not None and not once:
            once.append(True)
        return [reference.resource_id]

    def _connect_to_resource(self, **kwargs: Any) -> Any:
        with zenml_errors():
            return authenticated_docker_client(self.registry_reference(), self.credentials())

    def _configure_local_client(self, **kwargs: Any) -> None:
        with zenml_errors():
            result = login_local_clients(
                self.registry_reference(),
                self.credentials(),
                engine_setting=configured_container_engine(),
            )
        for note in result.notes:
            click.echo(note, err=True)
        if result.plaintext_path is not None:
            click.echo(plaintext_warning(str(result.plaintext_path)), err=True)

    @classmethod
    def _auto_configure(
        cls,
        auth_method: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        **kwargs: Any,
    ) -> DockerServiceConnector:
        wanted = resource_id or kwargs.get("registry")
        reference = parse_registry_reference(wanted) if wanted else None
        with zenml_errors():
            found = find_local_credentials(reference)
        return cls(
            auth_method=spec.PASSWORD_AUTH_METHOD,
            resource_type=spec.RESOURCE_TYPE,
            resource_id=found.reference.resource_id,
            config=spec.DockerConnectorConfiguration(
                username=found.credentials.username,
                password=found.credentials.secret,
                registry=registry_field_value(found.reference),
            ),
        )


def where_checks_run() -> str:
    """Where a check ran, for messages: the server's host name is not the user's business."""
    if inside_zenml_server():
        return "on the ZenML server"
    return f"in this process (host {socket.gethostname()})"


def out_of_reach_message(error: RegistryOutOfReachError, name: str | None) -> str:
    """An explicit check's error: what failed, where the check ran, how to skip the check."""
    return (
        f"{error} The check ran {where_checks_run()}; the registry may still be reachable "
        "from where your pipelines run. To register the connector without this check, add "
        f"--no-verify: `zenml service-connector register {name or '<name>'} --type docker "
        "... --no-verify`. Clients of it are then handed out with a warning while the "
        "registry cannot be reached from where they are checked."
    )


def unchecked_warning(error: RegistryOutOfReachError) -> str:
    """An implicit check's warning: the credentials go out unchecked, and why."""
    return (
        f"Registry {error.registry} cannot be reached {where_checks_run()}, so the "
        f"connector's credentials are handed out unchecked: {error} (Reported once per "
        "registry while it stays out of reach; `zenml service-connector verify` checks it.)"
    )


class OncePerRegistry:
    """Which registries were reported out of reach in this process, so each is reported
    once; forgotten when a check of it succeeds. Bounded: past `limit` it starts over."""

    def __init__(self, limit: int = 1024) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first(self, registry: str) -> bool:
        """True the first time `registry` is reported (since it was last forgotten)."""
        with self._lock:
            if registry in self._seen:
                return False
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen.add(registry)
            return True

    def forget(self, registry: str) -> None:
        with self._lock:
            self._seen.discard(registry)


_unreachable_reported = OncePerRegistry()


@contextmanager
def zenml_errors() -> Iterator[None]:
    """Our errors as the exception ZenML reports with its message.

    `zenml service-connector` commands catch only a few exception types, and `verify()`
    shows only an `AuthorizationException`'s message ("an unexpected error occurred" else);
    our messages are complete and secret-free, so every failure travels as one.
    """
    try:
        yield
    except DockerConnectorError as error:
        raise AuthorizationException(str(error)) from None


def registry_field_value(reference: RegistryReference) -> str | None:
    """What to store in the `registry` field so that it parses back to the same registry."""
    if reference.is_docker_hub:
        return None
    if reference.scheme_explicit:
        return f"{reference.scheme}://{reference.netloc}"
    return reference.netloc


def plaintext_warning(path: str) -> str:
    """The docker CLI's warning, with the real path, when credentials land in a plain file."""
    return (
        f"WARNING! Your password will be stored unencrypted in {path}.\n"
        'Configure a credential helper to remove this warning: set "credsStore" (or a '
        '"credHelpers" entry for this registry) in that file to a docker-credential-* '
        "helper, then run `zenml service-connector login` again. See\n"
        "https://docs.docker.com/engine/reference/commandline/login/#credentials-store"
    )
