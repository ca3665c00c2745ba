#!/usr/bin/env bash
# Benchmarks: request counts, latency, start-up cost, memory, TLS round trips, listings of
# many connectors and a ZenML server's verification throughput against the real test bed.
#   bash benchmarks/run.sh [--quick] [--json] [--only SECTION,...]
# SECTION: requests, latency, startup, memory, roundtrips, listing, throughput, load.
# Reuses the test venv of scripts/test.sh (VENV, default .venv-test) or makes one the same way;
# the package is reinstalled from this checkout (wheel, not editable) so figures match the code
# (BENCH_SKIP_INSTALL=1 skips that). Needs docker-registry, htpasswd, docker (CLI), skopeo, and
# root for the private dockerd of the memory section (`bash scripts/test.sh` installs them) and
# for the network namespaces of the round-trip and listing sections, which also need iptables,
# gcc and libnetfilter-queue-dev (installed here with apt-get as root when missing; SKIP_APT=1
# skips).
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
# The round-trip and listing sections compile benchmarks/delay.c at run time.
wanted=1
if [[ " $* " == *" --only"* && "$*" != *roundtrips* && "$*" != *listing* ]]; then wanted=0; fi
if [[ $wanted == 1 && $EUID -eq 0 && "${SKIP_APT:-0}" != 1 ]]; then
  packages=()
  [[ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ]] || packages+=(libnetfilter-queue-dev)
  command -v iptables >/dev/null || packages+=(iptables)
  command -v gcc >/dev/null || packages+=(gcc)
  if ((${#packages[@]})); then
    echo "== apt-get install ${packages[*]}" >&2
    apt-get install -y -q "${packages[@]}" >/dev/null || echo "apt-get failed: round trips will say so" >&2
  fi
fi

# Every network namespace the run creates is written to this ledger first; whatever is still
# there when this script exits (the Python side always tries itself) is deleted.
ledger="$(mktemp)"
cleanup() {
  while read -r namespace; do
    ip netns delete "$namespace" 2>/dev/null || true
  done <"$ledger"
  rm -f "$ledger"
}
trap cleanup EXIT
ZDC_BENCH_NETNS_LEDGER="$ledger" "$venv/bin/python" benchmarks/run.py "$@"
