#!/usr/bin/env bash
# The main job end to end, offline: a stand-in Mastodon federation (three instances) serves two
# days of generated statuses; the Airflow DAG `mastodon_datalake` runs for both days (collect →
# MapReduce → HBase); then the analysis notebook runs against HBase and writes its charts.
# Safe to run twice: a rerun of a day gives the same lake and the same HBase cells.
#
#   DEMO_STATUSES_PER_DAY (default 2000)  DEMO_END_DAY (default yesterday, UTC)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. stack/env.sh

per_day="${DEMO_STATUSES_PER_DAY:-2000}"
day2="${DEMO_END_DAY:-$(date -u -d yesterday +%F)}"
day1="$(date -u -d "$day2 -1 day" +%F)"
demo_dir="$ROOT/var/demo"
mkdir -p "$demo_dir" "$ROOT/var/log"
step() { printf '\n== %s\n' "$*"; }

step "local stack (HDFS, YARN, HBase + Thrift)"
python stack/stackctl.py start

step "stand-in Mastodon federation: $per_day statuses a day on $day1 and $day2, half the federated copies late"
rm -f "$demo_dir/standin.json"
# as federation delivers: a quarter of the remote copies arrive late with ids of their arrival, a
# quarter are fetched later with backdated ids; the second run re-reads day 1 and recomputes it
python -m collection.standin --start "$day1" --days 2 --statuses-per-day "$per_day" --seed 42 \
  --late-share "${DEMO_LATE_SHARE:-0.25}" --backdated-share "${DEMO_BACKDATED_SHARE:-0.25}" \
  --urls-file "$demo_dir/standin.json" >"$ROOT/var/log/standin.log" 2>&1 &
standin_pid=$!
trap 'kill "$standin_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  [ -s "$demo_dir/standin.json" ] && break
  kill -0 "$standin_pid" 2>/dev/null || { echo "error: the stand-in server exited; see var/log/standin.log" >&2; exit 1; }
  sleep 0.5
done
[ -s "$demo_dir/standin.json" ] || { echo "error: the stand-in server did not start; see var/log/standin.log" >&2; exit 1; }
instances_json="$(python -c 'import json,sys; print(json.dumps(sorted(json.load(open(sys.argv[1])).values())))' "$demo_dir/standin.json")"
python -c 'import json,sys; [print(f"  {d:15s} {u}") for d,u in sorted(json.load(open(sys.argv[1])).items())]' "$demo_dir/standin.json"

step "Airflow metadata DB ($AIRFLOW_HOME)"
airflow db migrate >"$ROOT/var/log/airflow-migrate.log" 2>&1 || { echo "error: airflow db migrate failed; see var/log/airflow-migrate.log" >&2; exit 1; }
echo "ready"

for day in "$day1" "$day2"; do
  logical_date="$(date -u -d "$day +1 day" +%F)"
  step "DAG mastodon_datalake for day $day (logical date $logical_date; log var/log/demo-dag-$day.log)"
  started=$(date +%s)
  if ! airflow dags test mastodon_datalake "$logical_date" \
        --conf "{\"instances\": $instances_json, \"max_pages\": 1000}" >"$ROOT/var/log/demo-dag-$day.log" 2>&1; then
    tail -40 "$ROOT/var/log/demo-dag-$day.log" >&2
    echo "error: the DAG run for $day failed; see var/log/demo-dag-$day.log" >&2
    exit 1
  fi
  grep -o "days to process: .*" "$ROOT/var/log/demo-dag-$day.log" | tail -1 | sed 's/^/  /' || true
  grep -E "Marking run .* (successful|failed)|dag_run_state|DagRun Finished" "$ROOT/var/log/demo-dag-$day.log" | tail -1 || true
  echo "done in $(( $(date +%s) - started ))s"
done

step "what the lake holds"
python -m collection status --date "$day1" || true
python -m collection status --date "$day2" || true
for zone in raw curated aggregates quarantine; do
  printf '  %-11s ' "$zone"; hadoop fs -du -s -h "${DATALAKE_ROOT:-/datalake}/$zone" 2>/dev/null || echo "(empty)"
done

step "what HBase holds"
python -m hbase show day_table --limit 5 || true
python -m hbase show language_table --limit 5
python -m hbase show tag_table --limit 5

step "analysis notebook"
python -m analysis run --output-dir "$ROOT/out/analysis"

step "web UIs"
cat <<EOF
  HDFS NameNode     http://localhost:9870   (browse ${DATALAKE_ROOT:-/datalake} under Utilities)
  YARN              http://localhost:8088   JobHistory http://localhost:19888
  HBase master      http://localhost:16010
  Airflow           http://localhost:8080   (start it with: make airflow)
  charts            $ROOT/out/analysis/
EOF
