"""Kubernetes image pull secrets: the `kubernetes.io/dockerconfigjson` Secret for a registry.

Pure data work, no ZenML and no network: `names` holds Kubernetes' naming rules, `pull_secret`
builds the manifest from a `RegistryReference` and `Credentials`, `render` prints it as YAML or
JSON and writes it to a private file. The glue (`zenml_docker_connector.pull_secrets`) finds
and verifies the connector first.
"""
