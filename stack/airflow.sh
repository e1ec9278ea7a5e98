#!/usr/bin/env bash
# Airflow 3 for the project: `airflow standalone` (API server + web UI on localhost:8080,
# scheduler, dag-processor, triggerer) with its metadata DB under var/airflow.
#   stack/airflow.sh start | stop | status | login
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. stack/env.sh
PIDFILE="$ROOT/var/run/airflow.pid"
LOG="$ROOT/var/log/airflow.log"
URL="http://localhost:${AIRFLOW__API__PORT}"
mkdir -p "$ROOT/var/run" "$ROOT/var/log" "$AIRFLOW_HOME"

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

health() {  # prints the unhealthy components, nothing when all are healthy
  python - "$URL" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/api/v2/monitor/health", timeout=3) as r:
        health = json.load(r)
except Exception as error:
    print(f"API server not answering ({type(error).__name__})"); sys.exit(0)
bad = [name for name in ("metadatabase", "scheduler", "dag_processor", "triggerer")
       if (health.get(name) or {}).get("status") != "healthy"]
print(", ".join(f"{name} not healthy" for name in bad))
PY
}

login() {
  local file="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
  if [ -f "$file" ]; then
    python -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(f"  login: {u} / {p}") for u,p in d.items()]' "$file"
  else
    echo "  login: see $file once Airflow has started"
  fi
}

start() {
  if running; then
    echo "Airflow already running (pid $(cat "$PIDFILE"))"
  else
    if python - <<'PY'
import socket, sys, os
s = socket.socket(); s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(os.environ["AIRFLOW__API__PORT"]))) == 0 else 1)
PY
    then
      echo "error: port ${AIRFLOW__API__PORT} is already in use by another process; free it or set AIRFLOW__API__PORT." >&2
      exit 1
    fi
    echo "starting Airflow (log $LOG) ..."
    started=$(date +%s)
    airflow db migrate >>"$LOG" 2>&1 || { echo "error: airflow db migrate failed; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
    setsid nohup airflow standalone >>"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 240); do
      if ! running; then echo "error: Airflow exited while starting; see $LOG" >&2; tail -30 "$LOG" >&2; exit 1; fi
      [ -z "$(health)" ] && break
      sleep 1
    done
    problem="$(health)"
    if [ -n "$problem" ]; then echo "error: Airflow did not become healthy in 240s ($problem); see $LOG" >&2; exit 1; fi
    echo "Airflow ready in $(( $(date +%s) - started ))s (pid $(cat "$PIDFILE"))"
  fi
  errors="$(airflow dags list-import-errors -o plain 2>/dev/null | grep -v '^No data found' || true)"
  [ -n "$errors" ] && { echo "DAG import errors:"; echo "$errors"; }
  echo "  web UI: $URL  (DAG mastodon_datalake)"
  login
}

stop() {
  if running; then
    pid="$(cat "$PIDFILE")"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "Airflow stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) if running; then p="$(health)"; echo "Airflow running (pid $(cat "$PIDFILE"))${p:+, $p}"; else echo "Airflow stopped"; exit 1; fi ;;
  login) login ;;
  -h|--help|help) sed -n '2,4p' "$0" ;;
  *) echo "usage: $0 start|stop|status|login" >&2; exit 2 ;;
esac
