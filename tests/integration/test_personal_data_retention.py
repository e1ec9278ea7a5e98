"""Raw retention on the stack's HDFS: the command line, the library, and the DAG's task in Airflow.

A lake is laid out by hand: raw partitions of two instances and quarantine partitions over ten
days, plus everything retention must leave alone (curated, aggregates, the loader's manifests,
a checkpoint, a directory and a file that are not dt= partitions). Each step compares the whole
file listing before and after with what DESIGN says should go.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import posixpath
import subprocess
import sys

import pytest

from datalake.lake import write_atomic
from privacy.retention import apply_raw_retention
from datalake.settings import REPO_ROOT
from tests.integration.airflow_harness import airflow_env, migrate_db

TODAY = dt.date(2026, 12, 1)
DAYS = [TODAY - dt.timedelta(days=age) for age in range(10, 0, -1)]  # 11-21 .. 11-30


def _day(day: dt.date) -> str:
    return f"dt={day.isoformat()}"


@pytest.fixture(scope="module")
def lake(settings, hdfs_client):
    lake = settings.with_overrides(root=f"{settings.root}-retention")
    root = lake.root
    files = []
    for day in DAYS:
        first = day.toordinal() * 10
        files.append(f"raw/mastodon/instance=alpha.example/{_day(day)}/part-{first + 1}-{first + 9}.jsonl.gz")
        if day >= TODAY - dt.timedelta(days=5):
            files.append(f"raw/mastodon/instance=beta.example/{_day(day)}/part-{first + 1}-{first + 2}.jsonl.gz")
        files += [f"quarantine/curate/{_day(day)}/part-00000", f"curated/statuses/{_day(day)}/part-00000",
                  f"aggregates/languages/{_day(day)}/part-00000", f"state/hbase/languages/{_day(day)}.json"]
    files += ["raw/mastodon/instance=alpha.example/dt=2026-11-21/_tmp.part-9-9.jsonl.gz",  # a crashed write
              "raw/mastodon/instance=alpha.example/dt=garbage/part-1-1.jsonl.gz",
              "raw/mastodon/instance=alpha.example/README.txt",
              # copies that killed directory swaps left beside the partitions (datalake.lake.replace_directory)
              "quarantine/curate/_tmp.dt=2026-11-22.0a1b2c3d4e5f.old/part-00000",
              "raw/mastodon/instance=beta.example/_tmp.dt=2026-11-29.0a1b2c3d4e5f.old/part-1-2.jsonl.gz",
              "state/mastodon/instance=alpha.example/checkpoint.json"]
    for path in files:
        write_atomic(hdfs_client, posixpath.join(root, path), gzip.compress(b'{"id": "1"}\n'))
    yield lake
    hdfs_client.delete(root, recursive=True)


def listing(client, root: str) -> set[str]:
    return {posixpath.relpath(posixpath.join(directory, name), root)
            for directory, _, names in client.walk(root) for name in names}


def expected_gone(before: set[str], cutoff: dt.date) -> set[str]:
    """Files of raw and quarantine dt= partitions, and of copies of them (``_tmp.dt=<day>.<x>.old``),
    older than the cutoff (computed from the paths)."""
    gone = set()
    for path in before:
        parts = path.split("/")
        if parts[0] in ("raw", "quarantine"):
            partition = next((part for part in parts if part.startswith(("dt=", "_tmp.dt="))), "")
            try:
                day = dt.date.fromisoformat(partition.removeprefix("_tmp.")[3:13])
            except ValueError:
                continue
            if day < cutoff and (partition.startswith("dt=") and len(partition) == 13 or partition.startswith("_tmp.")):
                gone.add(path)
    return gone


def test_dry_run_from_the_command_line_lists_and_deletes_nothing(lake, hdfs_client):
    before = listing(hdfs_client, lake.root)
    env = {"DATALAKE_ROOT": lake.root, "DATALAKE_RAW_RETENTION_DAYS": "3", "PYTHONPATH": str(REPO_ROOT),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "privacy", "retention", "--today", TODAY.isoformat(), "--dry-run",
                             "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["cutoff"] == "2026-11-28" and report["dry_run"]
    old = [day for day in DAYS if day < dt.date(2026, 11, 28)]
    assert sorted(partition["path"] for partition in report["deleted"]) == sorted(
        [f"{lake.root}/raw/mastodon/instance=alpha.example/{_day(day)}" for day in old]
        + [f"{lake.root}/raw/mastodon/instance=beta.example/{_day(day)}" for day in old if day >= dt.date(2026, 11, 26)]
        + [f"{lake.root}/quarantine/curate/{_day(day)}" for day in old]
        + [f"{lake.root}/quarantine/curate/_tmp.dt=2026-11-22.0a1b2c3d4e5f.old"])
    assert sorted(report["unknown"]) == [f"{lake.root}/raw/mastodon/instance=alpha.example/{name}"
                                         for name in ("README.txt", "dt=garbage")]
    assert "would delete" in result.stderr
    assert listing(hdfs_client, lake.root) == before


def test_retention_deletes_exactly_the_old_raw_and_quarantine_partitions(lake, hdfs_client):
    before = listing(hdfs_client, lake.root)
    report = apply_raw_retention(lake.with_overrides(raw_retention_days=3), TODAY)
    gone = expected_gone(before, dt.date(2026, 11, 28))
    assert len(gone) == 7 + 2 + 1 + 7 + 1  # alpha, beta, alpha's temp file, quarantine, a swap's copy
    assert listing(hdfs_client, lake.root) == before - gone
    assert len(report.deleted) == 17 and report.kept == 10  # beta's recent swap copy is kept with its day
    assert sum(partition.files for partition in report.deleted) == len(gone)
    assert all(partition.bytes > 0 for partition in report.deleted)
    # a second run, and a run with retention off, delete nothing
    assert apply_raw_retention(lake.with_overrides(raw_retention_days=3), TODAY).deleted == []
    assert apply_raw_retention(lake.with_overrides(raw_retention_days=0), TODAY + dt.timedelta(days=99)).deleted == []
    assert listing(hdfs_client, lake.root) == before - gone


def test_the_dag_tasks_take_their_days_from_the_data_interval(lake, hdfs_client, tmp_path):
    """`airflow tasks test mastodon_datalake apply_retention 2026-12-03`: the interval [12-02, 12-03)
    makes today 12-03, so with 3 days dt < 11-30 goes (11-28 and 11-29 of what is left);
    `reapply_erasures` works on the interval's day, 12-02."""
    before = listing(hdfs_client, lake.root)
    env = airflow_env(tmp_path, {"DATALAKE_ROOT": lake.root, "DATALAKE_RAW_RETENTION_DAYS": "3"})
    log = tmp_path / "airflow.log"
    migrate_db(env, log)
    result = subprocess.run(["airflow", "tasks", "test", "mastodon_datalake", "apply_retention", "2026-12-03"],
                            env=env, capture_output=True, text=True, timeout=600)
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"see {log}"
    gone = expected_gone(before, dt.date(2026, 11, 30))
    assert {path.split("/")[-2] for path in gone} == {"dt=2026-11-28", "dt=2026-11-29",
                                                      "_tmp.dt=2026-11-29.0a1b2c3d4e5f.old"} and len(gone) == 7
    assert listing(hdfs_client, lake.root) == before - gone
    assert "keeping dt >= 2026-11-30; deleted 7 partition(s)" in result.stdout + result.stderr

    # the task before it in the DAG: with an empty erasure list it reads nothing and succeeds
    result = subprocess.run(["airflow", "tasks", "test", "mastodon_datalake", "reapply_erasures", "2026-12-03"],
                            env=env, capture_output=True, text=True, timeout=600)
    with open(log, "a") as out:
        out.write(result.stdout + result.stderr)
    assert result.returncode == 0, f"see {log}"
    assert "erasure list empty: nothing to re-apply to 2026-12-02" in result.stdout + result.stderr
