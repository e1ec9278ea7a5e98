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
( . "$_datalake_root/stack/bin/java-env.sh" ) && export JAVA_HOME="$( . "$_datalake_root/stack/bin/java-env.sh"; echo "$JAVA_HOME")"
export HADOOP_HOME="${DATALAKE_HADOOP_HOME:-$_datalake_root/.cache/hadoop-home}"
export HADOOP_CONF_DIR="${DATALAKE_HADOOP_CONF_DIR:-$_datalake_root/var/conf/hadoop}"
export HADOOP_LOG_DIR="$_datalake_root/var/log"
export HBASE_CONF_DIR="$_datalake_root/var/conf/hbase"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$_datalake_root/var/airflow}"
export PYTHONPATH="$_datalake_root${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$HADOOP_HOME/bin:$PATH"
unset _datalake_root
