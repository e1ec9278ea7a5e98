"""Airflow DAG `mastodon_datalake`: collect → curate + metrics (MapReduce) → HBase → erasure list
re-applied → raw retention, once a day.

Wiring only: each task calls one function of the project's packages. The day a run processes
is always the start of its data interval (a cron data-interval timetable: the run at midnight
of day D, or a manual run for logical date D, processes day D-1), never `ds`/`logical_date`.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk import TriggerRule

from datalake.settings import DEFAULT_INSTANCES, parse_instances

DEFAULT_ARGS = {
    "owner": "datalake",
    "retries": int(os.environ.get("DATALAKE_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
}


def _alert(context) -> None:
    from datalake.alerts import alert_task_failure

    alert_task_failure(context)


def _run_settings():
    """Settings from the environment, the run's params and the `mastodon_default` connection."""
    from datalake.airflow_support import settings_for_run

    return settings_for_run(get_current_context())


def _data_interval():
    context = get_current_context()
    return context["data_interval_start"], context["data_interval_end"]


@dag(
    dag_id="mastodon_datalake",
    description="Mastodon public statuses → HDFS lake → MapReduce metrics → HBase",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=os.environ.get("DATALAKE_CATCHUP", "0").lower() in ("1", "true", "yes"),
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_failure_callback=_alert,
    tags=["mastodon", "datalake"],
    params={
        "instances": Param(list(parse_instances(os.environ.get("MASTODON_INSTANCES")) or DEFAULT_INSTANCES),
                           type="array", items={"type": "string"},
                           description="Instance base URLs to collect from"),
        "max_pages": Param(int(os.environ.get("MASTODON_MAX_PAGES", "1000")), type="integer", minimum=1,
                           description="Upper bound of timeline pages per instance"),
    },
    doc_md=__doc__,
)
def mastodon_datalake():
    @task
    def instances() -> list[str]:
        return list(parse_instances(",".join(get_current_context()["params"]["instances"])))

    @task(on_failure_callback=_alert, max_active_tis_per_dag=4)
    def collect(base_url: str) -> dict:
        from airflow.exceptions import AirflowFailException

        from collection.collector import collect_instance
        from collection.errors import CollectionError

        interval_start, interval_end = _data_interval()
        settings = _run_settings()
        try:
            result = collect_instance(settings, base_url, interval_start, interval_end,
                                      max_pages=settings.max_pages)
        except CollectionError as error:
            if error.permanent:  # a refusal: retrying cannot help, the configuration must change
                raise AirflowFailException(str(error)) from None
            raise
        return result.as_dict()

    @task(trigger_rule=TriggerRule.ALL_DONE, on_failure_callback=_alert)
    def compute_metrics() -> dict:
        from mapreduce.pipeline import run_day

        interval_start, _ = _data_interval()
        report = run_day(_run_settings(), interval_start.date())
        print(report.format())
        return {key: value for key, value in report.to_dict().items() if key != "jobs"}

    @task(on_failure_callback=_alert)
    def load_hbase() -> dict:
        from hbase.loader import load_day

        interval_start, _ = _data_interval()
        report = load_day(_run_settings(), interval_start.date())
        print(report.summary())
        return {"day": report.day.isoformat(), "cells": report.cells, "seconds": round(report.seconds, 3)}

    @task(on_failure_callback=_alert)
    def reapply_erasures() -> dict:
        from datalake.erasure import reapply_erasures as reapply

        interval_start, _ = _data_interval()
        report = reapply(_run_settings(), interval_start.date())
        print(report.format())
        return report.to_dict()

    # the last task (the run's state is its leaf's): after a failed run it does not run, and the next
    # run deletes everything past the cutoff, so nothing is kept longer than one extra day
    @task(on_failure_callback=_alert)
    def apply_retention() -> dict:
        from datalake.retention import apply_raw_retention

        _, interval_end = _data_interval()
        report = apply_raw_retention(_run_settings(), interval_end.date())
        print(report.format())
        return report.to_dict()

    collected = collect.expand(base_url=instances())
    computed = compute_metrics()
    collected >> computed >> load_hbase() >> reapply_erasures() >> apply_retention()


mastodon_datalake()
