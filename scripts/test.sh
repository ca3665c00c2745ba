#!/usr/bin/env bash
# The project's test command (README): installs what the tests need, then lint, types, tests.
#   bash scripts/test.sh [pytest args...]
# Environment: ZENML_VERSION (default: latest) pins ZenML; VENV (default .venv-test) the venv;
# TEST_EXTRA (default test) which extra of pyproject to install (`.ci/run` installs test-min
# next to pinned ZenML lines, for the `zenml_lines` subset);
# PYTHON (default python3) the interpreter for a new venv, e.g. python3.13 (pyenv builds are
# found when the shim refuses); SKIP_APT=1 skips the Debian packages (the tests needing them
# then skip, or fail under CI=true); SKIP_LINT=1 skips ruff and mypy (`.ci/run` lints once);
# PACKAGE (default: the source tree `.`) what to install as the package, e.g. a built wheel
# (`.ci/run` and the release workflow test the artifact that is published).
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(docker-registry apache2-utils docker.io podman skopeo uidmap util-linux)
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

# An interpreter that runs: pyenv's shim refuses versions that are installed but not selected.
find_python() {
  local wanted=$1 version
  if "$wanted" -c "" 2>/dev/null; then echo "$wanted"; return; fi
  version=${wanted#python}
  if command -v pyenv >/dev/null && [[ $version =~ ^3\.[0-9]+$ ]]; then
    for candidate in "$(pyenv root)"/versions/"$version".*/bin/"python$version"; do
      if [[ -x $candidate ]]; then echo "$candidate"; return; fi
    done
  fi
  echo "no runnable interpreter for PYTHON=$wanted" >&2
  return 1
}

venv="${VENV:-.venv-test}"
[[ -x "$venv/bin/python" ]] || "$(find_python "${PYTHON:-python3}")" -m venv "$venv"
echo "== installing the package (wheel, not editable) with its test dependencies"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
zenml_pin="zenml[local,server]${ZENML_VERSION:+==$ZENML_VERSION}"
package="${PACKAGE:-.}"
"$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$package" >/dev/null
extra="${TEST_EXTRA:-test}"
"$venv/bin/python" -m pip install -q "$package[$extra]" "$zenml_pin" >/dev/null

# The GCP and Azure SDKs go into a directory of their own, not the venv: installed, ZenML would
# import them (~3 s) in every process that lists connector types. Only the tests of those
# connectors append the directory to sys.path. It holds what the venv lacks for them, at the
# versions pip resolves together with everything the venv already has.
cloud_sdks="$venv/cloud-sdks"
if [[ $extra == test ]]; then
  "$venv/bin/python" -m pip install -q --dry-run --report "$venv/cloud-sdks.json" \
    "$package[test,test-cloud-sdks]" "$zenml_pin" >/dev/null
  "$venv/bin/python" -c '
import json, sys
from importlib.metadata import PackageNotFoundError, version
for item in json.load(open(sys.argv[1]))["install"]:
    name, wanted = item["metadata"]["name"], item["metadata"]["version"]
    try:
        installed = version(name)
    except PackageNotFoundError:
        installed = None
    if name != "zenml-docker-connector" and installed != wanted:
        print(f"{name}=={wanted}")
' "$venv/cloud-sdks.json" >"$venv/cloud-sdks.txt"
  if ! cmp -s "$venv/cloud-sdks.txt" "$cloud_sdks/.requirements"; then
    rm -rf "$cloud_sdks"
    "$venv/bin/python" -m pip install -q --no-deps --target "$cloud_sdks" -r "$venv/cloud-sdks.txt" >/dev/null
    cp "$venv/cloud-sdks.txt" "$cloud_sdks/.requirements"
  fi
  export ZDC_CLOUD_SDKS="$(cd "$cloud_sdks" && pwd)"
fi
"$venv/bin/python" -c 'import sys, zenml, docker, pydantic, requests; print("== python", sys.version.split()[0], "zenml", zenml.__version__, "docker-py", docker.__version__, "pydantic", pydantic.VERSION, "requests", requests.__version__)'
# Where the installed package came from (pip's direct_url.json): the source tree or a built wheel.
"$venv/bin/python" -c 'import json, importlib.metadata as m; print("== package", m.version("zenml-docker-connector"), "from", json.loads(m.distribution("zenml-docker-connector").read_text("direct_url.json"))["url"])'

if [[ "${SKIP_LINT:-0}" != 1 ]]; then
  echo "== ruff"
  "$venv/bin/python" -m ruff check src tests benchmarks
  echo "== mypy --strict"
  "$venv/bin/python" -m mypy --strict src
fi
echo "== pytest"
venv_bin="$(cd "$venv/bin" && pwd)"
export PATH="$venv_bin:$PATH"
exec "$venv/bin/python" -m pytest "$@"
