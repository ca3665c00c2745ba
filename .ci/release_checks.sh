#!/usr/bin/env bash
# The release checks that .ci/run and both workflows run (docs/releasing.md says why):
#   bash .ci/release_checks.sh dist       build the sdist and the wheel once into dist/ (the
#                                         wheel from the unpacked sdist), `twine check --strict`
#                                         them and check their contents (.ci/check_dist.py)
#   bash .ci/release_checks.sh workflows  check .github/workflows against GitHub's workflow
#                                         schema, audit them with zizmor (offline, no finding
#                                         allowed) and check their matrices against .ci/run's
#   bash .ci/release_checks.sh notes TAG  print CHANGELOG.md's section for TAG (the release
#                                         notes); fails unless TAG is v + `__version__` and the
#                                         section has text
# The tools (.ci/release-tools.txt) live in a venv of their own: RELEASE_VENV (default
# .venv-release), made with PYTHON (default python3, 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."

tools="${RELEASE_VENV:-.venv-release}"
install_tools() {
  if [[ ! -x $tools/bin/python ]]; then
    "${PYTHON:-python3}" -m venv "$tools"
    "$tools/bin/python" -m pip install -q --upgrade pip >/dev/null
  fi
  "$tools/bin/python" -m pip install -q -r .ci/release-tools.txt >/dev/null
}

case "${1:-}" in
  notes)
    version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' src/zenml_docker_connector/__init__.py)
    if [[ ${2:-} != "v$version" ]]; then
      echo "tag ${2:-(none)} does not name the package's version: want v$version" >&2
      exit 1
    fi
    notes=$(awk -v heading="## [$version]" '
      index($0, heading) == 1 { inside = 1; next }
      inside && /^## / { exit }
      inside { print }' CHANGELOG.md)
    if [[ -z ${notes//[[:space:]]/} ]]; then
      echo "CHANGELOG.md has no text under \"## [$version]\"" >&2
      exit 1
    fi
    printf '%s\n' "$notes"
    ;;
  dist)
    install_tools
    rm -rf dist
    echo "== python -m build (sdist, then the wheel from the unpacked sdist)"
    if ! out=$("$tools/bin/python" -m build --outdir dist . 2>&1); then
      echo "$out"
      exit 1
    fi
    tail -1 <<<"$out"
    echo "== twine check --strict"
    "$tools/bin/twine" --no-color check --strict dist/*
    echo "== the wheel's and the sdist's contents"
    "$tools/bin/python" .ci/check_dist.py dist
    ;;
  workflows)
    install_tools
    echo "== check-jsonschema --builtin-schema vendor.github-workflows"
    "$tools/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml
    echo "== zizmor --offline"
    "$tools/bin/zizmor" --offline .github/workflows
    echo "== the workflows' matrices against .ci/run"
    "$tools/bin/python" .ci/check_matrix.py
    ;;
  *)
    echo "usage: bash .ci/release_checks.sh dist|workflows|notes TAG" >&2
    exit 2
    ;;
esac
