# Source me: `. stack/env.sh` gives a shell with the project's virtualenv, Java 17, HADOOP_HOME,
# HADOOP_CONF_DIR, AIRFLOW_HOME etc. set, so that the CLIs (python -m collection, hadoop fs,
# airflow dags test mastodon_datalake ...) run as README.md shows.
_datalake_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export DATALAKE_HOME="$_datalake_root"
if [ ! -x "$_datalake_root/.venv/bin/python" ]; then
  echo "stack/env.sh: no virtualenv yet; run 'make setup' first." >&2
else
  # shellcheck source=/dev/null
  . "$_datalake_root/.venv/bin/activate"
fi
# shellcheck source=bin/java-env.sh
if _datalake_java="$( . "$_datalake_root/stack/bin/java-env.sh" && echo "$JAVA_HOME")"; then
  export JAVA_HOME="$_datalake_java"
fi
unset _datalake_java
export HADOOP_HOME="${DATALAKE_HADOOP_HOME:-$_datalake_root/.cache/hadoop-home}"
export HADOOP_CONF_DIR="${DATALAKE_HADOOP_CONF_DIR:-$_datalake_root/var/conf/hadoop}"
export HADOOP_LOG_DIR="$_datalake_root/var/log"
export HBASE_CONF_DIR="$_datalake_root/var/conf/hbase"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_datalake_root/var/airflow}"
export PYTHONPATH="$_datalake_root${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$HADOOP_HOME/bin:$PATH"
unset _datalake_root
# Airflow 3: metadata DB (SQLite) and logs under var/airflow, DAGs from dags/, API server and
# web UI on 127.0.0.1:8080, simple auth manager with an `admin` user whose password Airflow
# generates into $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated.
export AIRFLOW__CORE__DAGS_FOLDER="$DATALAKE_HOME/dags"
# SQLite waits up to 60 s for a lock, not pysqlite's 5: a CLI (`airflow backfill create`) writing
# while the scheduler and the DAG processor write gave "database is locked" on a busy machine
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db?timeout=60}"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-True}"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export NO_PROXY="localhost,127.0.0.1${NO_PROXY:+,$NO_PROXY}"
