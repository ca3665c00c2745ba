"""The documented import path of the pull-secret helpers (README); they live in the glue.

Kept at the package root so that pipeline code written against the README keeps working.
"""

from zenml_docker_connector.glue.pull_secrets import (
    image_pull_secrets,
    kubernetes_pod_settings,
    pull_secret_manifest,
)

__all__ = ["image_pull_secrets", "kubernetes_pod_settings", "pull_secret_manifest"]
