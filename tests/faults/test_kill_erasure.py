"""An erasure SIGKILLed in the middle of its rewrite, its recomputation and its reload, then rerun:
the lake and HBase are exactly those of an erasure without the fault.

One generated day is run through the MapReduce stage and the HBase load in two lakes. Then, kill
point by kill point, one person is erased: in the clean lake in this process, in the faulted lake
by ``python -m privacy erase`` in a subprocess SIGKILLed at a moment of its output (the renames of
its atomic rewrites are tapped, tests/faults/tools.py ``RENAME_TAP``), then the same erasure again,
as the operator reruns it (every step of an erasure is idempotent). After each, every file of the
lake outside scratch and every HBase cell are compared with the clean lake's.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import posixpath

import pytest

from datalake.lake import layout
from datalake.settings import Secret
from hbase.inspect import drop_tables
from privacy.erasure import erase_handle
from tests.faults.tools import Watched, differences, lake_and_hbase, lake_env, python_command, run_day_chain
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs

KEY = "kill-erasure-key-77c1"
DAY = dt.date(2026, 8, 25)

ERASE = """
import runpy, sys
sys.argv = ["privacy", "erase", "--handle", sys.argv[1]]
runpy.run_module("privacy", run_name="__main__", alter_sys=True)
"""

#: (name, the output lines to wait for in turn, SIGKILL at the last; renames tapped)
KILL_POINTS = [
    ("a raw part rewritten and renamed, the other zones not", [r"^RENAME \d+ after .*/raw/mastodon/"], True),
    ("a curated file rewritten, not renamed", [r"^RENAME \d+ before .*/curated/"], True),
    ("the zones erased, the aggregates being recomputed", [r"recomputing the aggregates", r"Running job: job_local"],
     False),
    ("the reload into HBase after its first metric", [r"reloading .* into HBase", r"\w+ / day \d{4}-\d\d-\d\d: [\d,]+ cells in"],
     False),
]


def _lake(settings, name: str):
    return settings.with_overrides(root=posixpath.join(settings.root, "faults", f"erasure-{name}"),
                                   table_prefix=f"{settings.table_prefix}er{name}", mr_framework="local",
                                   pseudonymize=True, pseudonym_key=Secret(KEY))


def _authors(day) -> list[str]:
    """The day's authors with the most statuses, most first (handles ``user@host``), leaving out
    those who opted out of indexing (the generator's ``user<n>`` with n % 17 == 3): their
    statuses never reach the curated zone, so an erasure of them rewrites no curated file."""
    counts = collections.Counter()
    for lines in day.lines.values():
        for line in lines:
            host, _, username = json.loads(line)["uri"].split("/")[2:5]
            if int(username.removeprefix("user")) % 17 != 3:
                counts[f"{username}@{host}"] += 1
    return [handle for handle, _ in counts.most_common()]


@pytest.fixture(scope="module")
def lakes(settings, hdfs_client):
    clean, faulted = _lake(settings, "clean"), _lake(settings, "fault")
    day = generate_day(DAY, 120, seed=25)
    try:
        for lake in (clean, faulted):
            write_day_to_hdfs(hdfs_client, layout(lake), day, parts_per_instance=2)
            run_day_chain(lake, DAY)
        yield clean, faulted, _authors(day)
    finally:
        for lake in (clean, faulted):
            drop_tables(lake.hbase_host, lake.hbase_port, lake.table_prefix)
            hdfs_client.delete(lake.root, recursive=True)


@pytest.mark.parametrize("point", KILL_POINTS, ids=[name for name, _, _ in KILL_POINTS])
def test_an_erasure_killed_then_rerun_gives_the_clean_erasures_lake_and_hbase(lakes, hdfs_client, point):
    clean, faulted, authors = lakes
    name, patterns, tap = point
    handle = authors[KILL_POINTS.index(point)]  # a person of their own for each kill: each strikes a first erasure
    erase_handle(clean, handle)

    Watched(python_command(ERASE, tap_renames=tap) + [handle], env=lake_env(faulted)).kill_after(patterns, f"with {name}")

    report = erase_handle(faulted, handle)  # the operator's rerun
    assert not [warning for warning in report.warnings if "HBase still" in warning], report.warnings
    files, cells = lake_and_hbase(hdfs_client, faulted)
    clean_files, clean_cells = lake_and_hbase(hdfs_client, clean)
    assert differences(clean_files, files) == [], f"lake after an erasure killed with {name} and its rerun"
    assert differences(clean_cells, cells) == [], f"HBase after an erasure killed with {name} and its rerun"
    assert len(clean_files) > 20 and sum(len(rows) for rows in clean_cells.values()) > 100
