"""The Airflow DAG end to end on the multi-node cluster, reached by configuration alone.

The same run as tests/integration/test_dag.py (stand-in federation → HDFS → MapReduce on YARN →
HBase, `airflow dags test` for two days, every HBase cell compared with what
tests/integration/expected_metrics.py computes from the stand-in's data), then what makes it a
cluster run: every block of the lake on both DataNodes, the tables' regions on both region
servers, the MapReduce jobs' containers on both NodeManagers. The cluster-specific checks are
the helpers at the top (``assert_on_every_node``), so that the test follows the DAG as it changes.
"""
from __future__ import annotations

import datetime as dt
import time

import happybase
import pytest

from collection.standin import Federation
from tests.cluster import nodes
from tests.integration import expected_metrics
from tests.integration.airflow_harness import airflow_env, dags_test, migrate_db
from tests.integration.dag_checks import DOMAINS, assert_cells_match, drop_tables, dump_tables, lake_env, served

TODAY = dt.datetime.now(dt.timezone.utc).date()
DAY1, DAY2 = TODAY - dt.timedelta(days=2), TODAY - dt.timedelta(days=1)


# ---------------------------------------------------------------------------- cluster-specific checks

def assert_blocks_on_every_datanode(settings, hdfs_client, root: str) -> None:
    blocks = nodes.lake_blocks(hdfs_client, settings, root)
    per_datanode = nodes.blocks_per_datanode(blocks)
    print(f"{root}: {sum(len(file_blocks) for file_blocks in blocks.values())} blocks in {len(blocks)} files; "
          f"replicas per DataNode {dict(per_datanode)}")
    assert blocks, f"no file under {root}"
    assert nodes.under_replicated(blocks) == []
    assert set(per_datanode) == nodes.hosts("datanode")


def assert_regions_on_every_regionserver(settings, prefix: str) -> None:
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=prefix)
    try:
        tables = [name.decode() for name in connection.tables()]
        per_server = nodes.regions_per_server(connection, tables)
    finally:
        connection.close()
    print(f"{len(tables)} tables {prefix}_*: regions per region server {dict(per_server)}")
    assert set(per_server) == nodes.hosts("regionserver")


def assert_jobs_on_every_nodemanager(started: float) -> None:
    apps = nodes.applications_since(started)
    assert apps, "no MapReduce application on the cluster's ResourceManager"
    assert {(app["state"], app["finalStatus"]) for app in apps} == {("FINISHED", "SUCCEEDED")}, \
        [(app["name"], app["state"], app["finalStatus"]) for app in apps]
    per_nodemanager = nodes.containers_per_nodemanager(apps)
    print(f"{len(apps)} MapReduce applications; containers per NodeManager {dict(per_nodemanager)}")
    assert set(per_nodemanager) == nodes.hosts("nodemanager")


def assert_on_every_node(settings, hdfs_client, lake: dict[str, str], started: float) -> None:
    assert_blocks_on_every_datanode(settings, hdfs_client, lake["DATALAKE_ROOT"])
    assert_regions_on_every_regionserver(settings, lake["HBASE_TABLE_PREFIX"])
    assert_jobs_on_every_nodemanager(started)


# ---------------------------------------------------------------------------- runs

@pytest.fixture(scope="module")
def federation():
    return Federation(seed=2026, domains=DOMAINS, start=DAY1, days=2, statuses_per_day=150, accounts_per_instance=25)


@pytest.fixture(scope="module")
def running(federation):
    now = dt.datetime.combine(TODAY, dt.time(0, 5), tzinfo=dt.timezone.utc)
    with federation.serve(now=now) as servers:
        yield servers


def run_day(env: dict, day: dt.date, running, log, on_line=None):
    """The DAG run for ``day`` (logical date the day after: it processes its data interval's start)."""
    conf = {"instances": sorted(running.urls.values()), "max_pages": 500}
    return dags_test(env, (day + dt.timedelta(days=1)).isoformat(), conf, log, on_line=on_line)


def succeeded(result) -> bool:
    return result.returncode == 0 and "state=success" in result.output


def expected_cells(settings, federation, days) -> dict:
    key = settings.require_pseudonym_key()
    return expected_metrics.expected_cells(
        {day.isoformat(): expected_metrics.day_metrics(served(federation, DOMAINS, day), key) for day in days})


def test_two_days_on_the_cluster_match_independent_computation_on_every_node(settings, federation, running,
                                                                            tmp_path_factory, hdfs_client):
    home = tmp_path_factory.mktemp("airflow-cluster-e2e")
    lake = lake_env(settings, "e2e", framework="yarn")
    env, log = airflow_env(home, lake), home / "dags-test.log"
    migrate_db(env, log)
    started = time.time()
    try:
        for day in (DAY1, DAY2):
            day_started = time.monotonic()
            result = run_day(env, day, running, log)
            assert succeeded(result), f"run for {day} failed; see {log}\n{result.output[-3000:]}"
            print(f"DAG run for {day} on the cluster: {time.monotonic() - day_started:.0f} s")
        assert_cells_match(dump_tables(settings, lake["HBASE_TABLE_PREFIX"]), expected_cells(settings, federation,
                                                                                             (DAY1, DAY2)))
        assert_on_every_node(settings, hdfs_client, lake, started)
    finally:
        drop_tables(settings, lake["HBASE_TABLE_PREFIX"])
        hdfs_client.delete(lake["DATALAKE_ROOT"], recursive=True)
