"""The Airflow DAG end to end with `airflow dags test`: stand-in federation → HDFS → MapReduce → HBase.

Every HBase cell is compared with values computed from the stand-in's data by
tests/integration/expected_metrics.py (not by the project's metric code).

* Three consecutive daily runs on a federation where half of the federated copies arrive late
  (arrival ids and backdated ids): every status counted once on its created_at day, no raw
  duplicate, each run recomputing the days it touched; a rerun of a day changes nothing.
* A missed day (a run, no run the next day, a run the day after): the gap is filled and whole.
* Per-instance tokens from Airflow Connections: each instance receives only its own, and no token
  appears in the output, the Airflow home or the lake.

tests/integration/test_dag_server.py runs the DAG on a real `airflow standalone` (REST API, web UI,
Connections changed through the API, assets, backfill, refused instances and max_pages stops).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
from pathlib import Path

import happybase
import pytest

from collection.standin import Federation
from tests.conftest import RUN_ID
from tests.integration import expected_metrics
from tests.integration.airflow_harness import airflow_env, dags_test, migrate_db
from tests.integration.dag_checks import DOMAINS, served
from tests.integration.dag_checks import assert_cells_match as _assert_cells_match
from tests.integration.dag_checks import drop_tables as _drop_tables
from tests.integration.dag_checks import dump_tables as _dump
from tests.integration.dag_checks import lake_env as _lake_env

TODAY = dt.datetime.now(dt.timezone.utc).date()
DAY1, DAY2, DAY3 = (TODAY - dt.timedelta(days=back) for back in (3, 2, 1))
SCREENSHOTS = Path(os.environ.get("DATALAKE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "var" / "test-artifacts"))


@pytest.fixture(scope="module")
def federation():
    """Half of the federated (remote) copies arrive late: a quarter with ids of their arrival, a
    quarter backdated, up to 20 hours after their created_at."""
    return Federation(seed=2026, domains=DOMAINS, start=DAY1, days=3, statuses_per_day=150, accounts_per_instance=25,
                      late_share=0.25, backdated_share=0.25, max_delay_hours=20)


def run_time(day: dt.date) -> dt.datetime:
    """When the daily run of ``day`` happens: five minutes after the day ended (the stand-in's clock)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 5), tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def running(federation):
    with federation.serve(now=run_time(DAY1)) as servers:
        yield servers


def _expected(settings, federation, days, until, domains=DOMAINS) -> dict:
    """The cells of ``days`` as the stand-in served them by ``until`` (one moment, or one per day)."""
    key = settings.require_pseudonym_key()
    moments = until if isinstance(until, dict) else {day: until for day in days}
    return expected_metrics.expected_cells(
        {day.isoformat(): expected_metrics.day_metrics(served(federation, domains, day, moments[day]), key)
         for day in days})


def _day_rows(settings, prefix: str) -> dict[str, dict]:
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=prefix)
    try:
        return {row.decode(): {column.decode(): value.decode() for column, value in cells.items()}
                for row, cells in connection.table("day_table").scan()}
    finally:
        connection.close()


def _raw_ids(hdfs_client, root: str) -> dict[str, list[str]]:
    """Every raw partition's status ids (all parts), to check that none is held twice."""
    import gzip

    ids: dict[str, list[str]] = {}
    for directory, _, files in hdfs_client.walk(posixpath.join(root, "raw", "mastodon")):
        for name in files:
            if name.startswith("part-"):
                with hdfs_client.read(posixpath.join(directory, name)) as reader:
                    lines = gzip.decompress(reader.read()).splitlines()
                ids.setdefault(directory, []).extend(json.loads(line)["id"] for line in lines)
    return ids


def _run(env, running, day: dt.date, conf: dict, log, now: dt.datetime | None = None) -> str:
    """The daily run of ``day``, at its time (or ``now``): logical date day + 1 (its interval is [day, day + 1))."""
    running.set_now(now or run_time(day))
    result = dags_test(env, (day + dt.timedelta(days=1)).isoformat(), conf, log)
    assert result.returncode == 0 and "state=success" in result.output, \
        f"run for {day} failed; see {log}\n{result.output[-3000:]}"
    return result.output


def _processed(output: str) -> list[str]:
    """The days the run's plan task chose (it prints them)."""
    lines = [line for line in output.splitlines() if "days to process: " in line]
    assert lines, "the plan task printed no days"
    return lines[-1].split("days to process: ", 1)[1].strip().split(", ")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    return tmp_path_factory.mktemp("airflow-dags-test")


def test_three_days_with_late_statuses_count_each_once_on_its_day_and_a_rerun_changes_nothing(
        settings, federation, running, airflow_home, hdfs_client):
    lake = _lake_env(settings, "late")
    env = airflow_env(airflow_home, lake)
    log = airflow_home / "dags-test-late.log"
    migrate_db(env, log)
    conf = {"instances": sorted(running.urls.values()), "max_pages": 500}
    prefix = lake["HBASE_TABLE_PREFIX"]
    try:
        processed = [_processed(_run(env, running, day, conf, log)) for day in (DAY1, DAY2, DAY3)]
        # each run recomputed its own day and the day before, which its late statuses touched
        assert processed == [[DAY1.isoformat()], [DAY1.isoformat(), DAY2.isoformat()],
                             [DAY2.isoformat(), DAY3.isoformat()]]
        final = run_time(DAY3)
        late = sum(len(federation.raw_statuses(domain, DAY1, until=final))
                   - len(federation.raw_statuses(domain, DAY1, until=run_time(DAY1))) for domain in DOMAINS)
        assert late > 20  # lateness really happened: copies of day 1 that the first run could not see
        after = _dump(settings, prefix)
        expected = _expected(settings, federation, (DAY1, DAY2, DAY3), final)
        # the stand-in's data exercises every rule of the second wave
        assert {b"Web", b"Moshidon", b"feed2toot", b"unknown"} <= set(expected["app_table"])
        assert set(expected["toot_kind_table"]) == {b"all", b"reply", b"sensitive", b"content_warning", b"poll",
                                                    b"bot", b"edited", b"with_link"}
        assert set(expected["sentiment_table"]) == {b"positive", b"neutral", b"negative"}
        assert {b"alpha.example", b"delta.example"} <= set(expected["instance_table"]) and len(expected["hour_table"]) > 20
        _assert_cells_match(after, expected)
        # no handle or username reaches HBase when pseudonymization is on
        handles = {status["account"]["username"].lower() for statuses in (federation.statuses(d, DAY1) for d in DOMAINS)
                   for status in statuses}
        user_rows = {row.decode() for row in after["user_table"]}
        assert all(len(row) == 16 and int(row, 16) >= 0 for row in user_rows) and not user_rows & handles
        duplicates = {partition: len(ids) - len(set(ids)) for partition, ids in _raw_ids(hdfs_client,
                                                                                         lake["DATALAKE_ROOT"]).items()}
        assert duplicates and not any(duplicates.values()), duplicates
        rows = _day_rows(settings, prefix)
        assert sorted(rows) == [day.isoformat() for day in (DAY1, DAY2, DAY3)]
        assert all(row["data:complete"] == "1" for row in rows.values()), rows
        languages = {day: sum(int(cells[f"daily:{day}".encode()]) for cells in after["language_table"].values()
                              if f"daily:{day}".encode() in cells) for day in rows}
        assert {day: int(row["data:statuses"]) for day, row in rows.items()} == languages
        assert set(json.loads(rows[DAY2.isoformat()]["data:instances"])) == set(DOMAINS)

        rerun = _run(env, running, DAY2, conf, log, now=final)  # later: every copy of those days is in
        assert _processed(rerun) == [DAY2.isoformat()]
        assert _dump(settings, prefix) == after
    finally:
        _drop_tables(settings, prefix)
        hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)


def test_a_missed_day_is_filled_by_the_next_run_and_each_instance_gets_only_its_own_token(
        settings, federation, running, airflow_home, hdfs_client):
    from collection.standin.server import token_digest
    from datalake.settings import token_connection_id

    tokens = {domain: f"tok-{RUN_ID}-{domain.split('.')[0]}-s3cr3t" for domain in DOMAINS}
    lake = _lake_env(settings, "missed")
    connections = {f"AIRFLOW_CONN_{token_connection_id(running.url(domain)).upper()}":
                   json.dumps({"conn_type": "generic", "password": token}) for domain, token in tokens.items()}
    home = airflow_home / "missed-home"
    home.mkdir(exist_ok=True)
    env = airflow_env(home, {**lake, **connections, "MASTODON_ACCESS_TOKEN": "not-this-one"})
    log = airflow_home / "dags-test-missed.log"
    migrate_db(env, log)
    for domain, token in tokens.items():  # each instance knows its own token; beta lets nobody in without it
        running.configure(domain, access_token=token)
    running.configure("beta.example", refuse_public=403)
    running.reset_stats()
    conf = {"instances": sorted(running.urls.values()), "max_pages": 500}
    prefix = lake["HBASE_TABLE_PREFIX"]
    try:
        first = _run(env, running, DAY1, conf, log)
        third = _run(env, running, DAY3, conf, log)  # no run for DAY2
        assert _processed(third) == [DAY2.isoformat(), DAY3.isoformat()]
        # DAY1 was final for the third run (older than its lateness window): its late copies are too late
        seen = {DAY1: run_time(DAY1), DAY2: run_time(DAY3), DAY3: run_time(DAY3)}
        _assert_cells_match(_dump(settings, prefix), _expected(settings, federation, (DAY1, DAY2, DAY3), seen))
        rows = _day_rows(settings, prefix)
        assert rows[DAY2.isoformat()]["data:complete"] == "1"

        for domain, own in tokens.items():  # a token went only to the instance that issued it
            assert running.stats(domain)["tokens_seen"] == [token_digest(own)], domain
        for output in (first, third):
            assert not any(token in output for token in tokens.values()) and "not-this-one" not in output
        for path in home.rglob("*"):
            if path.is_file() and path.suffix != ".db":
                data = path.read_bytes()
                assert not any(token.encode() in data for token in tokens.values()), f"a token is in {path}"
        import gzip

        for directory, _, files in hdfs_client.walk(lake["DATALAKE_ROOT"]):
            for name in files:
                with hdfs_client.read(posixpath.join(directory, name)) as reader:
                    data = reader.read()
                if name.endswith(".gz"):
                    data = gzip.decompress(data)
                assert not any(token.encode() in data for token in tokens.values()), f"a token is in {directory}/{name}"
    finally:
        for domain in DOMAINS:
            running.configure(domain, access_token=None)
        running.configure("beta.example", refuse_public=None)
        _drop_tables(settings, prefix)
        hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)
