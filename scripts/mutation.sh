#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the modules that decide what is secret, what is sent where and
# what a name means; not part of CI (docs/mutation.md has the scores and the survivors).
#   bash scripts/mutation.sh [module...]     # default: all five, one after another
#   bash scripts/mutation.sh --table [module...]   # the table of the last run only
# Modules: printable redaction references policy client_files.
# Environment: VENV (default .venv-test, made by scripts/test.sh) supplies the test
# dependencies; WORK (default /tmp/zdc-mutation) holds the copies and mutmut's own venv;
# MAX_CHILDREN (default 2) bounds mutmut's parallel test processes; REV (default: the working
# tree) a commit to measure instead, e.g. REV=ab87789 for the scores before the new tests.
#
# Why a copy and a venv of its own: mutmut writes mutants into `mutants/` next to the sources
# and puts `mutants/src` first on sys.path, but the package's start-up `.pth` line
# (zenml_docker_connector_activate.pth) imports the installed package before that, so every
# mutant would run against unmutated code. mutmut's venv therefore reaches the test venv's
# site-packages through a plain path line, which does not run the `.pth` files found there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="${VENV:-.venv-test}"
work="${WORK:-/tmp/zdc-mutation}"
children="${MAX_CHILDREN:-2}"
mutmut_version="3.8.1"

[[ -x "$venv/bin/python" ]] || { echo "no $venv: run scripts/test.sh first" >&2; exit 1; }
mkdir -p "$work"
tool="$work/venv"
if [[ ! -x "$tool/bin/mutmut" ]]; then
  base=$("$venv/bin/python" -c 'import sys; print(sys._base_executable)')
  "$base" -m venv "$tool"
  "$tool/bin/python" -m pip install -q "mutmut==$mutmut_version" 2>&1 | grep -v "is ignored" || true
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
tool_site=$("$tool/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site" >"$tool_site/zdc-test-venv.pth"

# module -> source file, the unit tests that select its mutants' tests, the key-rule functions
# reported on their own (client_files mixes them with file discovery).
declare -A source=(
  [printable]=src/zenml_docker_connector/printable.py
  [redaction]=src/zenml_docker_connector/redaction.py
  [references]=src/zenml_docker_connector/references.py
  [policy]=src/zenml_docker_connector/registry/policy.py
  [client_files]=src/zenml_docker_connector/local/client_files.py
)
declare -A tests=(
  [printable]=tests/unit/test_printable.py
  [redaction]=tests/unit/test_redaction.py
  [references]=tests/unit/test_references.py
  [policy]=tests/unit/registry/test_policy.py
  [client_files]="tests/unit/local/test_client_files.py tests/unit/local/test_discovery.py"
)
key_rules="keys_for entries helper_settings helper_for creds_store_helper entry_for key_rank"
key_rules+=" match_namespaced is_oauth_key registry_of_key"

table_only=0
if [[ "${1:-}" == --table ]]; then table_only=1; shift; fi
modules=("$@")
((${#modules[@]})) || modules=(printable redaction references policy client_files)
for module in "${modules[@]}"; do
  [[ -n "${source[$module]:-}" ]] || { echo "unknown module $module" >&2; exit 1; }
  ((table_only)) && continue
  copy="$work/mut-$module"
  rm -rf "$copy"
  mkdir -p "$copy"
  if [[ -n "${REV:-}" ]]; then
    git -C "$root" archive "$REV" src tests pyproject.toml | tar -x -C "$copy"
  else
    cp -r "$root/src" "$root/tests" "$root/pyproject.toml" "$copy/"
  fi
  find "$copy" -name __pycache__ -prune -exec rm -rf {} +
  cat >>"$copy/pyproject.toml" <<EOF

[tool.mutmut]
source_paths = ["src"]
only_mutate = ["${source[$module]}"]
pytest_add_cli_args_test_selection = [$(printf '"%s", ' ${tests[$module]})]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]
use_git_change_detection = false
EOF
  echo "== mutmut: $module (${source[$module]}, tests ${tests[$module]})"
  start=$(date +%s)
  (cd "$copy" && "$tool/bin/mutmut" run --max-children "$children" >"$copy/run.log" 2>&1) || {
    tail -20 "$copy/run.log"
    exit 1
  }
  (cd "$copy" && "$tool/bin/mutmut" results --all true >"$copy/results.txt" 2>&1)
  echo "   $(($(date +%s) - start)) s; every mutant's status in $copy/results.txt"
done

# The table: killed = killed + timeout (a mutant that hangs the tests is caught);
# everything else (survived, no tests, suspicious) counts against the score.
"$tool/bin/python" - "$work" "$key_rules" "${modules[@]}" <<'EOF'
import re
import sys
from pathlib import Path

work, key_rules, modules = Path(sys.argv[1]), set(sys.argv[2].split()), sys.argv[3:]
line = re.compile(r"^\s*(\S+__mutmut_\d+): (.+)$")


def score(rows):
    killed = sum(status in ("killed", "timeout") for _, status in rows)
    share = 100 * killed / len(rows) if rows else 0.0
    return f"{killed}/{len(rows)} ({share:.1f}%)"


print(f"{'module':<28} {'killed / total':>20}  survivors")
for module in modules:
    rows = []
    for text in (work / f"mut-{module}" / "results.txt").read_text().splitlines():
        if m := line.match(text):
            rows.append((m.group(1), m.group(2).strip()))
    left = sorted(n for n, s in rows if s not in ("killed", "timeout"))
    print(f"{module:<28} {score(rows):>20}  {len(left)}")
    if module == "client_files":
        function = re.compile(r"x[ǁ_](?:ClientFile[ǁ_])?(\w+?)__mutmut_\d+$")
        keys = [(n, s) for n, s in rows if (f := function.search(n)) and f.group(1) in key_rules]
        print(f"{'  (key-rule functions)':<28} {score(keys):>20}")
EOF
