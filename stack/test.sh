#!/usr/bin/env bash
# Every test: unit tests, then integration tests against the real local stack, then the tests of
# the multi-node cluster (stack/cluster-test.sh, about 8 more minutes; DATALAKE_CLUSTER_TESTS=0
# leaves them out, and the run says so).
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
if [ $# -gt 0 ]; then  # the tests named (of tests/cluster/: run them with `make cluster-test`)
  exec python -m pytest "$@" ${CI:+-p no:cacheprovider} -v --durations=15
fi
status=0
# unit tests first: they fail fast, and no integration test's leftovers (Airflow's in-process task
# runner, its logging) reach them. The fault tests stop and start the stack's services: nothing
# else runs beside them.
python -m pytest tests/unit tests/faults ${CI:+-p no:cacheprovider} -v --durations=20 || status=$?
# The integration tests are independent (a lake root, table prefix, stand-in servers and Airflow
# home of their own per process): two at a time, a module's tests in one process (its fixtures).
# Much of their time is waiting on services, so on 2 cores this takes 21 minutes instead of 43.
python -m pytest tests/integration -n "${DATALAKE_TEST_WORKERS:-2}" --dist loadfile \
  ${CI:+-p no:cacheprovider} -v --durations=30 || status=$?

if [ "${DATALAKE_CLUSTER_TESTS:-1}" = 0 ]; then
  echo "== NOT RUN (DATALAKE_CLUSTER_TESTS=0): the multi-node cluster tests (tests/cluster/): \`make cluster-test\` runs them"
  exit $status
fi
# The cluster gets the machine to itself: the single-node services these tests started stop first.
if [ ${#started[@]} -gt 0 ]; then
  echo "== stopping the single-node stack before the cluster: ${started[*]}"
  python stack/stackctl.py stop "${started[@]}" || true
  started=()
fi
echo "== the multi-node cluster tests (stack/cluster-test.sh)"
stack/cluster-test.sh || status=$?
exit $status
