"""The HBase Thrift server restarted in the middle of a day's load (hbase.loader.load_day in a
subprocess): the load fails with a message naming HBase, and its retry leaves HBase (every cell
of the table prefix) and the loader's manifests exactly as one clean load does.

This test restarts the stack's shared Thrift server: run it when no other test session uses HBase.
"""
from __future__ import annotations

import datetime as dt
import json
import posixpath

from datalake.lake import LakeLayout
from hbase.loader import load_day
from tests.faults.tools import (Watched, differences, hbase_dump, lake_listing, python_command, restart_service,
                                subprocess_env)

DAY = dt.date(2026, 8, 20)


def day_aggregates() -> dict[str, dict]:
    """A day big enough for a few hundred batches of 200 mutations (the seven seed metrics: the
    loads below name them, the other metrics have no aggregates here)."""
    return {
        "languages": {f"l{number}": 1 + number % 7 for number in range(1500)},
        "tags": {f"tag{number}": 1 + number % 5 for number in range(2500)},
        "urls": {f"host{number}.example": 1 + number % 3 for number in range(1500)},
        "emojis": {f":e{number}:": 1 for number in range(500)},
        "media": {"toot_with_media": 40, "type:image": 30, "type:video": 10},
        "users": {f"{number:016x}": {"followers": number % 90, "toots": 1 + number % 4, "interactions": number % 11}
                  for number in range(2000)},
        "growth": {f"20{10 + number // 12:02d}-{1 + number % 12:02d}": {"accounts": sorted(
            f"{number:04x}{account:012x}" for account in range(30))} for number in range(60)},
    }


def write_aggregates(client, root: str, aggregates: dict[str, dict]) -> None:
    lake = LakeLayout(root)
    for metric, records in aggregates.items():
        lines = "".join(f"{json.dumps(key)}\t{json.dumps(value)}\n" for key, value in records.items())
        client.write(posixpath.join(lake.aggregates(metric, DAY), "part-00000"), data=lines, encoding="utf-8",
                     overwrite=True)


def scenario(settings, name: str):
    return settings.with_overrides(root=posixpath.join(settings.root, "faults", name),
                                   table_prefix=f"{settings.table_prefix}_f{name}")


LOAD_IN_A_SUBPROCESS = f"""
import datetime as dt, sys, time
from datalake.settings import Settings
from hbase.loader import load_day

def on_batch(event):
    print(f"batch {{event.number}} {{event.table}} {{event.cells_total}}", flush=True)
    time.sleep(0.05)

try:
    load_day(Settings.from_env(), dt.date.fromisoformat("{DAY.isoformat()}"), {sorted(day_aggregates())!r},
             batch_size=200, on_batch=on_batch)
except Exception as error:
    print(f"LOAD FAILED: {{type(error).__name__}}: {{error}}", flush=True)
    sys.exit(3)
print("LOAD DONE", flush=True)
"""


def test_thrift_restarted_mid_load_then_the_retry_equals_a_clean_load(settings, hdfs_client, hbase_test_tables):
    aggregates = day_aggregates()
    clean, faulted = scenario(settings, "clean"), scenario(settings, "thrift")
    for cfg in (clean, faulted):
        write_aggregates(hdfs_client, cfg.root, aggregates)
    load_day(clean, DAY, sorted(aggregates))

    load = Watched(python_command(LOAD_IN_A_SUBPROCESS), env=subprocess_env(
        DATALAKE_ROOT=faulted.root, HBASE_TABLE_PREFIX=faulted.table_prefix, DATALAKE_HDFS_USER=faulted.hdfs_user,
        DATALAKE_WEBHDFS_URL=faulted.webhdfs_url, HBASE_THRIFT_HOST=faulted.hbase_host,
        HBASE_THRIFT_PORT=str(faulted.hbase_port)))
    struck_at = load.wait_for(r"^batch 20 ")
    away = restart_service("thrift")
    code = load.wait()
    print(f"\nThrift restarted at '{struck_at}', away {away:.1f} s; the load ended with code {code}: "
          f"{load.output(1)}")
    if code != 0:  # it may also have finished before the server went away: either way no loss
        assert "LOAD FAILED: LoadError" in load.output() and "HBase" in load.output(), load.output(5)
        assert "LOAD DONE" not in load.output()
    load_day(faulted, DAY, sorted(aggregates))  # the retry, as the DAG's task retry does it

    clean_cells = hbase_dump(clean.hbase_host, clean.hbase_port, clean.table_prefix)
    faulted_cells = hbase_dump(faulted.hbase_host, faulted.hbase_port, faulted.table_prefix)
    assert sum(len(rows) for rows in clean_cells.values()) > 9_000
    assert differences(clean_cells, faulted_cells) == []
    assert lake_listing(hdfs_client, faulted.root) == lake_listing(hdfs_client, clean.root)
