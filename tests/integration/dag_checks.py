"""What the end-to-end tests of the DAG share: a lake of their own, HBase read back and compared.

Each run gets its own lake root and table prefix (``lake_env``); ``dump_tables`` reads every
metric table back through Thrift and ``assert_cells_match`` compares it with the cells that
tests/integration/expected_metrics.py computed independently from what the stand-in served.
"""
from __future__ import annotations

import datetime as dt
import json
import os

import happybase
import pytest

from collection.standin import Federation
from hbase import inspect as hbase_inspect

TODAY = dt.datetime.now(dt.timezone.utc).date()
DAY1, DAY2 = TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
TABLES = ("language_table", "user_table", "croissance_table", "url_table", "toot_with_media_table",
          "tag_table", "emoji_table", "app_table", "hour_table", "toot_kind_table", "instance_table", "sentiment_table")


@pytest.fixture(scope="module")
def federation():
    """Two days of three stand-in instances (import the fixture into a test module to use it)."""
    return Federation(seed=2026, domains=DOMAINS, start=DAY1, days=2, statuses_per_day=150, accounts_per_instance=25)


@pytest.fixture(scope="module")
def running(federation):
    """The federation served, its clock just after the end of DAY2."""
    now = dt.datetime.combine(TODAY, dt.time(0, 5), tzinfo=dt.timezone.utc)
    with federation.serve(now=now) as servers:
        yield servers


def lake_env(settings, name: str, framework: str | None = None) -> dict[str, str]:
    """The environment that points a run at this test's own lake root and HBase tables."""
    return {"DATALAKE_ROOT": f"{settings.root}-{name}", "HBASE_TABLE_PREFIX": f"{settings.table_prefix}{name}",
            "DATALAKE_PSEUDONYMIZE": "1",
            "DATALAKE_MR_FRAMEWORK": framework or os.environ.get("DATALAKE_E2E_MR_FRAMEWORK", "local")}


def dump_tables(settings, prefix: str) -> dict:
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=prefix)
    try:
        existing = {name.decode() for name in connection.tables()}
        return {table: dict(connection.table(table).scan()) if table in existing else {} for table in TABLES}
    finally:
        connection.close()


def drop_tables(settings, prefix: str) -> None:
    hbase_inspect.drop_tables(settings.hbase_host, settings.hbase_port, prefix)


def served(federation, domains, day, until=None) -> dict[str, list[bytes]]:
    """What the stand-in served of ``day`` per domain (by ``until``: what had arrived by then)."""
    return {domain: federation.raw_statuses(domain, day, until=until) for domain in domains}


def assert_cells_match(actual: dict, expected: dict) -> None:
    for table in TABLES:
        got_rows, want_rows = actual[table], expected.get(table, {})
        assert set(got_rows) == set(want_rows), f"{table}: rows differ: " \
            f"missing {sorted(set(want_rows) - set(got_rows))[:5]}, extra {sorted(set(got_rows) - set(want_rows))[:5]}"
        for row, want in want_rows.items():
            got = {column: value for column, value in got_rows[row].items()
                   if column.startswith(b"daily:") or column in (b"data:count", b"data:followers", b"data:toots",
                                                                 b"data:engagement_rate")}
            if table == "user_table":
                got = {column: _user_cell(value) if column.startswith(b"daily:") else value
                       for column, value in got.items()}
            assert got == want, f"{table} row {row!r}"


def _user_cell(value: bytes) -> dict:
    cell = json.loads(value)
    return {"followers": cell["followers"], "toots": cell["toots"], "interactions": cell["interactions"],
            "engagement_rate": format(cell["engagement_rate"], ".6f")}
