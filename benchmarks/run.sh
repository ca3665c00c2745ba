#!/usr/bin/env bash
# Benchmarks (README): round trips, latency, start-up cost and memory against the real test bed.
#   bash benchmarks/run.sh [--quick] [--json] [--rounds N] [--startup-rounds N] ...
# Reuses the test venv of scripts/test.sh (VENV, default .venv-test) or makes one the same way;
# the package is reinstalled from this checkout (wheel, not editable) so figures match the code.
# Needs docker-registry, htpasswd, docker (CLI), skopeo, and root for the private dockerd
# (`bash scripts/test.sh` installs them on Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${VENV:-.venv-test}"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "== creating $venv" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  zenml_pin="zenml[local,server]${ZENML_VERSION:+==$ZENML_VERSION}"
  "$venv/bin/python" -m pip install -q ".[test]" "$zenml_pin" >/dev/null
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

venv_bin="$(cd "$venv/bin" && pwd)"
export BENCH_LAUNCHER="${VENV:+VENV=$VENV }bash benchmarks/run.sh"  # shown in the report
export PATH="$venv_bin:$PATH"  # the zenml executable of this venv, for the start-up rows
exec "$venv_bin/python" benchmarks/run.py "$@"
