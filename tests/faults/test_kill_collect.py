"""The collector SIGKILLed in the middle of its atomic writes, then rerun: the raw zone and the
collector's state are those of a run without the fault.

Every file of the raw zone and of the state is written under a ``_tmp.`` name and renamed into
place (a part, then its id index, then the checkpoint; the day's state at the end). The collection
runs as an operator runs it (``python -m collection collect``) in a subprocess whose renames are
tapped (tests/faults/tools.py ``RENAME_TAP``): the kill lands with a file written but not renamed,
or renamed with nothing after it. Each kill strikes a first run in a lake of its own; the rerun is
the same command line. The collector's own tests (tests/integration/test_collection.py) cover a
kill between pages.

A rerun may cut the day's statuses into parts at other ids than a run without the fault (it starts
from the checkpoint, which a kill leaves behind the last part), so the raw zone is compared by what
it holds: the status lines of each partition, in id order. Every other file is compared whole.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import posixpath

import pytest

from collection.rawzone import INDEX_PREFIX, PART_PREFIX
from collection.standin import Federation
from tests.faults.tools import Watched, differences, lake_listing, python_command, subprocess_env

DAY = dt.date(2026, 8, 26)
DOMAIN = "alpha.example"
PART_SIZE = "40"
PENDING = "state/pipeline/pending"

COLLECT = f"""
import runpy, sys
sys.argv = ["collection", "collect", "--date", "{DAY.isoformat()}", "--instance", sys.argv[1], "--part-size", "{PART_SIZE}"]
runpy.run_module("collection", run_name="__main__", alter_sys=True)
"""

#: (name, the tapped lines to wait for in turn; SIGKILL at the last)
KILL_POINTS = [
    ("the first part written, not renamed", [r"^RENAME \d+ before .*/part-"]),
    ("a part renamed, its index not", [r"^RENAME \d+ after .*/part-", r"^RENAME \d+ after .*/part-"]),
    ("an index renamed, the checkpoint not", [r"^RENAME \d+ after .*/_ids\.part-"]),
    ("a checkpoint written, not renamed", [r"^RENAME \d+ after .*/_ids\.part-", r"^RENAME \d+ before .*/checkpoint\.json"]),
    ("a checkpoint renamed, the next page not read", [r"^RENAME \d+ after .*/checkpoint\.json",
                                                      r"^RENAME \d+ after .*/checkpoint\.json"]),
    ("the day's state written, not renamed", [r"^RENAME \d+ before .*/days/dt="]),
]


@pytest.fixture(scope="module")
def url() -> str:
    """The stand-in instance, one server for the module (the checkpoint records its URL)."""
    with Federation(seed=26, domains=(DOMAIN,), start=DAY, days=1, statuses_per_day=260).serve() as running:
        yield running.url(DOMAIN)


def _lake(settings, name: str):
    return settings.with_overrides(root=posixpath.join(settings.root, "faults", f"collect-{name}"))


def _collect(lake, url: str, *, tap: bool = False) -> Watched:
    return Watched(python_command(COLLECT, tap_renames=tap) + [url], env=subprocess_env(
        DATALAKE_ROOT=lake.root, DATALAKE_HDFS_USER=lake.hdfs_user, DATALAKE_WEBHDFS_URL=lake.webhdfs_url))


def _by_content(relative: str) -> bool:
    """Files compared by what they hold, not by name: raw parts and their indexes, and the pending
    marks (named by the time and a random token of the run that wrote them)."""
    name = posixpath.basename(relative)
    return relative.startswith(PENDING) or relative.startswith("raw/") and name.startswith((PART_PREFIX, INDEX_PREFIX))


def _held(client, root: str) -> dict[str, list[bytes]]:
    """{raw partition: its status lines in id order, whatever the parts they are cut into} and
    {pending day: [b"pending"]} (a day is marked for recomputation or not; how many marks, and
    the counts they mention, depend on the runs that wrote them)."""
    held: dict[str, list[bytes]] = {}
    for directory, _, names in client.walk(posixpath.join(root, "raw")):
        for name in names:
            if name.startswith(PART_PREFIX):
                with client.read(posixpath.join(directory, name)) as reader:
                    held.setdefault(posixpath.relpath(directory, root), []).extend(
                        gzip.decompress(reader.read()).splitlines())
    for directory, _, names in client.walk(posixpath.join(root, PENDING)):
        if names:
            held[posixpath.relpath(directory, root)] = [b"pending"]
    return {where: sorted(lines, key=lambda line: int(json.loads(line)["id"])) if where.startswith("raw/") else lines
            for where, lines in held.items()}


def _state(client, root: str) -> tuple[dict, dict]:
    return lake_listing(client, root, skip=_by_content), _held(client, root)


@pytest.fixture(scope="module")
def clean(settings, hdfs_client, url):
    lake = _lake(settings, "clean")
    run = _collect(lake, url)
    assert run.wait() == 0, run.output(30)
    try:
        yield _state(hdfs_client, lake.root)
    finally:
        hdfs_client.delete(lake.root, recursive=True)


@pytest.mark.parametrize("point", KILL_POINTS, ids=[name for name, _ in KILL_POINTS])
def test_a_collection_killed_mid_write_then_rerun_holds_what_a_clean_one_does(clean, settings, hdfs_client,
                                                                              url, point):
    clean_files, clean_statuses = clean
    name, patterns = point
    lake = _lake(settings, f"fault{KILL_POINTS.index(point)}")
    try:
        _collect(lake, url, tap=True).kill_after(patterns, f"with {name}", timeout=300)
        rerun = _collect(lake, url)
        assert rerun.wait() == 0, rerun.output(30)
        files, statuses = _state(hdfs_client, lake.root)
        assert differences(clean_statuses, statuses) == [], f"raw statuses after a kill with {name} and the rerun"
        assert differences(clean_files, files) == [], f"lake after a kill with {name} and the rerun"
        assert sum(map(len, clean_statuses.values())) > 200
        temporary = [name for _, _, names in hdfs_client.walk(lake.root) for name in names if name.startswith("_tmp.")]
        assert temporary == [], f"the rerun left temporary files: {temporary}"
    finally:
        hdfs_client.delete(lake.root, recursive=True)
