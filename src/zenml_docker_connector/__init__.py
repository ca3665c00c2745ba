"""zenml-docker-connector: a Docker/OCI registry service connector for ZenML that really works.

Importing the package activates the connector (`glue.activation`) without importing ZenML.
Layers, bottom up: the shared modules here, `registry/` and `local/`, `kubernetes/`, `glue/`
(the only package importing ZenML), `cli/`.
"""

from __future__ import annotations

from zenml_docker_connector.glue.activation import activate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"
__all__ = ["DockerServiceConnector", "__version__", "activate"]

activate()


def __getattr__(name: str) -> Any:
    # Lazy, so `import zenml_docker_connector` never imports ZenML.
    if name == "DockerServiceConnector":
        from zenml_docker_connector.glue.connector import DockerServiceConnector

        return DockerServiceConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
