#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then lint, types, tests.
#   bash scripts/test.sh [pytest args...]
# Environment: ZENML_VERSION (default: latest) pins ZenML; VENV (default .venv-test) the venv;
# SKIP_APT=1 skips the Debian packages (the tests needing them then skip, or fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(docker-registry apache2-utils docker.io podman skopeo uidmap)
if [[ "${SKIP_APT:-0}" != 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  missing=()
  for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

venv="${VENV:-.venv-test}"
python="${PYTHON:-python3}"
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
echo "== installing the package (wheel, not editable) with its test dependencies"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
zenml_pin="zenml[local,server]${ZENML_VERSION:+==$ZENML_VERSION}"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps . >/dev/null
"$venv/bin/python" -m pip install -q ".[test]" "$zenml_pin" >/dev/null
"$venv/bin/python" -c 'import zenml, docker; print("== zenml", zenml.__version__, "docker-py", docker.__version__)'

echo "== ruff"
"$venv/bin/python" -m ruff check src tests benchmarks
echo "== mypy --strict"
"$venv/bin/python" -m mypy --strict src
echo "== pytest"
venv_bin="$(cd "$venv/bin" && pwd)"
export PATH="$venv_bin:$PATH"
exec "$venv/bin/python" -m pytest "$@"
