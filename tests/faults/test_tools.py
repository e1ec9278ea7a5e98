"""The fault-injection helpers themselves, on the stack's HDFS and HBase."""
from __future__ import annotations

import json
import posixpath

from tests.faults.tools import Watched, differences, hbase_dump, kill_when_log_shows, lake_listing, python_command


def test_the_lake_listing_leaves_scratch_and_temporary_names_out_and_ignores_write_times(settings, hdfs_client):
    roots = [posixpath.join(settings.root, "faults", "listing", name) for name in ("a", "b")]
    for number, root in enumerate(roots):
        files = {"raw/mastodon/instance=x/dt=2026-01-01/part-1-2.jsonl.gz": b"gz",
                 "state/hbase/tags/dt=2026-01-01.json": json.dumps({"rows": 1, "updated_at": f"t{number}"}).encode(),
                 "_work/mapreduce-1/curate/part-00000": f"scratch {number}".encode(),
                 f"raw/mastodon/instance=x/dt=2026-01-01/_tmp.part-3-4.jsonl.gz.{number}": b"half",
                 f"curated/statuses/_tmp.dt=2026-01-01.{number}.old/part-00000": b"old"}
        for path, data in files.items():
            hdfs_client.write(posixpath.join(root, path), data=data, overwrite=True)
    listing = lake_listing(hdfs_client, roots[0])
    assert sorted(listing) == ["raw/mastodon/instance=x/dt=2026-01-01/part-1-2.jsonl.gz",
                               "state/hbase/tags/dt=2026-01-01.json"]
    assert listing == lake_listing(hdfs_client, roots[1])
    hdfs_client.write(posixpath.join(roots[1], "curated/statuses/dt=2026-01-01/part-00000"), data=b"{}")
    assert differences(listing, lake_listing(hdfs_client, roots[1])) == [
        "only in the faulted run: 'curated/statuses/dt=2026-01-01/part-00000'"]


def test_the_hbase_dump_holds_every_cell_of_the_prefix_only(settings, hbase_connection):
    import happybase

    prefix = f"{settings.table_prefix}_dump"
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=prefix)
    try:
        connection.create_table("probe_table", {"data": {}, "daily": {}})
        connection.table("probe_table").put(b"row", {b"data:count": b"1", b"daily:2026-01-01": b"1"})
        assert hbase_dump(settings.hbase_host, settings.hbase_port, prefix) == {
            "probe_table": {b"row": {b"data:count": b"1", b"daily:2026-01-01": b"1"}}}
    finally:
        connection.delete_table("probe_table", disable=True)
        connection.close()


def test_a_subprocess_is_killed_when_its_output_shows_the_line():
    watched = kill_when_log_shows(python_command(
        "import time\nfor n in range(100):\n    print('step', n, flush=True)\n    time.sleep(0.05)\n"), r"^step 5$")
    assert watched.process.returncode == -9
    assert watched.lines[-1] == "step 5" and "step 99" not in watched.output()


def test_a_finished_subprocess_can_be_waited_for_and_killed_again():
    watched = Watched(python_command("print('done', flush=True)"))
    assert watched.wait(timeout=60) == 0 and watched.kill() == 0 and watched.wait(timeout=5) == 0
    assert watched.output() == "done"


def test_the_rename_tap_announces_each_rename_before_and_after():
    code = ("_real_rename_over = lambda client, source, destination: print('renamed', source, destination)\n"
            "_lake.rename_over(None, '/x/_tmp.a', '/x/a')\n")
    watched = Watched(python_command(code, tap_renames=True))
    assert watched.wait(timeout=60) == 0
    assert watched.lines == ["RENAME 1 before /x/a", "renamed /x/_tmp.a /x/a", "RENAME 1 after /x/a"]
