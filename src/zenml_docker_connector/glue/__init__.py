"""Layer 3, the ZenML glue: the only package that imports ZenML.

`activation` makes our connector ZenML's `docker` type (through `patches`); `connector` and
`spec` are that type; `zenml_settings` (below the connector) and `zenml_access` (above it)
hold every question asked of ZenML; `resource_listing` and `pull_secrets` serve
`list-resources` and Kubernetes pull secrets; `credential_source` answers the credential
helper's child process (`helper/`).
"""
