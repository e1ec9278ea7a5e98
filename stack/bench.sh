#!/usr/bin/env bash
# The benchmarks (on demand, never part of `make test`): each prints a table with the ratio to
# its baseline or goal. `make bench` runs them all; BENCH="collector mapreduce" picks some;
# BENCH_ARGS is passed to each (e.g. BENCH=mapreduce BENCH_ARGS="--statuses 20000").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. stack/env.sh
python stack/stackctl.py start
status=0
for name in ${BENCH:-collector lateness busy mapreduce second_wave hbase_loader dag stages}; do
  script="bench/bench_$name.py"
  [ -f "$script" ] || { echo "error: no benchmark $script (choose from: $(ls bench/bench_*.py | sed 's/.*bench_//; s/\.py//' | tr '\n' ' '))" >&2; exit 2; }
  printf '\n===== %s =====\n' "$script"
  # shellcheck disable=SC2086
  python "$script" ${BENCH_ARGS:-} || { echo "benchmark $script failed" >&2; status=1; }
done
exit $status
