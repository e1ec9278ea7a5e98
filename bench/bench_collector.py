"""Benchmark of the collector against the stand-in (run on demand, not a test).

    . stack/env.sh && python bench/bench_collector.py            # needs HDFS (make start)
    python bench/bench_collector.py --quick                      # skip the 200k-status run

Measures, each against its baseline, and prints a table:

* the collector's ceiling: statuses/s from a stand-in without rate limit into HDFS (gzip
  parts, checkpoints), against plain ``requests`` + ``json`` paging the same server with
  min_id and keeping nothing (goal: >= 5,000 statuses/s);
* the rate it keeps under a rate limit, against the rate the server allows (goal: >= 95 %);
  the data is sized so that the run ends with the first request of a new window, so the
  measure covers whole windows;
* peak RSS of ``python -m collection collect`` at 10k and 200k statuses (goal: flat, <= 200 MB).

The stand-in runs in its own process (as a real instance would), pre-warmed by the baseline
pass so that generating the data is not timed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from collection.collector import RunOptions, collect_instance  # noqa: E402
from collection.snowflake import UTC, first_id_at  # noqa: E402
from datalake.lake import hdfs_client  # noqa: E402
from datalake.settings import Settings  # noqa: E402

START = dt.date(2026, 11, 17)
PAGE = 40


class Standin:
    """``python -m collection.standin`` with one instance, in a child process."""

    def __init__(self, days: int, statuses_per_day: int, extra: list[str] = ()):
        self.days = days
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collection.standin", "--domains", "bench.example", "--start", START.isoformat(),
             "--days", str(days), "--statuses-per-day", str(statuses_per_day), "--cache-days", str(days + 1),
             *extra], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
        line = self.process.stdout.readline().split()
        if len(line) != 2:
            self.stop()
            raise SystemExit("the stand-in did not start; run `python -m collection.standin` to see why")
        self.url = line[1]

    @property
    def interval(self) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime(START.year, START.month, START.day, tzinfo=UTC)
        return start, start + dt.timedelta(days=self.days)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def baseline_paging(standin: Standin) -> tuple[int, float]:
    """Plain requests + json, min_id paging, nothing kept: (statuses, statuses/s)."""
    session = requests.Session()
    start, end = standin.interval
    min_id, after, count = first_id_at(start) - 1, first_id_at(end), 0
    began = time.perf_counter()
    while True:
        page = session.get(f"{standin.url}/api/v1/timelines/public", params={"min_id": min_id, "limit": PAGE}).json()
        ids = [int(status["id"]) for status in page if int(status["id"]) < after]
        if not ids:
            break
        count += len(ids)
        min_id = max(ids)
    return count, count / (time.perf_counter() - began)


def collector_in_process(settings: Settings, standin: Standin) -> tuple[int, float, float]:
    """collect_instance into HDFS: (statuses, statuses/s, seconds)."""
    settings = settings.with_overrides(instances=(standin.url,))
    result = collect_instance(settings, standin.url, *standin.interval,
                              RunOptions.from_settings(settings, max_pages=10_000_000, lateness_days=0))
    return result.statuses_written, result.statuses_per_second, result.seconds


def collector_process(settings: Settings, standin: Standin) -> tuple[int, float, float]:
    """``python -m collection collect`` in a child: (statuses, statuses/s, peak RSS in MB)."""
    start, end = standin.interval
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), DATALAKE_ROOT=settings.root,
               DATALAKE_WEBHDFS_URL=settings.webhdfs_url)
    env.pop("MASTODON_ACCESS_TOKEN", None)
    last_day = (end - dt.timedelta(days=1)).date()
    process = subprocess.Popen(
        [sys.executable, "-m", "collection", "collect", "--from", start.date().isoformat(), "--to",
         last_day.isoformat(), "--instance", standin.url, "--max-pages", "10000000", "--lateness-days", "0",
         "--quiet", "--json"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"python -m collection collect failed (status {status}): {out}")
    (summary,) = json.loads(out)["instances"]
    written = summary["statuses_written"]
    return written, written / summary["seconds"], usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the 200k-status RSS run")
    parser.add_argument("--ceiling-statuses", type=int, default=40_000,
                        help="statuses of the ceiling run (default 40000)")
    parser.add_argument("--rate-limit", type=int, default=30, help="requests per window of the rate-limited run")
    parser.add_argument("--rate-window", type=float, default=10.0, help="seconds per window of the rate-limited run")
    parser.add_argument("--rate-windows", type=int, default=4, help="windows the rate-limited run lasts")
    args = parser.parse_args()

    settings = Settings.from_env()
    bench_root = f"/bench-{uuid.uuid4().hex[:8]}"
    client = hdfs_client(settings)
    rows = []

    def lake(name: str) -> Settings:
        return settings.with_overrides(root=f"{bench_root}/{name}/datalake")

    try:
        # 1. ceiling, against plain requests + json
        days = 2
        standin = Standin(days, args.ceiling_statuses // days)
        try:
            baseline_paging(standin)  # warm the stand-in: every day generated and rendered
            base_count, base_rate = baseline_paging(standin)
            count, rate, seconds = collector_in_process(lake("ceiling"), standin)
        finally:
            standin.stop()
        rows.append((f"ceiling: statuses/s into HDFS ({count:,} statuses, {seconds:.1f}s)", f"{rate:,.0f}",
                     f"{base_rate:,.0f} (requests+json, no HDFS)", rate / base_rate, ">= 5,000/s",
                     rate >= 5000))

        # 2. rate-limited: (windows x limit) requests = 1 instance request + pages + 1 final empty page
        limit, window, windows = args.rate_limit, args.rate_window, args.rate_windows
        statuses = (windows * limit - 1) * PAGE
        standin = Standin(1, statuses, ["--rate-limit", str(limit), "--rate-window", str(window)])
        try:
            requests.get(f"{standin.url}/api/v1/timelines/public", params={"limit": 1})  # warm
            requests.post(f"{standin.url}/_standin/config", json={"rate_limit": limit})  # a fresh window
            count, rate, seconds = collector_in_process(lake("rate"), standin)
            waits = requests.get(f"{standin.url}/_standin/stats").json()["rate_limited"]
        finally:
            standin.stop()
        allowed = limit * PAGE / window
        rows.append((f"rate-limited: statuses/s ({limit} req/{window:g}s, {count:,} statuses, {seconds:.1f}s, "
                     f"{waits} waits)", f"{rate:,.1f}", f"{allowed:,.1f} (allowed)", rate / allowed, ">= 95 %",
                     rate / allowed >= 0.95))

        # 3. peak RSS of the CLI, 10k and 200k statuses
        rss = {}
        for total, days in ((10_000, 1), (200_000, 10)) if not args.quick else ((10_000, 1),):
            standin = Standin(days, total // days)
            try:
                baseline_paging(standin)  # warm
                count, rate, rss[total] = collector_process(lake(f"rss{total}"), standin)
            finally:
                standin.stop()
            ratio = rss[total] / rss[10_000]
            rows.append((f"peak RSS, python -m collection ({count:,} statuses, {rate:,.0f} statuses/s)",
                         f"{rss[total]:.0f} MB", f"{rss[10_000]:.0f} MB (10k run)", ratio, "flat, <= 200 MB",
                         rss[total] <= 200 and ratio <= 1.2))
    finally:
        client.delete(bench_root, recursive=True)

    headers = ("measure", "collector", "baseline", "ratio", "goal", "met")
    table = [headers] + [(m, c, b, f"{r:.2f}", g, "yes" if ok else "NO") for m, c, b, r, g, ok in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return 0 if all(row[-1] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
