"""Benchmark of the lateness window (run on demand, not a test): what re-reading costs, and parts.

    . stack/env.sh && python bench/bench_lateness.py              # needs HDFS (make start)
    python bench/bench_lateness.py --days 4 --statuses-per-day 3000

Consecutive daily runs over a stand-in federation where half the federated copies arrive late
(a quarter with ids of their arrival, a quarter backdated), each run at five minutes past the end
of its day, three times:

* without lateness (no late copies, DATALAKE_LATENESS_DAYS=0): the baseline;
* with heavy lateness and the window off: what the lake would miss (``too_late`` and never read);
* with heavy lateness and the window on (1 day): every copy lands, at what cost.

Prints, per configuration, the timeline requests and the wall time of the runs with the ratio
to the baseline (goal: ≤ 2.1 with the window), the statuses in the raw zone against what the
stand-in served, and the most parts in a day partition (goal: no more than without lateness,
plus one per run).
"""
from __future__ import annotations

import argparse
import datetime as dt
import posixpath
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import collection  # noqa: E402
from collection.collector import RunOptions, day_interval  # noqa: E402
from collection.rawzone import parse_part_name  # noqa: E402
from collection.standin import Federation  # noqa: E402
from datalake.lake import hdfs_client, layout, list_names  # noqa: E402
from datalake.report import format_table  # noqa: E402
from datalake.settings import Settings  # noqa: E402

START = dt.date(2026, 11, 17)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")


def run_days(settings: Settings, federation: Federation, lateness_days: int, part_size: int) -> dict:
    """One collection run per day at five past midnight; what they read and wrote."""
    client, lake = hdfs_client(settings), layout(settings)
    requests, seconds, too_late = 0, 0.0, 0
    with federation.serve() as running:
        settings = settings.with_overrides(instances=tuple(running.urls.values()))
        for day in federation.day_list:
            now = day_interval(day)[1] + dt.timedelta(minutes=5)
            running.set_now(now)
            options = RunOptions.from_settings(settings, lateness_days=lateness_days, part_size=part_size,
                                               now=lambda moment=now: moment)
            started = time.perf_counter()
            report = collection.run(settings, [day], options=options)
            seconds += time.perf_counter() - started
            requests += sum(instance.requests for instance in report.instances)
            too_late += sum(instance.too_late for instance in report.instances)
        final_now = day_interval(federation.day_list[-1])[1] + dt.timedelta(minutes=5)
    served = held = most_parts = 0
    for domain in DOMAINS:
        for day in federation.day_list[:-1]:  # final days: every copy that arrived by the last run
            served += len(federation.raw_statuses(domain, day, until=final_now))
            names = list_names(client, lake.raw_partition(domain, day))
            parts = [name for name in names if parse_part_name(name)]
            most_parts = max(most_parts, len(parts))
            for name in names:
                if name.startswith("_ids."):
                    with client.read(posixpath.join(lake.raw_partition(domain, day), name)) as reader:
                        import gzip

                        held += len(gzip.decompress(reader.read()).split())
    return {"requests": requests, "seconds": seconds, "served": served, "held": held, "too_late": too_late,
            "most_parts": most_parts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--statuses-per-day", type=int, default=2000)
    parser.add_argument("--part-size", type=int, default=1000)
    args = parser.parse_args(argv)
    base = Settings.from_env()
    root = f"/bench-lateness-{uuid.uuid4().hex[:8]}"
    client = hdfs_client(base)

    def federation(late: float, backdated: float) -> Federation:
        return Federation(seed=5, domains=DOMAINS, start=START, days=args.days, statuses_per_day=args.statuses_per_day,
                          late_share=late, backdated_share=backdated, max_delay_hours=20, cache_days=args.days + 3)

    configurations = [("no late copies, window off (baseline)", federation(0, 0), 0),
                      ("half late, window off", federation(0.25, 0.25), 0),
                      ("half late, window 1 day", federation(0.25, 0.25), 1)]
    results = []
    try:
        for name, fed, lateness in configurations:
            settings = base.with_overrides(root=f"{root}/{len(results)}")
            results.append((name, run_days(settings, fed, lateness, args.part_size)))
            print(f"{name}: done", file=sys.stderr)
    finally:
        client.delete(root, recursive=True)
    baseline = results[0][1]
    expected_parts = -(-args.statuses_per_day // args.part_size)  # a day's statuses, one instance at most
    rows = []
    for name, result in results:
        rows.append((name, result["requests"], f"{result['requests'] / baseline['requests']:.2f}",
                     f"{result['seconds']:.1f}", f"{result['seconds'] / baseline['seconds']:.2f}",
                     f"{result['held']}/{result['served']}", result["too_late"], result["most_parts"]))
    print(format_table(("configuration", "timeline requests", "× baseline", "wall s", "× baseline",
                        "raw held/served", "too late", "most parts/partition"), rows))
    with_window = results[2][1]
    print(f"\ngoal: window cost ≤ 2.1 × baseline requests: {with_window['requests'] / baseline['requests']:.2f}; "
          f"parts per partition ≤ {baseline['most_parts']} + {args.days} runs: {with_window['most_parts']}; "
          f"every copy held with the window: {with_window['held'] == with_window['served']} "
          f"(expected about {expected_parts} full parts a day per instance)")
    return 0 if with_window["held"] == with_window["served"] else 1


if __name__ == "__main__":
    sys.exit(main())
