"""SIGKILL at the boundaries and in the middle of the tasks of a day, then the rerun: the lake and
HBase are exactly those of a run without the fault.

The suite's generated day (tests/faults/conftest.py ``chain_day``, whose clean run of the
MapReduce stage and the HBase load is computed once) is written into a lake of this module's own.
There the same chain runs in a subprocess that is SIGKILLed (its whole process group: the Hadoop
JVMs die with it) at a moment its log shows, then the chain again in this process, as Airflow's retry would; after each kill and rerun, every file
of the lake outside scratch (size and SHA-256, JSON time fields aside) and every HBase cell are
compared with the clean run's. The kills follow each other on the faulted lake, so the later ones
strike a rerun of a day that is already complete, the earlier ones a first run.

Retention is struck the same way, mid-delete, on a lake laid out by hand.
"""
from __future__ import annotations

import datetime as dt
import gzip
import posixpath

import pytest

from datalake.lake import write_atomic
from privacy.retention import apply_raw_retention
from tests.faults.tools import (CHAIN_DAY, Watched, day_chain_code, differences, lake_and_hbase, lake_env,
                                lake_listing, python_command, run_day_chain)

CHAIN = day_chain_code(CHAIN_DAY)

#: (name, the log lines to wait for in turn; SIGKILL at the last): each a moment of the day's chain
KILL_POINTS = [
    ("curate mid-flight", [r"Running job: job_local"]),
    ("between curate and the Parquet copy", [r"curate \d{4}-\d\d-\d\d: \d+ raw lines"]),
    ("between the Parquet copy and the metrics", [r"parquet \d{4}-\d\d-\d\d: \d+ rows"]),
    ("metrics mid-flight", [r"Running job: job_local", r"Running job: job_local"]),
    ("between MapReduce and the HBase load", [r"metrics \d{4}-\d\d-\d\d: \d+ statuses, \d+ metrics in"]),
    ("load mid-day, after its first metric", [r"\w+ / day \d{4}-\d\d-\d\d: [\d,]+ cells in"]),
]


@pytest.fixture(scope="module")
def faulted(chain_day):
    return chain_day.lake("matrix-fault")


@pytest.mark.parametrize("point", KILL_POINTS, ids=[name for name, _ in KILL_POINTS])
def test_a_kill_then_the_rerun_gives_the_clean_runs_lake_and_hbase(chain_day, faulted, hdfs_client, point):
    clean_files, clean_cells = chain_day.clean
    name, patterns = point
    Watched(python_command(CHAIN), env=lake_env(faulted)).kill_after(patterns, name)

    run_day_chain(faulted, CHAIN_DAY)  # the retry
    files, cells = lake_and_hbase(hdfs_client, faulted)
    assert differences(clean_files, files) == [], f"lake after a kill {name} and the rerun"
    assert differences(clean_cells, cells) == [], f"HBase after a kill {name} and the rerun"
    assert len(clean_files) > 20 and sum(len(rows) for rows in clean_cells.values()) > 100


TODAY = dt.date(2026, 12, 1)


def _retention_lake(settings, hdfs_client, name: str):
    lake = settings.with_overrides(root=posixpath.join(settings.root, "faults", f"retention-{name}"))
    for age in range(12, 0, -1):
        day = (TODAY - dt.timedelta(days=age)).isoformat()
        for path in (f"raw/mastodon/instance=alpha.example/dt={day}/part-1-9.jsonl.gz",
                     f"raw/mastodon/instance=beta.example/dt={day}/part-1-2.jsonl.gz",
                     f"quarantine/curate/dt={day}/part-00000", f"curated/statuses/dt={day}/part-00000"):
            write_atomic(hdfs_client, posixpath.join(lake.root, path), gzip.compress(f'{{"day": "{day}"}}\n'.encode(), mtime=0))
    return lake.with_overrides(raw_retention_days=3)


def test_retention_killed_mid_delete_then_rerun_deletes_exactly_what_a_clean_run_does(settings, hdfs_client):
    clean, faulted = (_retention_lake(settings, hdfs_client, name) for name in ("clean", "fault"))
    try:
        apply_raw_retention(clean, TODAY)
        code = f"""
import datetime as dt, logging
from datalake.settings import Settings
from privacy.retention import apply_raw_retention
logging.basicConfig(level=logging.INFO)
apply_raw_retention(Settings.from_env(), dt.date.fromisoformat("{TODAY.isoformat()}"))
"""
        run = Watched(python_command(code), env=lake_env(faulted, DATALAKE_RAW_RETENTION_DAYS="3"))
        try:
            run.wait_for(r"retention: deleted .*instance=beta\.example", timeout=120)  # alpha's gone, beta's going
        finally:
            assert run.kill() == -9, run.output(20)
        half = lake_listing(hdfs_client, faulted.root)
        assert half != lake_listing(hdfs_client, clean.root), "the kill came after retention had finished"
        report = apply_raw_retention(faulted, TODAY)  # the retry
        assert report.deleted and all("instance=alpha.example" not in partition.path for partition in report.deleted)
        assert differences(lake_listing(hdfs_client, clean.root), lake_listing(hdfs_client, faulted.root)) == []
    finally:
        for lake in (clean, faulted):
            hdfs_client.delete(lake.root, recursive=True)
