"""A busy instance (issue 14): collected through the day by the hourly collection, so that the daily
run only pages the tail; and hourly and daily runs of one instance never overlap.

The stand-in runs in busy mode with compressed time: its clock runs `SCALE` times faster than the
wall clock (a simulated day in three minutes: an hourly run has 6.75 s of wall time for its hour,
enough on a loaded 2-core machine, where a day a minute left too little), with Mastodon's paging
limit (300 requests with min_id/max_id/since_id per 15 simulated minutes). The runs call what the DAGs call:
`collection.catch_up` (mastodon_collect, every hour) and `collection.run` (mastodon_datalake).
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import posixpath
import threading
import time

import pytest

import collection
from collection.collector import RunOptions, day_interval
from collection.standin import Federation
from datalake.lake import LakeLayout

DAY = dt.date(2026, 11, 20)
DOMAIN = "busy.example"
SCALE = 480.0  # simulated seconds per second: a day in three minutes
HOUR = dt.timedelta(hours=1)


def _raw_lines(client, root: str, day: dt.date) -> list[bytes]:
    directory = LakeLayout(root).raw_partition(DOMAIN, day)
    lines = []
    for name in sorted(client.list(directory)) if client.status(directory, strict=False) else []:
        if name.startswith("part-"):
            with client.read(posixpath.join(directory, name)) as reader:
                lines.extend(gzip.decompress(reader.read()).splitlines())
    return sorted(lines, key=lambda line: int(json.loads(line)["id"]))


@pytest.fixture
def lake(settings, request):
    return settings.with_overrides(root=posixpath.join(settings.root, "busy", request.node.name), lateness_days=1,
                                   lateness_reread=False)


def test_hourly_runs_keep_a_busy_instance_current_and_the_daily_run_pages_only_the_tail(lake, hdfs_client):
    federation = Federation(seed=14, domains=(DOMAIN,), start=DAY, days=1, statuses_per_day=12_000, cache_days=3)
    start = day_interval(DAY)[0]
    faults = {"rate_limit": 300, "rate_window": 900 / SCALE, "rate_limit_scope": "paging"}
    with federation.serve(now=start, time_scale=SCALE, faults=faults) as running:
        url = running.url(DOMAIN)
        settings = lake.with_overrides(instances=(url,))
        hourly = []
        for hour in range(1, 25):
            while running.now(DOMAIN) < start + hour * HOUR:  # the hour's run starts when its hour is over
                time.sleep(0.05)
            options = RunOptions.from_settings(settings, part_size=2000, now=lambda: running.now(DOMAIN))
            slot_end = time.time() + 0.9 * HOUR.total_seconds() / SCALE
            report = collection.catch_up(settings, running.now(DOMAIN).date(), deadline=slot_end, options=options)
            hourly.append(report.instances[0])
        before_daily = len(_raw_lines(hdfs_client, settings.root, DAY))
        while running.now(DOMAIN) < start + 24 * HOUR + dt.timedelta(minutes=5):
            time.sleep(0.05)
        options = RunOptions.from_settings(settings, part_size=2000, now=lambda: running.now(DOMAIN))
        daily = collection.run(settings, [DAY], options=options).instances[0]
        stats = running.stats(DOMAIN)
    served = federation.raw_statuses(DOMAIN, DAY)
    held = _raw_lines(hdfs_client, settings.root, DAY)
    assert held == served  # every status of the day, exactly once
    assert before_daily / len(served) >= 0.95  # the hourly runs had collected the day when the daily run began
    assert daily.state == "complete" and daily.day_states[DAY].state == "complete"
    tail = len(served) - before_daily
    assert daily.pages <= tail // 40 + 2, (daily.pages, tail)  # the daily run paged the tail, nothing more
    assert sum(report.statuses_written for report in hourly) == before_daily
    assert all(not report.error for report in hourly)
    assert stats["rate_limited"] == 0  # the limit known, the budget was spent evenly: never a 429
    pages = sum(report.pages for report in hourly) + daily.pages
    assert len(served) / pages >= 30  # nearly full pages (the last page of each run is short)


def test_an_hourly_and_a_daily_run_at_the_same_moment_never_overlap(lake, hdfs_client):
    federation = Federation(seed=15, domains=(DOMAIN,), start=DAY, days=1, statuses_per_day=3000)
    with federation.serve() as running:
        url = running.url(DOMAIN)
        running.configure(DOMAIN, latency=0.02)  # slow enough for the two runs to meet
        settings = lake.with_overrides(instances=(url,))
        reports, errors = {}, []

        def run(name, call):
            try:
                reports[name] = call()
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        options = RunOptions.from_settings(settings, part_size=500, lock_wait=120.0)
        threads = [threading.Thread(target=run, args=("hourly", lambda: collection.catch_up(settings, DAY))),
                   threading.Thread(target=run, args=("daily", lambda: collection.run(settings, [DAY],
                                                                                      options=options)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert errors == []
    hourly, daily = reports["hourly"].instances[0], reports["daily"].instances[0]
    served = len(federation.raw_statuses(DOMAIN, DAY))
    # one of them collected; the other skipped (hourly) or waited for it and found the day done (daily)
    if hourly.skipped is not None:
        assert daily.statuses_written == served and "another collection holds" in hourly.state
    else:
        assert hourly.statuses_written == served and daily.statuses_written == 0
    assert _raw_lines(hdfs_client, settings.root, DAY) == federation.raw_statuses(DOMAIN, DAY)  # no duplicate
    layout = LakeLayout(settings.root)
    with hdfs_client.read(layout.checkpoint(DOMAIN)) as reader:
        checkpoint = json.loads(reader.read())
    assert int(checkpoint["high_water_id"]) >= int(json.loads(federation.raw_statuses(DOMAIN, DAY)[-1])["id"])
    assert hdfs_client.status(layout.lock(f"collect-{DOMAIN}"), strict=False) is None  # released
