"""The NameNode, the DataNode and HBase (master and region server, one JVM on the single-node
stack) restarted in the middle of a day's run: the run completes or fails with a message naming
the service, and its retry gives exactly the lake and HBase of a run without the fault.

The chain (the MapReduce stage, then the HBase load) runs in a subprocess; at a moment its log
shows, the service is stopped and started again through stack/stackctl.py while the chain goes
on. Each restart strikes a run of the day in the faulted lake (the first a first run, the later
ones a rerun of a complete day); after the chain ends, as it may, the retry runs in this process,
as Airflow's task retry would, and the lake listing (size and SHA-256 of every file outside
scratch) and every HBase cell are compared with the clean lake's. The Thrift server has its own
test (test_thrift_restart_mid_load.py); a DataNode and a RegionServer of the multi-node cluster are
killed in tests/cluster/.

These tests restart the stack's shared services: run them when no other test session uses it.
"""
from __future__ import annotations

import datetime as dt
import posixpath

import pytest

from datalake.lake import layout
from datalake.settings import Secret
from hbase.inspect import drop_tables
from tests.faults.tools import (Watched, day_chain_code, differences, lake_and_hbase, lake_env, python_command,
                                restart_service, run_day_chain, start_service)
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs

KEY = "restarts-key-90d2"
DAY = dt.date(2026, 8, 27)

#: (service, what a failure's message names, services to wait for after its restart, moment to strike)
RESTARTS = [
    ("namenode", ("NameNode",), ["datanode"], [r"Running job: job_local"]),
    ("datanode", ("DataNode",), [], [r"parquet \d{4}-\d\d-\d\d: \d+ rows", r"Running job: job_local"]),
    ("hbase", ("HBase",), ["thrift"], [r"\w+ / day \d{4}-\d\d-\d\d: [\d,]+ cells in"]),
]


def _lake(settings, name: str):
    return settings.with_overrides(root=posixpath.join(settings.root, "faults", f"restart-{name}"),
                                   table_prefix=f"{settings.table_prefix}rs{name}", mr_framework="local",
                                   pseudonymize=True, pseudonym_key=Secret(KEY))


@pytest.fixture(scope="module")
def lakes(settings, hdfs_client):
    clean, faulted = _lake(settings, "clean"), _lake(settings, "fault")
    day = generate_day(DAY, 120, seed=27)
    for lake in (clean, faulted):
        write_day_to_hdfs(hdfs_client, layout(lake), day, parts_per_instance=2)
    run_day_chain(clean, DAY)
    try:
        yield clean, faulted, lake_and_hbase(hdfs_client, clean)
    finally:
        for lake in (clean, faulted):
            drop_tables(lake.hbase_host, lake.hbase_port, lake.table_prefix)
            hdfs_client.delete(lake.root, recursive=True)


@pytest.mark.parametrize("restart", RESTARTS, ids=[service for service, *_ in RESTARTS])
def test_a_service_restarted_mid_run_then_the_retry_gives_the_clean_runs_lake_and_hbase(lakes, hdfs_client, restart):
    clean, faulted, (clean_files, clean_cells) = lakes
    service, names, dependants, patterns = restart
    chain = Watched(python_command(day_chain_code(DAY)), env=lake_env(faulted))
    try:
        for pattern in patterns:
            struck_at = chain.wait_for(pattern, timeout=600)
        away = restart_service(service)
        for dependant in dependants:  # e.g. the DataNode registered again and the NameNode out of safe mode
            start_service(dependant)
        code = chain.wait()
    finally:
        chain.kill()
    print(f"\n{service} restarted at '{struck_at}', away {away:.1f} s; the run ended with code {code}: "
          f"{chain.output(1)}")
    if code != 0:
        error = chain.output(1)  # the traceback's last line: the stage's error
        assert any(name in error for name in names), \
            f"the run failed after a {service} restart without naming it:\n{chain.output(30)}"

    run_day_chain(faulted, DAY)  # the retry
    files, cells = lake_and_hbase(hdfs_client, faulted)
    assert differences(clean_files, files) == [], f"lake after a {service} restart and the retry"
    assert differences(clean_cells, cells) == [], f"HBase after a {service} restart and the retry"
    assert len(clean_files) > 20 and sum(len(rows) for rows in clean_cells.values()) > 100
