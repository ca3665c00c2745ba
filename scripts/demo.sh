#!/usr/bin/env bash
# The demo (README): a venv with the plugin, a throwaway local registry, the connector at work.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv-demo}"
[[ -x "$venv/bin/python" ]] || "${PYTHON:-python3}" -m venv "$venv"
echo "== installing zenml-docker-connector and zenml[local] into $venv"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q . "zenml[local]${ZENML_VERSION:+==$ZENML_VERSION}" >/dev/null
exec "$venv/bin/python" scripts/demo.py
