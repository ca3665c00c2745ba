"""Layer 3, the ZenML glue: the only package that imports ZenML.

`activation` makes our connector ZenML's `docker` type; `connector` and `spec` are that type;
`zenml_access` holds every question asked of ZenML; `resource_listing` and `pull_secrets`
serve `list-resources` and Kubernetes pull secrets.
"""
