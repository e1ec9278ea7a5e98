#!/usr/bin/env bash
# Every test: unit tests, then integration tests against the real local stack.
# Starts the services that are not running and stops, on exit, exactly those it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=env.sh
. stack/env.sh

started=()
cleanup() {
  local status=$?
  if [ ${#started[@]} -gt 0 ]; then
    echo "== stopping what the tests started: ${started[*]}"
    python stack/stackctl.py stop "${started[@]}" || true
  fi
  exit $status
}
trap cleanup EXIT INT TERM

for group in hdfs yarn hbase; do
  if ! python stack/stackctl.py status "$group" >/dev/null 2>&1; then
    started+=("$group")
  fi
done
echo "== Debian's chromium for the Airflow UI browser test"
stack/system-packages.sh chromium

echo "== stack"
python stack/stackctl.py start

echo "== tests"
python -m pytest "${@:-tests}" ${CI:+-p no:cacheprovider} -v --durations=15
