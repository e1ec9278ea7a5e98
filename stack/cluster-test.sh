#!/usr/bin/env bash
# The tests of the multi-node cluster (tests/cluster/), with var/cluster/env.sh sourced so that
# every client reaches the cluster by configuration alone. Starts the nodes that are not
# running and stops, on exit, exactly those it started.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=env.sh
. stack/env.sh

mapfile -t started < <(python stack/stackctl.py --profile cluster stopped)
cleanup() {
  local status=$?
  if [ ${#started[@]} -gt 0 ]; then
    echo "== stopping the cluster nodes the tests started: ${started[*]}"
    python stack/stackctl.py --profile cluster stop "${started[@]}" || true
  fi
  exit $status
}
trap cleanup EXIT INT TERM

echo "== cluster"
python stack/stackctl.py --profile cluster start
# shellcheck source=/dev/null
. var/cluster/env.sh

echo "== cluster tests"
# the quick checks of every node first, then the DAG over two days with its faults
[ $# -gt 0 ] || set -- tests/cluster/test_cluster_smoke.py tests/cluster/test_cluster_dag.py
python -m pytest "$@" ${CI:+-p no:cacheprovider} -v --durations=10
