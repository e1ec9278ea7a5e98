"""The Parquet copy of the curated zone and `python -m analysis sql`, on the real stack.

A generated day (tests/fixtures/mapreduce/rawday.py) goes through the MapReduce stage; its
Parquet partition must hold exactly the curated records (the same records, field for field) with
the documented schema, read by DuckDB through WebHDFS and by pandas (the README's one-liner);
a recomputed day rewrites it; the command line answers a known query on a known day.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.sql import QueryError, run_query
from datalake.lake import layout, list_files
from datalake.settings import REPO_ROOT, Secret
from mapreduce import parquet
from mapreduce.pipeline import run_day
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs

KEY = "parquet-secret-41c2"
DAY = dt.date(2026, 11, 18)
EMPTY_DAY = dt.date(2026, 11, 19)


@pytest.fixture(scope="module")
def lake_settings(settings):
    return settings.with_overrides(root=settings.root + "-parquet", mr_framework="local", pseudonymize=True,
                                   pseudonym_key=Secret(KEY))


@pytest.fixture(scope="module")
def day(lake_settings, hdfs_client):
    generated = generate_day(DAY, 160, pseudonym_key=KEY.encode(), seed=31)
    write_day_to_hdfs(hdfs_client, layout(lake_settings), generated, parts_per_instance=2)
    run_day(lake_settings, DAY, ["languages"])
    run_day(lake_settings, EMPTY_DAY, ["languages"])
    yield generated
    hdfs_client.delete(lake_settings.root, recursive=True)


def _curated(client, lake) -> list[dict]:
    records = []
    for path in list_files(client, lake.curated(DAY)):
        with client.read(path) as reader:
            records += [json.loads(line) for line in reader.read().splitlines()]
    return records


def _parquet_tables(client, lake, day=DAY) -> dict[str, pa.Table]:
    tables = {}
    for path in list_files(client, lake.curated_parquet(day)):
        with client.read(path) as reader:
            tables[path.rsplit("/", 1)[1]] = pq.read_table(io.BytesIO(reader.read()))
    return tables


def _as_curated(row: dict) -> dict:
    """A Parquet row written back the way the curated zone writes it (docs/data-formats.md)."""
    moment = row["created_at"]
    return {**row, "created_at": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"}


def test_the_parquet_partition_holds_exactly_the_curated_records_with_the_schema(day, lake_settings, hdfs_client):
    lake = layout(lake_settings)
    tables = _parquet_tables(hdfs_client, lake)
    assert sorted(tables) == ["part-00000.parquet", "part-00001.parquet"]  # one per curated part
    for table in tables.values():
        assert table.schema.equals(parquet.SCHEMA, check_metadata=False), table.schema
    rows = [_as_curated(row) for table in tables.values() for row in table.to_pylist()]
    curated = _curated(hdfs_client, lake)
    assert len(rows) == len(curated) == day.expected.curated
    assert sorted(rows, key=lambda row: row["uri"]) == sorted(curated, key=lambda record: record["uri"])
    # pseudonymized like the curated zone: no handle, no status url
    assert all(len(row["user"]) == 16 and len(row["uri"]) == 32 for row in rows)


def test_a_day_without_records_has_one_empty_file_with_the_schema(day, lake_settings, hdfs_client):
    tables = _parquet_tables(hdfs_client, layout(lake_settings), EMPTY_DAY)
    assert list(tables) == ["part-00000.parquet"]
    assert tables["part-00000.parquet"].num_rows == 0
    assert tables["part-00000.parquet"].schema.equals(parquet.SCHEMA, check_metadata=False)


def test_duckdb_reads_it_through_webhdfs_with_the_documented_types(day, lake_settings, hdfs_client):
    result = run_query(lake_settings, "SELECT column_name, column_type FROM (DESCRIBE statuses)", DAY, DAY)
    types = dict(result.rows)
    assert types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["tags"] == "VARCHAR[]" and types["followers"] == "BIGINT" and types["reply"] == "BOOLEAN"
    assert types["sentiment_score"] == "DOUBLE" and types["dt"] == "DATE"
    assert list(types) == [*parquet.SCHEMA.names, "dt"]
    uris = run_query(lake_settings, "SELECT uri FROM statuses", DAY, DAY)
    assert sorted(uri for (uri,) in uris.rows) == sorted(record["uri"] for record in _curated(hdfs_client,
                                                                                            layout(lake_settings)))
    languages = run_query(lake_settings, "SELECT language, count(*) FROM statuses GROUP BY language", DAY, DAY)
    assert dict(languages.rows) == dict(day.expected.languages)
    hours = run_query(lake_settings, "SELECT strftime(created_at, '%H'), count(*) FROM statuses GROUP BY 1", DAY, DAY)
    assert dict(hours.rows) == dict(day.expected.hours)  # created_at read as UTC
    both = run_query(lake_settings, "SELECT dt, count(*) FROM statuses GROUP BY dt")
    assert both.partitions == [DAY.isoformat(), EMPTY_DAY.isoformat()]
    assert both.rows == [(DAY, day.expected.curated)]


def test_pandas_reads_it_with_the_one_liner_of_the_readme(day, lake_settings, hdfs_client):
    import pandas as pd

    url = lake_settings.webhdfs_url.replace("http://", "webhdfs://") + layout(lake_settings).curated_parquet_root
    frame = pd.read_parquet(url, storage_options={"user": lake_settings.hdfs_user})
    assert len(frame) == day.expected.curated
    assert str(frame["created_at"].dtype) == "datetime64[ms, UTC]"
    assert set(frame["uri"]) == {record["uri"] for record in _curated(hdfs_client, layout(lake_settings))}
    assert frame.groupby("language").size().to_dict() == dict(day.expected.languages)


def test_sql_errors_are_duckdbs_and_missing_days_say_so(day, lake_settings):
    with pytest.raises(QueryError, match="Catalog Error|does not exist|not found"):
        run_query(lake_settings, "SELECT * FROM no_such_table", DAY, DAY)
    with pytest.raises(Exception, match="no Parquet partition .* for 2026-12-25"):
        run_query(lake_settings, "SELECT 1", dt.date(2026, 12, 25), dt.date(2026, 12, 25))


def _cli(lake_settings, *args):
    env = {**os.environ, "DATALAKE_ROOT": lake_settings.root, "DATALAKE_WEBHDFS_URL": lake_settings.webhdfs_url}
    return subprocess.run([sys.executable, "-m", "analysis", "sql", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_answers_a_known_query_on_a_known_day(day, lake_settings):
    query = "SELECT language, count(*) AS statuses FROM statuses GROUP BY ALL ORDER BY statuses DESC, language"
    as_csv = _cli(lake_settings, query, "--from", DAY.isoformat(), "--to", DAY.isoformat(), "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["language", "statuses"]
    assert {language: int(count) for language, count in rows[1:]} == dict(day.expected.languages)
    table = _cli(lake_settings, query, "--from", DAY.isoformat(), "--to", DAY.isoformat())
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["language", "statuses"] and lines[1].split() == ["varchar", "bigint"]
    assert lines[-1] == f"({len(day.expected.languages)} rows; day {DAY})"
    top_language, top_count = rows[1]
    assert lines[3].split() == [top_language, top_count]

    rows = _cli(lake_settings, "SELECT created_at, tags, application FROM statuses ORDER BY created_at LIMIT 2")
    assert rows.returncode == 0, rows.stderr  # timestamps with a time zone, lists and NULLs print
    body = rows.stdout.splitlines()
    assert body[1].split() == ["timestamp", "with", "time", "zone", "varchar[]", "varchar"]
    assert body[3].startswith(f"{DAY} ") and "+00:00" in body[3] and body[-1] == "(2 rows; days 2026-11-18 to 2026-11-19)"

    bad = _cli(lake_settings, "SELEC 1", "--from", DAY.isoformat(), "--to", DAY.isoformat())
    assert bad.returncode == 1 and "Parser Error" in bad.stderr and "SELEC" in bad.stderr
    none = _cli(lake_settings, "SELECT 1", "--from", "2026-12-25", "--to", "2026-12-26")
    assert none.returncode == 2 and "no Parquet partition" in none.stderr and "2026-12-25 to 2026-12-26" in none.stderr


def test_a_recomputed_day_rewrites_its_parquet_partition(day, lake_settings, hdfs_client):
    lake = layout(lake_settings)
    instance = sorted(day.lines)[0]
    hdfs_client.delete(lake.raw_partition(instance, DAY), recursive=True)  # the day shrinks
    try:
        run_day(lake_settings, DAY, ["languages"])
        rows = [row for table in _parquet_tables(hdfs_client, lake).values() for row in table.to_pylist()]
        curated = _curated(hdfs_client, lake)
        assert 0 < len(rows) == len(curated) < day.expected.curated
        assert {row["uri"] for row in rows} == {record["uri"] for record in curated}
    finally:
        write_day_to_hdfs(hdfs_client, lake, day, parts_per_instance=2)
        run_day(lake_settings, DAY, ["languages"])
