"""Benchmark of a busy instance (run on demand, not a test): hourly collection at Mastodon's paging limit.

    . stack/env.sh && python bench/bench_busy.py                      # 500k statuses, a day in ~7 minutes
    python bench/bench_busy.py --statuses 100000 --time-scale 400      # quicker

A stand-in instance in busy mode (its own process: ``python -m collection.standin --busy``):
``--statuses`` a day, Mastodon's paging limit (300 timeline requests with min_id per 15 minutes,
rack-attack's throttle_*_paging) and a clock that runs ``--time-scale`` times faster than the
wall clock (the limit's window shrinks with it). What `mastodon_collect` does every hour
(``collection.catch_up``: from the checkpoint, up to now, in a 55-minute slot) runs at the end of
each simulated hour; then what `mastodon_datalake` does for the day (``collection.run``, lateness
window open, not re-read: DATALAKE_LATENESS_REREAD=0). Prints, against the goals of issue 14:

* the share of the day already in HDFS when the daily run starts (goal ≥ 95 %);
* the daily run's wall time and pages;
* statuses per timeline request over the day (goal ≥ 39 of the 40 a page holds);
* 429 answers received (goal 0: the limit is known, the budget is spread evenly).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import collection  # noqa: E402
from collection.collector import RunOptions, day_interval  # noqa: E402
from collection.snowflake import first_id_at, format_timestamp, parse_timestamp  # noqa: E402
from datalake.lake import hdfs_client  # noqa: E402
from datalake.report import format_table  # noqa: E402
from datalake.settings import Settings  # noqa: E402

DAY = dt.date(2026, 11, 20)
HOUR = dt.timedelta(hours=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statuses", type=int, default=500_000, help="statuses of the day (default 500000)")
    parser.add_argument("--time-scale", type=float, default=200.0, help="simulated seconds per second (default 200)")
    parser.add_argument("--part-size", type=int, default=5000)
    args = parser.parse_args(argv)
    start = day_interval(DAY)[0]
    standin = subprocess.Popen(
        [sys.executable, "-m", "collection.standin", "--domains", "busy.example", "--start", DAY.isoformat(),
         "--days", "1", "--statuses-per-day", str(args.statuses), "--cache-days", "3", "--busy",
         "--time-scale", str(args.time_scale), "--now", format_timestamp(start)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    url = standin.stdout.readline().split()[1]
    settings = Settings.from_env().with_overrides(root=f"/bench-busy-{uuid.uuid4().hex[:8]}", instances=(url,),
                                                  lateness_reread=False)
    client = hdfs_client(settings)
    session = requests.Session()

    def now() -> dt.datetime:
        return parse_timestamp(session.get(f"{url}/_standin/now").json()["now"])

    try:
        print(f"rendering {args.statuses:,} statuses in the stand-in ...", file=sys.stderr)
        began = time.perf_counter()
        session.get(f"{url}/api/v1/timelines/public", params={"min_id": first_id_at(start) - 1, "limit": 1}, timeout=900)
        print(f"  {time.perf_counter() - began:.0f} s; the simulated day starts now", file=sys.stderr)
        session.post(f"{url}/_standin/now", json={"now": format_timestamp(start)})
        session.post(f"{url}/_standin/stats")
        hourly_pages = hourly_statuses = 0
        for hour in range(1, 25):
            while now() < start + hour * HOUR:
                time.sleep(0.1)
            options = RunOptions.from_settings(settings, part_size=args.part_size, now=now)
            report = collection.catch_up(settings, DAY, options=options,
                                         deadline=time.time() + 55 * 60 / args.time_scale).instances[0]
            hourly_pages += report.pages
            hourly_statuses += report.statuses_written
            print(f"  hour {hour:2d}: {report.statuses_written:6,} statuses in {report.pages:4d} pages, "
                  f"{report.seconds:5.1f} s, {report.state}", file=sys.stderr)
        while now() < start + 24 * HOUR + dt.timedelta(minutes=5):
            time.sleep(0.1)
        began = time.perf_counter()
        daily = collection.run(settings, [DAY], options=RunOptions.from_settings(settings, part_size=args.part_size,
                                                                                  now=now)).instances[0]
        daily_seconds = time.perf_counter() - began
        stats = session.get(f"{url}/_standin/stats").json()
    finally:
        standin.terminate()
        standin.wait(timeout=60)
        client.delete(settings.root, recursive=True)
    total = hourly_statuses + daily.statuses_written
    share = hourly_statuses / total if total else 0.0
    per_request = total / stats["timeline_requests"] if stats["timeline_requests"] else 0.0
    rows = [("share of the day in HDFS when the daily run starts", f"{share:.1%}", "≥ 95 %", f"{share / 0.95:.2f}"),
            ("daily run: wall time", f"{daily_seconds:.1f} s ({daily.pages} pages, {daily.statuses_written:,} "
                                     "statuses)", "the tail only", ""),
            ("statuses per timeline request", f"{per_request:.1f}", "≥ 39", f"{per_request / 39:.2f}"),
            ("429 answers", str(stats["rate_limited"]), "0", "")]
    print(format_table(("measure", "value", "goal", "× goal"), rows))
    print(f"\n{total:,} statuses of {args.statuses:,} collected; {stats['timeline_requests']:,} timeline requests; "
          f"day state: {daily.day_states[DAY].state}")
    return 0 if total == args.statuses or daily.day_states[DAY].state == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
