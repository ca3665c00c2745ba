"""The README's import path of the pull-secret helpers, which live in `glue.pull_secrets`."""

from zenml_docker_connector.glue.pull_secrets import (
    image_pull_secrets,
    kubernetes_pod_settings,
    pull_secret_manifest,
)

__all__ = ["image_pull_secrets", "kubernetes_pod_settings", "pull_secret_manifest"]
