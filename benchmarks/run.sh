#!/usr/bin/env bash
# Benchmarks: request counts, latency, start-up cost and memory against the real test bed.
#   bash benchmarks/run.sh [--quick] [--json] [--only requests,latency,startup,memory] ...
# Reuses the test venv of scripts/test.sh (VENV, default .venv-test) or makes one the same way;
# the package is reinstalled from this checkout (wheel, not editable) so figures match the code
# (BENCH_SKIP_INSTALL=1 skips that). Needs docker-registry, htpasswd, docker (CLI), skopeo, and
# root for the private dockerd of the memory section (`bash scripts/test.sh` installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${VENV:-.venv-test}"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "== creating $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q ".[test]" "zenml[local,server]${ZENML_VERSION:+==$ZENML_VERSION}" >/dev/null
fi
if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
  echo "== installing this checkout into $venv" >&2
  "$venv/bin/python" -m pip install -q --force-reinstall --no-deps . >/dev/null
fi

missing=()
for program in docker-registry htpasswd docker skopeo; do
  command -v "$program" >/dev/null || missing+=("$program")
done
if ((${#missing[@]})); then
  echo "missing: ${missing[*]} (on Debian: bash scripts/test.sh installs them)" >&2
  exit 1
fi
exec "$venv/bin/python" benchmarks/run.py "$@"
