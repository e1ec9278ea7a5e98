"""The HBase loader against the stack's real HBase (Thrift) and HDFS (WebHDFS).

Aggregate part files are written by hand in the documented format (docs/data-formats.md); every
expected cell below was computed by hand from them and is written literally.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import posixpath
import subprocess
import sys

import happybase
import pytest

from datalake.lake import LakeLayout
from hbase.errors import LoadError
from hbase.inspect import dump_tables
from hbase.loader import BatchEvent, load_day
from hbase.tables import ALL_TABLES, METRIC_TABLE_NAMES, METRICS, connect, ensure_tables

D1 = dt.date(2026, 11, 17)
D2 = dt.date(2026, 11, 18)
U1, U2, U3, U4, U5 = "a1a1a1a1a1a1a1a1", "b2b2b2b2b2b2b2b2", "c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4", "e5e5e5e5e5e5e5e5"

DAY1 = {
    "languages": {"en": 5, "fr": 2, "und": 1},
    "tags": {"python": 3, "café": 1},
    "urls": {"example.com": 2},
    "media": {"toot_with_media": 3, "type:image": 2, "type:video": 1},
    "emojis": {":blobcat:": 2, "😀": 1},
    "users": {U1: {"followers": 10, "toots": 2, "interactions": 6},
              U2: {"followers": 0, "toots": 1, "interactions": 3},
              U4: {"followers": 3, "toots": 3, "interactions": 2}},
    "growth": {"2024-05": {"accounts": [U1, U2]}, "2025-01": {"accounts": [U4]}},
    "apps": {"Web": 4, "unknown": 4},
    "hours": {"09": 3, "23": 5},
    "kinds": {"all": 8, "reply": 2},
    "instances": {"alpha.example": 6, "delta.example": 2},
    "sentiment": {"positive": 3, "negative": 2},
}
DAY2 = {
    "languages": {"en": 3, "de": 4},
    "tags": {"python": 2, "rust": 1},
    "urls": {"example.com": 1, "xn--bcher-kva.example": 1},
    "media": {"toot_with_media": 1, "type:image": 1},
    "emojis": {"😀": 2},
    "users": {U1: {"followers": 12, "toots": 1, "interactions": 3},
              U3: {"followers": 5, "toots": 4, "interactions": 0},
              U4: {"followers": 6, "toots": 1, "interactions": 5}},
    "growth": {"2024-05": {"accounts": [U1, U3]}, "2023-12": {"accounts": [U5]}},
    "apps": {"Web": 3, "Ivory": 4},
    "hours": {"09": 7},
    "kinds": {"all": 7, "poll": 1},
    "instances": {"alpha.example": 7},
    "sentiment": {"positive": 1, "neutral": 2},
}
# Day 2 again, smaller: de, rust, xn--…, type:image, U3, U4 and the month 2023-12 leave the day.
DAY2_SHRUNK = {
    "languages": {"en": 3},
    "tags": {"python": 2},
    "urls": {"example.com": 1},
    "media": {"toot_with_media": 1},
    "emojis": {"😀": 2},
    "users": {U1: {"followers": 12, "toots": 1, "interactions": 3}},
    "growth": {"2024-05": {"accounts": [U1]}},
    "apps": {"Web": 3},
    "hours": {"09": 3},
    "kinds": {"all": 3},
    "instances": {"alpha.example": 3},
    "sentiment": {"neutral": 1},
}
EMPTY_DAY = {metric: {} for metric in METRICS}

# ---- expected cells after days 1 and 2, computed by hand

EXPECTED_DATA = {
    "language_table": {"en": {"count": "8"}, "fr": {"count": "2"}, "und": {"count": "1"}, "de": {"count": "4"}},
    "tag_table": {"python": {"count": "5"}, "café": {"count": "1"}, "rust": {"count": "1"}},
    "url_table": {"example.com": {"count": "3"}, "xn--bcher-kva.example": {"count": "1"}},
    "toot_with_media_table": {"toot_with_media": {"count": "4"}, "type:image": {"count": "3"},
                              "type:video": {"count": "1"}},
    "emoji_table": {":blobcat:": {"count": "2"}, "😀": {"count": "3"}},
    "user_table": {
        # followers of the latest day (12), toots 2+1, rate (6+3) / (3 × 12)
        U1: {"followers": "12", "toots": "3", "engagement_rate": "0.250000"},
        U2: {"followers": "0", "toots": "1", "engagement_rate": "3.000000"},  # 3 / (1 × max(0, 1))
        U3: {"followers": "5", "toots": "4", "engagement_rate": "0.000000"},
        U4: {"followers": "6", "toots": "4", "engagement_rate": "0.291667"},  # (2+5) / (4 × 6)
    },
    # distinct accounts ever seen: 2024-05 {U1, U2, U3}; data:new:<day> = accounts first seen that day
    "croissance_table": {"2024-05": {"count": "3", "new:2026-11-17": "2", "new:2026-11-18": "1"},
                         "2025-01": {"count": "1", "new:2026-11-17": "1"},
                         "2023-12": {"count": "1", "new:2026-11-18": "1"}},
    "croissance_accounts_table": {},
    "app_table": {"Web": {"count": "7"}, "unknown": {"count": "4"}, "Ivory": {"count": "4"}},
    "hour_table": {"09": {"count": "10"}, "23": {"count": "5"}},
    "toot_kind_table": {"all": {"count": "15"}, "reply": {"count": "2"}, "poll": {"count": "1"}},
    "instance_table": {"alpha.example": {"count": "13"}, "delta.example": {"count": "2"}},
    "sentiment_table": {"positive": {"count": "4"}, "negative": {"count": "2"}, "neutral": {"count": "2"}},
}
EXPECTED_DAILY = {
    "language_table": {"en": {"2026-11-17": "5", "2026-11-18": "3"}, "fr": {"2026-11-17": "2"},
                       "und": {"2026-11-17": "1"}, "de": {"2026-11-18": "4"}},
    "app_table": {"Web": {"2026-11-17": "4", "2026-11-18": "3"}, "unknown": {"2026-11-17": "4"},
                  "Ivory": {"2026-11-18": "4"}},
    "user_table": {
        U1: {"2026-11-17": '{"followers": 10, "toots": 2, "interactions": 6, "engagement_rate": 0.300000}',
             "2026-11-18": '{"followers": 12, "toots": 1, "interactions": 3, "engagement_rate": 0.250000}'},
        U2: {"2026-11-17": '{"followers": 0, "toots": 1, "interactions": 3, "engagement_rate": 3.000000}'},
        U3: {"2026-11-18": '{"followers": 5, "toots": 4, "interactions": 0, "engagement_rate": 0.000000}'},
        U4: {"2026-11-17": '{"followers": 3, "toots": 3, "interactions": 2, "engagement_rate": 0.222222}',
             "2026-11-18": '{"followers": 6, "toots": 1, "interactions": 5, "engagement_rate": 0.833333}'},
    },
    "croissance_table": {"2024-05": {"2026-11-17": "2", "2026-11-18": "2"}, "2025-01": {"2026-11-17": "1"},
                         "2023-12": {"2026-11-18": "1"}},
    "croissance_accounts_table": {f"2024-05#{U1}": {"2026-11-17": "1", "2026-11-18": "1"},
                                  f"2024-05#{U2}": {"2026-11-17": "1"}, f"2024-05#{U3}": {"2026-11-18": "1"},
                                  f"2025-01#{U4}": {"2026-11-17": "1"}, f"2023-12#{U5}": {"2026-11-18": "1"}},
}


class InjectedCrash(Exception):
    """Raised from the on_batch hook: the load dies after some batches reached HBase."""


# ---- helpers

def scenario(settings, name: str):
    """Settings of their own: an HDFS root and a table prefix (under the session's, cleaned at the end)."""
    return settings.with_overrides(root=posixpath.join(settings.root, name),
                                   table_prefix=f"{settings.table_prefix}_{name}")


def write_day(client, cfg, day: dt.date, aggregates: dict[str, dict], parts: int = 1) -> None:
    """Each metric's partition as ``parts`` part files (+ _SUCCESS with parts > 1), replacing what was there."""
    lake = LakeLayout(cfg.root)
    for metric, records in aggregates.items():
        directory = lake.aggregates(metric, day)
        client.delete(directory, recursive=True)
        lines = [f"{json.dumps(key)}\t{json.dumps(value)}\n" for key, value in records.items()]
        for part in range(parts):
            client.write(posixpath.join(directory, f"part-{part:05d}"), data="".join(lines[part::parts]),
                         encoding="utf-8")
        if parts > 1:
            client.write(posixpath.join(directory, "_SUCCESS"), data="")


def table_cells(connection, family: str) -> dict[str, dict[str, dict[str, str]]]:
    """{table: {row: {qualifier: value}}} of one family, decoded, rows without such cells left out."""
    result = {}
    for table, rows in dump_tables(connection, METRIC_TABLE_NAMES).items():
        decoded = {}
        for row, cells in rows.items():
            picked = {column.decode().split(":", 1)[1]: value.decode() for column, value in cells.items()
                      if column.startswith(family.encode() + b":")}
            if picked:
                decoded[row.decode()] = picked
        result[table] = decoded
    return result


def cfg_connection(cfg):
    return happybase.Connection(cfg.hbase_host, cfg.hbase_port, table_prefix=cfg.table_prefix)


def full_dump(cfg):
    connection = cfg_connection(cfg)
    try:
        return dump_tables(connection, METRIC_TABLE_NAMES)
    finally:
        connection.close()


def clean_dump(settings, hdfs_client, name: str, days: list[tuple[dt.date, dict]]):
    cfg = scenario(settings, name)
    for day, aggregates in days:
        write_day(hdfs_client, cfg, day, aggregates)
        load_day(cfg, day, list(aggregates))
    return full_dump(cfg)


# ---- tests

def test_load_day1_day2_day1_again_gives_the_hand_computed_cells(settings, hdfs_client, hbase_connection):
    cfg = scenario(settings, "order121")
    write_day(hdfs_client, cfg, D1, DAY1, parts=2)  # two part files and a _SUCCESS marker per metric
    write_day(hdfs_client, cfg, D2, DAY2)
    first = load_day(cfg, D1)
    assert first.table("language_table").daily_cells == 3
    load_day(cfg, D2)
    again = load_day(cfg, D1)
    # a reload of an unchanged day rewrites its daily cells and changes no all-time cell
    assert again.table("language_table").data_cells == 0
    assert again.table("user_table").data_cells == 0

    connection = cfg_connection(cfg)
    data, daily = table_cells(connection, "data"), table_cells(connection, "daily")
    connection.close()
    assert data == EXPECTED_DATA
    for table, rows in EXPECTED_DAILY.items():
        assert daily[table] == rows, table
    assert daily["tag_table"] == {"python": {"2026-11-17": "3", "2026-11-18": "2"}, "café": {"2026-11-17": "1"},
                                  "rust": {"2026-11-18": "1"}}
    assert daily["emoji_table"] == {":blobcat:": {"2026-11-17": "2"}, "😀": {"2026-11-17": "1", "2026-11-18": "2"}}

    # the manifest lists exactly the rows of day 1 per table
    with hdfs_client.read(LakeLayout(cfg.root).hbase_manifest("growth", D1)) as reader:
        manifest = json.load(reader)
    assert manifest["state"] == "loaded"
    assert manifest["tables"] == {"croissance_table": ["2024-05", "2025-01"],
                                  "croissance_accounts_table": [f"2024-05#{U1}", f"2024-05#{U2}", f"2025-01#{U4}"]}


def test_load_order_does_not_matter(settings, hdfs_client, hbase_connection):
    in_order = clean_dump(settings, hdfs_client, "order12", [(D1, DAY1), (D2, DAY2)])
    reverse = clean_dump(settings, hdfs_client, "order21", [(D2, DAY2), (D1, DAY1)])
    assert reverse == in_order
    cfg = scenario(settings, "order21")
    load_day(cfg, D2)
    load_day(cfg, D1)
    assert full_dump(cfg) == in_order
    assert in_order["croissance_table"][b"2024-05"][b"data:count"] == b"3"


def test_growth_recount_without_the_later_days_manifest(settings, hdfs_client, hbase_connection):
    """Day 1 loaded after day 2 moves U1's first-seen day; with day 2's manifest gone the month is rescanned."""
    expected = clean_dump(settings, hdfs_client, "growth12", [(D1, DAY1), (D2, DAY2)])
    cfg = scenario(settings, "growth21nomanifest")
    write_day(hdfs_client, cfg, D1, DAY1)
    write_day(hdfs_client, cfg, D2, DAY2)
    load_day(cfg, D2)
    hdfs_client.delete(LakeLayout(cfg.root).hbase_manifest("growth", D2))
    load_day(cfg, D1, ["growth"])
    load_day(cfg, D1, [metric for metric in METRICS if metric != "growth"])
    assert full_dump(cfg) == expected


def test_a_day_that_shrinks_on_reload_leaves_no_stale_cell(settings, hdfs_client, hbase_connection):
    cfg = scenario(settings, "shrink")
    write_day(hdfs_client, cfg, D1, DAY1)
    write_day(hdfs_client, cfg, D2, DAY2)
    load_day(cfg, D1)
    load_day(cfg, D2)
    write_day(hdfs_client, cfg, D2, DAY2_SHRUNK)
    report = load_day(cfg, D2)
    assert report.table("language_table").stale_rows == 1  # de
    assert report.table("croissance_accounts_table").stale_rows == 2  # U3, U5

    connection = cfg_connection(cfg)
    data, daily = table_cells(connection, "data"), table_cells(connection, "daily")
    connection.close()
    assert data["language_table"] == {"en": {"count": "8"}, "fr": {"count": "2"}, "und": {"count": "1"}}
    assert daily["language_table"] == {"en": {"2026-11-17": "5", "2026-11-18": "3"}, "fr": {"2026-11-17": "2"},
                                       "und": {"2026-11-17": "1"}}
    assert data["url_table"] == {"example.com": {"count": "3"}}
    assert data["toot_with_media_table"] == {"toot_with_media": {"count": "4"}, "type:image": {"count": "2"},
                                             "type:video": {"count": "1"}}
    assert data["user_table"] == {
        U1: {"followers": "12", "toots": "3", "engagement_rate": "0.250000"},
        U2: {"followers": "0", "toots": "1", "engagement_rate": "3.000000"},
        U4: {"followers": "3", "toots": "3", "engagement_rate": "0.222222"},  # back to day 1 alone
    }
    assert data["croissance_table"] == {"2024-05": {"count": "2", "new:2026-11-17": "2"},
                                        "2025-01": {"count": "1", "new:2026-11-17": "1"}}
    assert daily["croissance_accounts_table"] == {f"2024-05#{U1}": {"2026-11-17": "1", "2026-11-18": "1"},
                                                  f"2024-05#{U2}": {"2026-11-17": "1"},
                                                  f"2025-01#{U4}": {"2026-11-17": "1"}}
    assert full_dump(cfg) == clean_dump(settings, hdfs_client, "shrinkclean", [(D1, DAY1), (D2, DAY2_SHRUNK)])

    # a day emptied entirely leaves exactly day 1
    write_day(hdfs_client, cfg, D2, EMPTY_DAY)
    load_day(cfg, D2)
    assert full_dump(cfg) == clean_dump(settings, hdfs_client, "day1only", [(D1, DAY1)])


def _crash_after(batches: int):
    def hook(event: BatchEvent) -> None:
        if event.number >= batches:
            raise InjectedCrash(f"injected after batch {event.number} ({event.table})")
    return hook


def _only(aggregates: dict, metrics) -> dict:
    return {metric: aggregates[metric] for metric in metrics}


# The count tables share one code path: languages stands for them (the crash tests load many times).
CRASH_METRICS = ["languages", "users", "growth"]
BATCH = 3


def _batches_of(load, day) -> list[BatchEvent]:
    events: list[BatchEvent] = []
    load(day, on_batch=events.append)
    return events


def test_an_interrupted_load_rerun_leaves_exactly_the_cells_of_a_clean_load(settings, hdfs_client, hbase_connection):
    """Crash a load of day 2 after k batches, for every k, then re-run it. Each round:

    a. day 2 loaded in full; a load of the shrunk day crashes; re-run with the shrunk day
       (the rows leaving the day must go although the crashed load may have replaced the manifest);
    b. day 2 loaded shrunk; a load of the full day crashes; re-run with the shrunk day
       (the rows the crashed load added must go although no completed load ever listed them);
    c. day 2 loaded shrunk; a load of the full day crashes; re-run with the same full day.
    """
    full, shrunk = _only(DAY2, CRASH_METRICS), _only(DAY2_SHRUNK, CRASH_METRICS)
    day1 = _only(DAY1, CRASH_METRICS)
    clean_full = clean_dump(settings, hdfs_client, "crashcleanfull", [(D1, day1), (D2, full)])
    clean_shrunk = clean_dump(settings, hdfs_client, "crashcleanshrunk", [(D1, day1), (D2, shrunk)])
    assert clean_full != clean_shrunk

    cfg = scenario(settings, "crash2")
    load = functools.partial(load_day, cfg, metrics=CRASH_METRICS, batch_size=BATCH)
    write_day(hdfs_client, cfg, D1, day1)
    load(D1)
    write_day(hdfs_client, cfg, D2, shrunk)
    shrinking = len(_batches_of(load, D2))
    write_day(hdfs_client, cfg, D2, full)
    events = _batches_of(load, D2)  # how many batches has a load of the full day 2?
    assert {event.table for event in events} == {"language_table", "user_table", "croissance_table",
                                                 "croissance_accounts_table"}
    assert len(events) >= 6, "too few batches to interrupt the load in every phase"
    write_day(hdfs_client, cfg, D2, shrunk)
    shrinking = len(_batches_of(load, D2))  # from the full day: deletes of the rows leaving it, too
    assert shrinking >= 5
    write_day(hdfs_client, cfg, D2, full)
    load(D2)
    for crash_at in range(1, max(len(events), shrinking)):
        if crash_at < shrinking:
            write_day(hdfs_client, cfg, D2, shrunk)
            with pytest.raises(InjectedCrash):
                load(D2, on_batch=_crash_after(crash_at))
            load(D2)
            assert full_dump(cfg) == clean_shrunk, f"(a) crash after batch {crash_at}: shrinking load re-run"
        else:
            write_day(hdfs_client, cfg, D2, shrunk)
            load(D2)
        if crash_at < len(events):
            write_day(hdfs_client, cfg, D2, full)
            with pytest.raises(InjectedCrash):
                load(D2, on_batch=_crash_after(crash_at))
            write_day(hdfs_client, cfg, D2, shrunk)
            load(D2)
            assert full_dump(cfg) == clean_shrunk, f"(b) crash after batch {crash_at}: re-run with other input"
            write_day(hdfs_client, cfg, D2, full)
            with pytest.raises(InjectedCrash):
                load(D2, on_batch=_crash_after(crash_at))
            load(D2)
            assert full_dump(cfg) == clean_full, f"(c) crash after batch {crash_at}: re-run with the same day"
        else:
            write_day(hdfs_client, cfg, D2, full)
            load(D2)


# Day 1 changed: U2 leaves, U3 appears (first seen now on day 1, not day 2), 2025-01 leaves, 2023-12 appears.
DAY1_CHANGED = {
    "users": {U1: {"followers": 9, "toots": 5, "interactions": 1},
              U3: {"followers": 2, "toots": 1, "interactions": 4}},
    "growth": {"2024-05": {"accounts": [U1, U3]}, "2023-12": {"accounts": [U5]}},
}


def test_an_interrupted_reload_of_an_earlier_day_rerun_is_clean(settings, hdfs_client, hbase_connection):
    """Days 1 and 2 loaded; a reload of a changed day 1 crashes after k batches, for every k; re-run.

    Reloading the earlier day moves first-seen days of accounts between day 1 and day 2, the
    path that recounts the later day's data:new cells."""
    metrics = ["users", "growth"]
    day1, day2 = _only(DAY1, metrics), _only(DAY2, metrics)
    clean_changed = clean_dump(settings, hdfs_client, "crashclean1", [(D2, day2), (D1, DAY1_CHANGED)])
    assert clean_changed["croissance_table"][b"2024-05"] == {
        b"daily:2026-11-17": b"2", b"daily:2026-11-18": b"2", b"data:count": b"2", b"data:new:2026-11-17": b"2"}

    cfg = scenario(settings, "crash1")
    load = functools.partial(load_day, cfg, metrics=metrics, batch_size=BATCH)
    write_day(hdfs_client, cfg, D1, day1)
    write_day(hdfs_client, cfg, D2, day2)
    load(D1)
    load(D2)
    before = full_dump(cfg)
    write_day(hdfs_client, cfg, D1, DAY1_CHANGED)
    events = _batches_of(load, D1)
    assert len(events) >= 6
    assert full_dump(cfg) == clean_changed
    for crash_at in range(1, len(events)):
        write_day(hdfs_client, cfg, D1, day1)
        load(D1)
        assert full_dump(cfg) == before, f"round {crash_at}: day 1 as first loaded"
        write_day(hdfs_client, cfg, D1, DAY1_CHANGED)
        with pytest.raises(InjectedCrash):
            load(D1, on_batch=_crash_after(crash_at))
        load(D1)
        assert full_dump(cfg) == clean_changed, f"crash after batch {crash_at}"


def test_created_tables_have_bloom_filter_compression_one_version(settings, hbase_connection):
    cfg = scenario(settings, "ddl")
    connection = connect(cfg)
    try:
        # a table that already exists with other settings is left as it is
        connection.create_table("tag_table", {"data": dict(max_versions=3), "daily": dict(max_versions=3)})
        first = ensure_tables(connection)
        assert set(first.created) == set(ALL_TABLES) - {"tag_table"} and first.existing == ("tag_table",)
        second = ensure_tables(connection)
        assert second.created == () and set(second.existing) == set(ALL_TABLES)
        for name in set(ALL_TABLES) - {"tag_table"}:
            families = connection.table(name).families()
            assert set(families) == {b"data", b"daily"}, name
            for descriptor in families.values():
                assert descriptor["bloom_filter_type"] == b"ROW"
                assert descriptor["compression"] == b"GZ"
                assert descriptor["max_versions"] == 1
                assert descriptor["block_cache_enabled"] is True
        assert connection.table("tag_table").families()[b"data"]["max_versions"] == 3
    finally:
        connection.close()


def test_an_existing_table_without_a_family_is_reported(settings, hbase_connection):
    cfg = scenario(settings, "ddlbad")
    connection = connect(cfg)
    try:
        connection.create_table("url_table", {"data": {}})
        with pytest.raises(LoadError, match=r"exists without the column family daily"):
            ensure_tables(connection, ["url_table"])
    finally:
        connection.close()


def test_unreachable_thrift_server_says_what_to_do(settings):
    with socket_closed_port() as port:
        cfg = settings.with_overrides(hbase_port=port)
        with pytest.raises(LoadError, match=rf"cannot reach the HBase Thrift server localhost:{port}.*make start"):
            load_day(cfg, D1)


class socket_closed_port:
    """A local TCP port nothing listens on."""

    def __enter__(self) -> int:
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None


def test_missing_or_malformed_input_fails_before_anything_is_written(settings, hdfs_client, hbase_connection):
    cfg = scenario(settings, "badinput")
    write_day(hdfs_client, cfg, D1, DAY1)
    load_day(cfg, D1)
    before = full_dump(cfg)
    lake = LakeLayout(cfg.root)
    with pytest.raises(LoadError, match=r"no aggregates at .*/aggregates/languages/dt=2026-11-18: the languages job"):
        load_day(cfg, D2, ["languages", "tags"])
    write_day(hdfs_client, cfg, D2, {**DAY2, "users": {}})
    hdfs_client.write(posixpath.join(lake.aggregates("users", D2), "part-00002"),
                      data=f'"{U1}"\t{{"followers": 1, "toots": 1}}\n', encoding="utf-8", overwrite=True)
    with pytest.raises(LoadError, match=r"users/dt=2026-11-18/part-00002 line 1: the users value lacks interactions"):
        load_day(cfg, D2)
    assert full_dump(cfg) == before
    assert hdfs_client.status(lake.hbase_manifest("languages", D2), strict=False) is None


def test_cli_create_load_show(settings, hdfs_client, hbase_connection):
    cfg = scenario(settings, "cli")
    write_day(hdfs_client, cfg, D1, DAY1)
    write_day(hdfs_client, cfg, D2, DAY2)
    env = {**os.environ, "HBASE_TABLE_PREFIX": cfg.table_prefix, "DATALAKE_ROOT": cfg.root,
           "HBASE_THRIFT_HOST": cfg.hbase_host, "HBASE_THRIFT_PORT": str(cfg.hbase_port),
           "DATALAKE_WEBHDFS_URL": cfg.webhdfs_url}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "hbase", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    created = run("create-tables")
    assert created.returncode == 0, created.stderr
    assert "language_table" in created.stdout and "created" in created.stdout
    for day in ("2026-11-17", "2026-11-18"):
        loaded = run("load", "--date", day)
        assert loaded.returncode == 0, loaded.stderr
        assert "user_table" in loaded.stdout and "total" in loaded.stdout
    shown = run("show", "languages", "--limit", "2")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "language_table: top 2 of 4 row(s) by data:count"
    assert lines[2].split() == ["1", "en", "8"] and lines[3].split() == ["2", "de", "4"]
    by_day = run("show", "user_table", "--day", "2026-11-18", "--limit", "1")
    assert by_day.stdout.splitlines()[2].split() == ["1", U3, "4", "5", "0", "0.000000"]
    bad = run("load", "--date", "2026-11-19", "--metrics", "languages")
    assert bad.returncode == 1 and "no aggregates at" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run("load", "--date", "2026-11-17", "--metrics", "hashtags")
    assert unknown.returncode == 1 and "unknown metric(s) hashtags" in unknown.stderr
