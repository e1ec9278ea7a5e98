"""Airflow DAG `mastodon_collect`: collect every configured instance once an hour, up to now, so
that a busy instance's raw zone stays current within the hour and the daily `mastodon_datalake`
run only pages the tail of its day (README, "Busy instances").

Each run collects, per instance, the UTC day its hour ends in (and, from the checkpoint, anything
missed before it), without re-reading the lateness window (the daily run does that when
DATALAKE_LATENESS_REREAD=1). It shares the checkpoints with the daily DAG and never collects an
instance at the same time as it: the collector takes the instance's lock in HDFS
(datalake/locks.py); an hourly run that finds it held skips the instance (the holder collects
what it would have), a daily run waits for it. Each run stops cleanly at the end of its
55-minute slot; the next one continues. Turned on with DATALAKE_HOURLY_COLLECTION=1.
Wiring only.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from datalake.airflow_support import alert, default_args, stage_task
from datalake.settings import Settings

SCHEDULING = Settings.from_env(read_key_file=False)  # parse time: no file read, no secret needed
SLOT = timedelta(minutes=55)


@dag(
    dag_id="mastodon_collect",
    description="Mastodon public statuses → HDFS raw zone, every hour (busy instances)",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=not SCHEDULING.hourly_collection,
    default_args={**default_args(SCHEDULING), "retries": 0, "execution_timeout": SLOT + timedelta(minutes=4)},
    tags=["mastodon", "collection"],
    doc_md=__doc__,
)
def mastodon_collect():
    @task
    def instances() -> list[str]:
        from datalake.airflow_support import settings_for_run

        return list(settings_for_run(get_current_context()).instances)

    @task(on_failure_callback=alert, max_active_tis_per_dag=4)
    def collect(base_url: str) -> dict:
        import collection

        end = get_current_context()["data_interval_end"]
        day = (end - timedelta(microseconds=1)).date()
        return stage_task(collection.catch_up, day, instances=[base_url], deadline=time.time() + SLOT.total_seconds())

    collect.expand(base_url=instances())


mastodon_collect()
