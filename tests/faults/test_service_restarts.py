"""The NameNode, the DataNode and HBase (master and region server, one JVM on the single-node
stack) restarted in the middle of a day's run: the run completes or fails with a message naming
the service, and its retry gives exactly the lake and HBase of a run without the fault.

The chain (the MapReduce stage, then the HBase load) of the suite's generated day
(tests/faults/conftest.py ``chain_day``) runs in a subprocess; at a moment its log
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

import pytest

from tests.faults.tools import (CHAIN_DAY, Watched, day_chain_code, differences, lake_and_hbase, lake_env,
                                python_command, restart_service, run_day_chain, start_service)

#: (service, what a failure's message names, services to wait for after its restart, moment to strike)
RESTARTS = [
    ("namenode", ("NameNode", "HDFS"), ["datanode"], [r"Running job: job_local"]),
    ("datanode", ("DataNode", "HDFS"), [], [r"parquet \d{4}-\d\d-\d\d: \d+ rows", r"Running job: job_local"]),
    ("hbase", ("HBase",), ["thrift"], [r"\w+ / day \d{4}-\d\d-\d\d: [\d,]+ cells in"]),
]


@pytest.fixture(scope="module")
def faulted(chain_day):
    return chain_day.lake("restart-fault")


@pytest.mark.parametrize("restart", RESTARTS, ids=[service for service, *_ in RESTARTS])
def test_a_service_restarted_mid_run_then_the_retry_gives_the_clean_runs_lake_and_hbase(chain_day, faulted, hdfs_client,
                                                                                         restart):
    clean_files, clean_cells = chain_day.clean
    service, names, dependants, patterns = restart
    chain = Watched(python_command(day_chain_code(CHAIN_DAY)), env=lake_env(faulted))
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

    run_day_chain(faulted, CHAIN_DAY)  # the retry
    files, cells = lake_and_hbase(hdfs_client, faulted)
    assert differences(clean_files, files) == [], f"lake after a {service} restart and the retry"
    assert differences(clean_cells, cells) == [], f"HBase after a {service} restart and the retry"
    assert len(clean_files) > 20 and sum(len(rows) for rows in clean_cells.values()) > 100
