"""Airflow DAG `mastodon_analysis`: renders the analysis report whenever `mastodon_datalake` has
loaded HBase, so every successful daily run leaves a fresh report without anyone opening Jupyter.

Scheduled on the HBase tables that `load_hbase` declares as outlets (Airflow assets): each time a
daily run loads them, this DAG runs once and writes the executed notebook, its HTML export and
the charts into `<DATALAKE_REPORT_DIR>/<day>/`, the day being the last one the asset event's run
loaded. Wiring only.
"""
from __future__ import annotations

import datetime as dt
from datetime import datetime, timedelta, timezone

from airflow.sdk import dag, get_current_context, task

from datalake.airflow_support import alert, default_args, stage_task, table_assets
from datalake.settings import Settings

SCHEDULING = Settings.from_env(read_key_file=False)  # parse time: no file read, no secret needed


@dag(
    dag_id="mastodon_analysis",
    description="The analysis report (HTML + PNGs) of the HBase tables, after each daily load",
    schedule=table_assets(SCHEDULING),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={**default_args(SCHEDULING), "retries": 1, "execution_timeout": timedelta(minutes=30)},
    tags=["mastodon", "analysis"],
    doc_md=__doc__,
)
def mastodon_analysis():
    @task(on_failure_callback=alert)
    def render_report() -> dict:
        import analysis

        events = get_current_context().get("triggering_asset_events") or {}
        days = [dt.date.fromisoformat(day) for asset_events in events.values() for event in asset_events
                for day in ((event.extra or {}).get("days") or [])]
        if not days:  # a manual trigger: the report of today's tables, in today's folder
            days = [dt.datetime.now(dt.timezone.utc).date()]
        return stage_task(analysis.run, days)

    render_report()


mastodon_analysis()
