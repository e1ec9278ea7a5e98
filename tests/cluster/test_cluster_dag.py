"""The Airflow DAG end to end on the multi-node cluster, reached by configuration alone, and
the cluster's faults, on one lake over two days (one DAG run each: the whole file must stay
within the cluster tests' budget on a 2-core machine):

1. Day 1, as tests/integration/test_dag.py runs it (stand-in federation → HDFS → MapReduce on
   YARN → HBase, `airflow dags test`): every HBase cell equals what
   tests/integration/expected_metrics.py computes from the stand-in's data, and it is a cluster
   run: every block of the lake on both DataNodes, the tables' regions on both region servers,
   the MapReduce jobs' containers on both NodeManagers.
2. The NameNode restarted between the two days loses nothing (every file, checksum and cell).
3. Day 2 with faults: a DataNode is killed (SIGKILL) once a MapReduce job runs and the region
   server holding hbase:meta as the HBase load starts; the run, or its retry on the crippled
   cluster, ends with HBase equal to the computation of both days; once the nodes are back,
   every block has its two replicas again.

The cluster-specific checks are the helpers at the top (``assert_on_every_node``) and in
tests/cluster/nodes.py, so that the tests follow the DAG as it changes.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import happybase
import pytest

from tests.cluster import nodes
from tests.integration import expected_metrics
from tests.integration.airflow_harness import airflow_env, dags_test, migrate_db
from tests.integration.dag_checks import (DAY1, DAY2, DOMAINS, assert_cells_match, drop_tables, dump_tables,
                                          federation, lake_env, running, served)  # noqa: F401 - fixtures



# ---------------------------------------------------------------------------- cluster-specific checks

def assert_blocks_on_every_datanode(settings, hdfs_client, root: str) -> None:
    blocks = nodes.lake_blocks(hdfs_client, settings, root)
    per_datanode = nodes.blocks_per_datanode(blocks)
    print(f"{root}: {sum(len(file_blocks) for file_blocks in blocks.values())} blocks in {len(blocks)} files; "
          f"replicas per DataNode {dict(per_datanode)}")
    assert blocks, f"no file under {root}"
    assert nodes.under_replicated(blocks) == []
    assert set(per_datanode) == nodes.hosts("datanode")


def assert_regions_on_every_regionserver(settings, prefix: str, wait: float = 0) -> None:
    """The tables' regions on both region servers; ``wait``: seconds the master's balancer gets to
    give a region server that came back its share again."""
    def per_server():
        connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=prefix)
        try:
            tables = [name.decode() for name in connection.tables()]
            found = nodes.regions_per_server(connection, tables)
        finally:
            connection.close()
        print(f"{len(tables)} tables {prefix}_*: regions per region server {dict(found)}")
        return found if set(found) == nodes.hosts("regionserver") else None

    nodes.wait_until(per_server, wait, "regions on both region servers")


def assert_jobs_on_every_nodemanager(started: float, all_succeeded: bool = True) -> None:
    apps = nodes.applications_since(started)
    assert apps, "no MapReduce application on the cluster's ResourceManager"
    if all_succeeded:
        assert {(app["state"], app["finalStatus"]) for app in apps} == {("FINISHED", "SUCCEEDED")}, \
            [(app["name"], app["state"], app["finalStatus"]) for app in apps]
    per_nodemanager = nodes.containers_per_nodemanager(apps)
    print(f"{len(apps)} MapReduce applications; containers per NodeManager {dict(per_nodemanager)}")
    assert set(per_nodemanager) == nodes.hosts("nodemanager")


def assert_on_every_node(settings, hdfs_client, lake: dict[str, str], started: float, after_crashes: bool = False) -> None:
    """Blocks of the lake on both DataNodes (two replicas each), regions of its tables on both
    region servers, containers of the MapReduce jobs since ``started`` on both NodeManagers.
    ``after_crashes``: nodes came back, the balancer gets two minutes to move regions to them, and
    jobs may have failed (their retry succeeded)."""
    assert_blocks_on_every_datanode(settings, hdfs_client, lake["DATALAKE_ROOT"])
    assert_regions_on_every_regionserver(settings, lake["HBASE_TABLE_PREFIX"], wait=120 if after_crashes else 0)
    assert_jobs_on_every_nodemanager(started, all_succeeded=not after_crashes)


# ---------------------------------------------------------------------------- runs


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


def lake_files(client, root: str) -> dict[str, tuple[int, str]]:
    """Every file under ``root`` with its length and HDFS checksum (the DataNodes' block MD5s)."""
    files = {}
    for directory, _, names in client.walk(root):
        for name in names:
            path = posixpath.join(directory, name)
            files[path] = (client.status(path)["length"], client.checksum(path)["bytes"])
    return files


@dataclass
class Lake:
    """The lake the tests of this file build day after day, and what they did to it."""

    env: dict
    names: dict
    log: Path
    started: float
    days: list = field(default_factory=list)

    def require(self, day: dt.date) -> None:
        if day not in self.days:
            pytest.fail(f"the run for {day} did not succeed (an earlier test of this file): nothing to check")


@pytest.fixture(scope="module")
def lake(settings, hdfs_client, tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-cluster")
    names = lake_env(settings, "cluster", framework="yarn")
    built = Lake(env=airflow_env(home, names), names=names, log=home / "dags-test.log", started=time.time())
    migrate_db(built.env, built.log)
    yield built
    drop_tables(settings, names["HBASE_TABLE_PREFIX"])
    hdfs_client.delete(names["DATALAKE_ROOT"], recursive=True)


def test_day1_matches_the_independent_computation_and_ran_on_every_node(settings, federation, running, lake,
                                                                       hdfs_client):
    day_started = time.monotonic()
    result = run_day(lake.env, DAY1, running, lake.log)
    assert succeeded(result), f"run for {DAY1} failed; see {lake.log}\n{result.output[-3000:]}"
    print(f"DAG run for {DAY1} on the cluster: {time.monotonic() - day_started:.0f} s")
    lake.days.append(DAY1)
    assert_cells_match(dump_tables(settings, lake.names["HBASE_TABLE_PREFIX"]),
                       expected_cells(settings, federation, (DAY1,)))
    assert_on_every_node(settings, hdfs_client, lake.names, lake.started)


def test_namenode_restarted_between_two_days_loses_nothing(settings, lake, hdfs_client):
    lake.require(DAY1)
    files, cells = lake_files(hdfs_client, lake.names["DATALAKE_ROOT"]), dump_tables(settings, lake.names["HBASE_TABLE_PREFIX"])
    restarted = time.monotonic()
    nodes.restart_namenode()
    print(f"NameNode restarted (active, out of safe mode, both DataNodes back) in {time.monotonic() - restarted:.0f} s")
    retried = nodes.wait_for_reads(hdfs_client, lake.names["DATALAKE_ROOT"])
    print(f"reads of every file work {time.monotonic() - restarted:.0f} s after the restart; "
          f"{len(retried)} pass(es) failed before: {retried[:2]}")
    assert lake_files(hdfs_client, lake.names["DATALAKE_ROOT"]) == files
    assert dump_tables(settings, lake.names["HBASE_TABLE_PREFIX"]) == cells


class Crashes:
    """Kills a DataNode once the run's first MapReduce application runs, and the region server
    holding hbase:meta as the run's HBase load starts: fed the run's output line by line."""

    def __init__(self, settings, since: float):
        self.settings, self.since = settings, since
        self.killed: dict[str, float] = {}
        self.errors: list[str] = []
        self.watching = False

    def __call__(self, line: str) -> None:
        if "MapReduce stage for" in line and not self.watching:
            self.watching = True
            threading.Thread(target=self._kill_datanode_when_a_job_runs, daemon=True).start()
        elif "starting task_id=load_hbase" in line and not any(name.startswith("regionserver") for name in self.killed):
            meta = self._meta_host()
            self._kill(next(node.name for node in nodes.stackctl.cluster_nodes("regionserver") if node.host == meta))

    def _kill_datanode_when_a_job_runs(self) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if any(app["state"] == "RUNNING" for app in nodes.applications_since(self.since)):
                return self._kill("datanode2")
            time.sleep(1)
        self.errors.append("no MapReduce application ran within 600 s")

    def _meta_host(self) -> str:
        connection = happybase.Connection(self.settings.hbase_host, self.settings.hbase_port)
        try:
            return connection.table("hbase:meta").regions()[0]["server_name"].decode()
        finally:
            connection.close()

    def _kill(self, name: str) -> None:
        try:
            nodes.kill(name)
            self.killed[name] = time.monotonic()
            print(f"SIGKILL {name}", flush=True)
        except Exception as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.errors.append(f"killing {name}: {error}")


def test_day2_with_a_datanode_and_a_regionserver_killed_mid_run_matches_the_computation(settings, federation,
                                                                                       running, lake, hdfs_client):
    lake.require(DAY1)
    crashes = Crashes(settings, time.time())
    try:
        day_started = time.monotonic()
        result = run_day(lake.env, DAY2, running, lake.log, on_line=crashes)
        if not succeeded(result):  # the retry, on the cluster as the crashes left it (or crashing it now)
            print(f"the run with the crashes failed; retrying it (see {lake.log})")
            result = run_day(lake.env, DAY2, running, lake.log, on_line=crashes)
        assert not crashes.errors, crashes.errors
        assert "datanode2" in crashes.killed and len(crashes.killed) == 2, crashes.killed
        assert succeeded(result), f"run for {DAY2} and its retry failed; see {lake.log}\n{result.output[-3000:]}"
        print(f"DAG run for {DAY2} with the crashes: {time.monotonic() - day_started:.0f} s")
        assert_cells_match(dump_tables(settings, lake.names["HBASE_TABLE_PREFIX"]),
                           expected_cells(settings, federation, (DAY1, DAY2)))
        # the crashed nodes come back; HDFS re-replicates what was written while one was down
        nodes.restart(*crashes.killed)
        restarted = time.monotonic()
        try:
            nodes.wait_until(lambda: not nodes.under_replicated(
                nodes.lake_blocks(hdfs_client, settings, lake.names["DATALAKE_ROOT"])), 180,
                "every block of the lake on both DataNodes again")
        except AssertionError as error:
            missing = nodes.under_replicated(nodes.lake_blocks(hdfs_client, settings, lake.names["DATALAKE_ROOT"]))
            raise AssertionError(f"{error}: {len(missing)} block(s) on one DataNode, e.g. {missing[:3]}; the "
                                 f"NameNode says {nodes.replication_state()}") from None
        print(f"every block on both DataNodes {time.monotonic() - restarted:.0f} s after the restart")
        assert_on_every_node(settings, hdfs_client, lake.names, lake.started, after_crashes=True)
    finally:
        nodes.restart(*crashes.killed)
