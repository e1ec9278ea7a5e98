"""Airflow DAG `mastodon_datalake`: collect → plan the days → curate + metrics (MapReduce) → HBase
→ erasure list re-applied → raw retention → finish, once a day.

Wiring only: each task calls one stage function (datalake/airflow_support.run_stage). The days a
run works on are those of its data interval (a cron data-interval timetable: the run at midnight
of day D, or a manual run for logical date D, collects day D-1; never `ds`/`logical_date`) plus
every *pending* day: days whose raw partitions changed since they were loaded (late statuses in
the lateness window, days filled after a missed run, days a failed run left). `finish` fails the
run when any task failed or any processed day is incomplete (day_table says why).
"""
from __future__ import annotations

import datetime as dt
import time
from datetime import datetime, timedelta, timezone

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk import TriggerRule

from datalake.airflow_support import alert, default_args, settings_for_run, stage_task, table_assets
from datalake.settings import Settings

SCHEDULING = Settings.from_env(read_key_file=False)  # parse time: no file read, no secret needed
TABLE_ASSETS = table_assets(SCHEDULING)
TASK_TIMEOUT = timedelta(minutes=SCHEDULING.task_timeout_minutes)


def _settings():
    return settings_for_run(get_current_context())


def _interval_days() -> list[dt.date]:
    context = get_current_context()
    start, end = context["data_interval_start"], context["data_interval_end"]
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _planned_days() -> list[dt.date]:
    """The days `plan` chose (its XCom), or the interval's when it did not run (`airflow tasks test`)."""
    planned = get_current_context()["ti"].xcom_pull(task_ids="plan")
    if not planned:
        return _interval_days()
    return [dt.date.fromisoformat(day) for day in planned["days"]]


@dag(
    dag_id="mastodon_datalake",
    description="Mastodon public statuses → HDFS lake → MapReduce metrics → HBase",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=SCHEDULING.catchup,
    max_active_runs=1,
    default_args=default_args(SCHEDULING),
    on_failure_callback=alert,
    tags=["mastodon", "datalake"],
    params={
        "instances": Param(list(SCHEDULING.instances), type="array", items={"type": "string"},
                           description="Instance base URLs to collect from"),
        "max_pages": Param(SCHEDULING.max_pages, type="integer", minimum=1,
                           description="Upper bound of timeline pages per instance"),
    },
    doc_md=__doc__,
)
def mastodon_datalake():
    @task(on_failure_callback=alert)
    def instances() -> list[str]:
        """The instances of the run, each once and each its own domain (refused before collection)."""
        from collection import check_domains

        settings = _settings()
        check_domains(settings, settings.instances)
        return list(settings.instances)

    @task(on_failure_callback=alert, max_active_tis_per_dag=4)
    def collect(base_url: str) -> dict:
        import collection

        # stop cleanly (the day incomplete) before Airflow's execution_timeout would kill the task
        deadline = time.time() + 0.9 * TASK_TIMEOUT.total_seconds()
        return stage_task(collection.run, _interval_days(), instances=[base_url], deadline=deadline)

    @task(trigger_rule=TriggerRule.ALL_DONE, on_failure_callback=alert)
    def plan() -> dict:
        """The days to process: the interval's, and every pending one up to its end."""
        from datalake.lake import hdfs_client, layout
        from datalake.pending import plan_days

        settings = _settings()
        days, tokens = plan_days(hdfs_client(settings), layout(settings), _interval_days())
        print(f"days to process: {', '.join(map(str, days))}")
        return {"days": [day.isoformat() for day in days],
                "pending": {day.isoformat(): names for day, names in tokens.items()}}

    @task(on_failure_callback=alert)
    def compute_metrics() -> dict:
        import mapreduce

        return stage_task(mapreduce.run, _planned_days())

    @task(on_failure_callback=alert, outlets=TABLE_ASSETS)
    def load_hbase() -> dict:
        import hbase

        planned = get_current_context()["ti"].xcom_pull(task_ids="plan") or {}
        pending = {dt.date.fromisoformat(day): names for day, names in (planned.get("pending") or {}).items()}
        loaded = stage_task(hbase.run, _planned_days(), pending=pending)
        outlet_events = get_current_context()["outlet_events"]
        for asset in TABLE_ASSETS:  # what mastodon_analysis reads: which days this load wrote
            outlet_events[asset].extra = {"days": loaded["days"]}
        return loaded

    @task(on_failure_callback=alert)
    def reapply_erasures() -> dict:
        import privacy

        return stage_task(privacy.run, _planned_days())

    @task(on_failure_callback=alert)
    def apply_retention() -> dict:
        import privacy

        return stage_task(privacy.run_retention, _interval_days())

    @task(on_failure_callback=alert)
    def check_days_complete() -> dict:
        """Fail when a processed day is incomplete: day_table (written by load_hbase) says why."""
        from airflow.sdk.exceptions import AirflowFailException

        loaded = get_current_context()["ti"].xcom_pull(task_ids="load_hbase") or {}
        incomplete = [row for row in loaded.get("day_rows", []) if not row["complete"]]
        for row in incomplete:
            print(f"day {row['day']} incomplete: " + "; ".join(
                f"{name}: {entry['state']}" + (f" ({entry['reason']})" if entry.get("reason") else "")
                for name, entry in sorted(row["instances"].items()) if entry["state"] != "complete"))
        if incomplete:
            raise AirflowFailException(f"incomplete day(s) {', '.join(row['day'] for row in incomplete)} (see above and "
                                       "day_table): a later run completes them")
        return {"complete_days": [row["day"] for row in loaded.get("day_rows", [])]}

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def watcher() -> None:
        """Airflow's watcher pattern: a run's state comes from its leaf tasks, and tasks after a failed
        collect still run (ALL_DONE); this leaf fails the run whenever any task failed."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a task of this run failed (see it in the grid): the run is failed so that it "
                                   "is not taken for a complete one; what did complete is in the lake and HBase")

    listed = instances()
    collected = collect.expand(base_url=listed)
    planned = plan()
    collected >> planned
    computed = compute_metrics()
    loaded = load_hbase()
    reapplied = reapply_erasures()
    retained = apply_retention()
    checked = check_days_complete()
    planned >> computed >> loaded >> reapplied >> retained >> checked
    [listed, collected, planned, computed, loaded, reapplied, retained, checked] >> watcher()


mastodon_datalake()
