"""What the DAGs need from Airflow at run time: the run's settings, and one way to run a stage.

Imported only by dags/ (it imports Airflow lazily, and no stage: each DAG task hands it the stage
function to call). Configuration, in this order of precedence:

* the run's params (``instances``, ``max_pages``) over the environment;
* Airflow Connections over the environment, so an operator changes them in the web UI:
  ``webhdfs_default`` (host, port, login = HDFS user) → DATALAKE_WEBHDFS_URL/DATALAKE_HDFS_USER,
  ``hbase_default`` (host, port) → HBASE_THRIFT_HOST/PORT, ``mastodon_<host>`` (password, or
  extra ``token``) → that instance's token, and ``mastodon_default`` → the token of a single
  configured instance. Outside Airflow the environment alone is used.
"""
from __future__ import annotations

import logging

from datalake.errors import DatalakeError
from datalake.report import check_report
from datalake.settings import Secret, Settings, instance_host, parse_instances, token_connection_id

log = logging.getLogger(__name__)
TOKEN_CONNECTION_ID = "mastodon_default"
WEBHDFS_CONNECTION_ID = "webhdfs_default"
HBASE_CONNECTION_ID = "hbase_default"


def connection(conn_id: str):
    """An Airflow Connection, or None when it is not defined."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - "not defined" has several exception types across versions
        return None


def token_from_connection(conn_id: str) -> str | None:
    """The token stored in a Connection (password, or extra ``token``), if one exists."""
    found = connection(conn_id)
    if found is None:
        return None
    return found.password or (found.extra_dejson or {}).get("token") or None


def settings_for_run(context) -> Settings:
    """Settings from the environment, the run's params and the Airflow Connections (module docstring)."""
    settings = Settings.from_env()
    params = context.get("params") or {}
    changes: dict = {}
    if params.get("instances"):
        changes["instances"] = parse_instances(",".join(params["instances"]))
    if params.get("max_pages"):
        changes["max_pages"] = int(params["max_pages"])
    instances = changes.get("instances", settings.instances)
    tokens = dict(settings.access_tokens)
    for url in instances:
        token = token_from_connection(token_connection_id(url))
        if token:
            tokens[instance_host(url)] = Secret(token)
    changes["access_tokens"] = tuple(sorted(tokens.items()))
    single = token_from_connection(TOKEN_CONNECTION_ID)
    if single:
        changes["access_token"] = Secret(single)
    webhdfs = connection(WEBHDFS_CONNECTION_ID)
    if webhdfs is not None and webhdfs.host:
        scheme = webhdfs.schema or "http"
        changes["webhdfs_url"] = f"{scheme}://{webhdfs.host}:{webhdfs.port or 9870}"
        if webhdfs.login:
            changes["hdfs_user"] = webhdfs.login
    hbase = connection(HBASE_CONNECTION_ID)
    if hbase is not None and hbase.host:
        changes["hbase_host"] = hbase.host
        changes["hbase_port"] = int(hbase.port or 9090)
    return settings.with_overrides(**changes)


def run_stage(settings: Settings, stage, *args, **kwargs) -> dict:
    """Call a stage function, print its report for the task log, return its XCom-safe dict.

    The one place where the project's errors meet Airflow's: a permanent error (a refusal, a
    configuration error) fails the task at once, without its retries; any other is raised for
    Airflow to retry. A report whose ``raise_for_failures`` finds a failure raises it after
    the report was printed, so the log shows what did complete.
    """
    from airflow.sdk.exceptions import AirflowFailException

    try:
        report = stage(settings, *args, **kwargs)
        print(report.format())
        document = check_report(report, *settings.secrets())
        if hasattr(report, "raise_for_failures"):
            report.raise_for_failures()
    except DatalakeError as error:
        if error.permanent:
            raise AirflowFailException(str(error)) from None
        raise
    return document


#: the HBase tables load_hbase writes, declared as Airflow assets (what mastodon_analysis waits for)
ASSET_TABLES = ("language_table", "user_table", "croissance_table", "url_table", "toot_with_media_table",
                "tag_table", "emoji_table", "day_table")


def table_assets(settings: Settings) -> list:
    """One Airflow asset per HBase table of the lake (named by the Thrift host and table prefix)."""
    from airflow.sdk import Asset

    return [Asset(name=f"hbase_{settings.table_prefix}{table}",
                  uri=f"hbase://{settings.hbase_host}:{settings.hbase_port}/{settings.table_prefix}{table}")
            for table in ASSET_TABLES]


def default_args(settings: Settings) -> dict:
    """Retries with exponential backoff, and a timeout for every task (DATALAKE_TASK_RETRIES/_TIMEOUT)."""
    from datetime import timedelta

    return {"owner": "datalake", "retries": settings.task_retries, "retry_delay": timedelta(minutes=1),
            "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=15),
            "execution_timeout": timedelta(minutes=settings.task_timeout_minutes)}


def alert(context) -> None:
    """The failure callback of every task: a log line and the webhook (datalake/alerts.py)."""
    from datalake.alerts import alert_task_failure

    alert_task_failure(context)


def stage_task(stage, *args, **kwargs) -> dict:
    """Inside a task: the run's settings (from its context), then :func:`run_stage`."""
    from airflow.sdk import get_current_context

    return run_stage(settings_for_run(get_current_context()), stage, *args, **kwargs)
