"""The stage contract (datalake/report.py, STYLE.md): every stage's report is small JSON without a
secret and prints for an operator; one error base whose ``permanent`` fails an Airflow task at once."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from collection.rawzone import DayState
from collection.report import CollectionReport, InstanceReport
from datalake.airflow_support import run_stage
from datalake.errors import ConfigError, DatalakeError, LakeError
from datalake.report import Report, check_report
from datalake.settings import Secret, Settings
from hbase.day_table import day_row
from hbase.errors import LoadError
from hbase.loader import LoadReport, MetricReport, TableReport
from hbase.stage import HBaseReport
from mapreduce.hadoop import MapReduceError
from mapreduce.report import DayReport, JobReport, MapReduceReport
from privacy.errors import ErasureError
from privacy.erasure import ErasureReport
from privacy.reapply import ReapplyReport
from privacy.retention import RetentionReport
from analysis.runner import RunResult

DAY = dt.date(2026, 11, 18)
TOKEN, KEY, HOOK = "tok-secret-123", "pseudonym-secret-456", "https://hooks.example/T0/B1/secret-789"
SETTINGS = Settings(access_token=Secret(TOKEN), pseudonym_key=Secret(KEY), alert_webhook=Secret(HOOK))


def _collection() -> CollectionReport:
    start = dt.datetime(2026, 11, 18, tzinfo=dt.timezone.utc)
    instance = InstanceReport("alpha.example", "https://alpha.example", interval_start=start,
                              interval_end=start + dt.timedelta(days=1), window_start=start - dt.timedelta(days=1),
                              open_days=[DAY - dt.timedelta(days=1), DAY], pages=12, statuses_written=400,
                              days_touched={DAY})
    instance.day_states[DAY] = DayState("alpha.example", "https://alpha.example", DAY, "complete", "", 400, "now")
    failed = InstanceReport(None, "https://beta.example", error="instance https://beta.example: refused",
                            permanent=True, interval_start=start)
    return CollectionReport([DAY], [instance, failed])


def _mapreduce() -> MapReduceReport:
    job = JobReport("curate", "succeeded", "/datalake/curated/statuses/dt=2026-11-18", 3.2,
                    {"datalake": {"raw_lines": 10, "curated_statuses": 8}})
    return MapReduceReport([DayReport(DAY, "local", [job, JobReport("tags", "failed", "/x", error="tags: boom")])])


def _hbase() -> HBaseReport:
    load = LoadReport(DAY, [MetricReport("languages", "/agg", 3, 1, [TableReport("language_table", rows=3,
                                                                                 daily_cells=3)])])
    row = day_row(DAY, ["https://alpha.example"], [{"instance": "alpha.example", "base_url": "https://alpha.example",
                                                     "state": "complete", "statuses": 5}], 5)
    return HBaseReport([load], [row])


REPORTS = {
    "collection": _collection,
    "mapreduce": _mapreduce,
    "hbase": _hbase,
    "privacy erasure": lambda: ErasureReport("ann@alpha.example", "3f9a0c1d2e4b5a69", "erasure entry 0123456789ab",
                                             dry_run=True),
    "privacy reapply": lambda: ReapplyReport([DAY], entries=1),
    "privacy retention": lambda: RetentionReport(today=DAY, retention_days=30, dry_run=False),
    "analysis": lambda: RunResult(Path("/out/2026-11-18"), Path("/out/a.ipynb"), Path("/out/a.html")),
}


@pytest.mark.parametrize("make", REPORTS.values(), ids=REPORTS.keys())
def test_every_stage_report_round_trips_as_small_json_without_secrets_and_prints(make):
    report = make()
    assert isinstance(report, Report)
    document = check_report(report, *SETTINGS.secrets())
    assert json.loads(json.dumps(document)) == document
    text = report.format()
    assert text.strip() and not any(secret in text for secret in SETTINGS.secrets())


def test_check_report_refuses_a_secret_or_a_huge_report():
    class Leaky:
        def to_dict(self):
            return {"token": TOKEN}

        def format(self):
            return ""

    class Huge(Leaky):
        def to_dict(self):
            return {"lines": ["x" * 1000] * 100}

    with pytest.raises(ValueError, match="secret"):
        check_report(Leaky(), TOKEN)
    with pytest.raises(ValueError, match="too large"):
        check_report(Huge())


def test_the_settings_name_every_secret_and_never_show_one():
    settings = SETTINGS.with_overrides(access_tokens=(("beta.example", Secret("tok-beta")),))
    assert set(settings.secrets()) == {TOKEN, KEY, HOOK, "tok-beta"}
    assert not any(secret in repr(settings) for secret in settings.secrets())


@pytest.mark.parametrize("error, permanent", [
    (ConfigError("MASTODON_MAX_PAGES=x is not an integer"), True),
    (LakeError("HDFS down"), False),
    (LoadError("HBase down"), False),
    (MapReduceError("unknown metric", permanent=True), True),
    (MapReduceError("a job failed"), False),
    (ErasureError("not a handle", permanent=True), True),
    (DatalakeError("instance x: refused", permanent=True), True),
])
def test_a_permanent_error_in_any_stage_fails_the_task_at_once_others_are_retried(error, permanent):
    from airflow.sdk.exceptions import AirflowFailException

    def stage(settings, days):
        raise error

    expected = AirflowFailException if permanent else type(error)
    with pytest.raises(expected) as raised:
        run_stage(SETTINGS, stage, [DAY])
    assert str(error) in str(raised.value)


def test_a_report_with_failures_prints_then_raises_what_failed(capsys):
    with pytest.raises(MapReduceError, match="tags: boom"):
        run_stage(SETTINGS, lambda settings, days: _mapreduce(), [DAY])
    assert "curate" in capsys.readouterr().out  # what did complete is in the task log
    with pytest.raises(AirflowFailException_type()):
        run_stage(SETTINGS, lambda settings, days: _collection(), [DAY])  # the failed instance was a refusal


def AirflowFailException_type():  # noqa: N802 - imported lazily: Airflow is heavy
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException
