"""Benchmark: the batched HBase loader against a one-put-per-cell loader on the same day.

    . stack/env.sh && python bench/bench_hbase_loader.py          # a 200k-status day (a few minutes)
    python bench/bench_hbase_loader.py --statuses 20000             # quicker
    python bench/bench_hbase_loader.py --batch-sizes 1000,5000,10000,20000   # tune the batch size

Generates the aggregates of a realistic day (a power law of toots per user, ~0.3 authors per
status, thousands of tags/link hosts/emojis, the creation months of the authors), writes them
to HDFS in the documented format, and loads them into fresh tables (their own table prefix)
with each loader: the same code (load_day: HDFS read, manifest, daily puts, read-back, all-time
cells), only the writer differs. Tables are created before the clock starts. Everything the
benchmark wrote (tables, HDFS directory) is removed at the end unless --keep.

Goals (issue 6): >= 20,000 cells/s for the batched loader, >= 20x the one-put-per-cell loader.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import posixpath
import random
import resource
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datalake.lake import LakeLayout, hdfs_client
from datalake.settings import Settings
from hbase.loader import DEFAULT_BATCH_SIZE, LoadReport, load_day
from hbase.tables import ALL_TABLES, connect, ensure_tables

DAY = dt.date(2026, 11, 18)
LANGUAGES = ("en de ja es fr pt it nl ko zh ru pl sv fi da no cs uk tr ar fa he hi id th vi ca eu gl cy ga "
             "el hu ro bg sr hr sk sl et lv lt is eo la und tl ms bn ta te ml ur sw af sq mk be kk").split()
MEDIA_TYPES = {"image": 0.72, "video": 0.14, "gifv": 0.08, "audio": 0.03, "unknown": 0.03}


class PerCellSink:
    """The baseline: one Thrift call per cell (table.put / table.delete of a single column)."""

    def __init__(self, table, batch_size, on_send):
        self._table = table
        self._on_send = on_send

    def put(self, row: bytes, cells: dict[bytes, bytes]) -> None:
        for column, value in cells.items():
            self._table.put(row, {column: value})
            self._on_send(1)

    def delete(self, row: bytes, columns: list[bytes]) -> None:
        for column in columns:
            self._table.delete(row, [column])
            self._on_send(1)

    def flush(self) -> None:
        pass


def _zipf_counts(names: list[str], total: int, exponent: float, rng: random.Random) -> dict[str, int]:
    weights = [1 / (rank ** exponent) for rank in range(1, len(names) + 1)]
    scale = total / sum(weights)
    return {name: max(1, round(weight * scale * rng.uniform(0.8, 1.2))) for name, weight in zip(names, weights)}


def generate_day(statuses: int, seed: int = 6) -> dict[str, dict]:
    """The seven metrics' aggregates of a day with ``statuses`` statuses (deterministic)."""
    rng = random.Random(seed)
    users: dict[str, dict] = {}
    toots_left = statuses
    while toots_left > 0:
        toots = min(toots_left, int(rng.paretovariate(1.32)))  # >= 1, heavy tail: ~60k authors for 200k
        key = hashlib.sha256(f"user{len(users)}".encode()).hexdigest()[:16]
        followers = int(rng.lognormvariate(4.0, 2.0))
        users[key] = {"followers": followers, "toots": toots,
                      "interactions": sum(int(rng.lognormvariate(0.3, 1.4)) for _ in range(toots))}
        toots_left -= toots
    months = [f"{year}-{month:02d}" for year in range(2016, 2027) for month in range(1, 13)
              if (2016, 3) <= (year, month) <= (2026, 11)]
    month_weights = [1.0 + (25.0 if month in ("2022-11", "2022-12") else 0.0) + (5.0 if month >= "2024-01" else 0.0)
                     for month in months]
    growth: dict[str, list[str]] = {}
    for key in users:
        growth.setdefault(rng.choices(months, month_weights)[0], []).append(key)
    tags = [f"tag{index}" for index in range(int(statuses * 0.04))] + ["fediverse", "café", "日本語", "mastodon"]
    hosts = [f"site{index}.example" for index in range(int(statuses * 0.025))] + ["xn--bcher-kva.example"]
    emojis = [f":custom_{index}:" for index in range(int(statuses * 0.01))] + [
        chr(codepoint) for codepoint in range(0x1F600, 0x1F600 + 80)]
    with_media = int(statuses * 0.22)
    media = {"toot_with_media": with_media}
    media.update({f"type:{kind}": max(1, int(with_media * share)) for kind, share in MEDIA_TYPES.items()})
    return {
        "languages": _zipf_counts(LANGUAGES, statuses, 1.3, rng),
        "users": users,
        "growth": {month: {"accounts": sorted(accounts)} for month, accounts in sorted(growth.items())},
        "urls": _zipf_counts(hosts, int(statuses * 0.2), 0.9, rng),
        "media": media,
        "tags": _zipf_counts(tags, int(statuses * 0.3), 0.9, rng),
        "emojis": _zipf_counts(emojis, int(statuses * 0.12), 0.9, rng),
    }


def write_aggregates(client, root: str, day: dt.date, aggregates: dict[str, dict], parts: int = 4) -> int:
    """Write each metric as ``parts`` reducer-like part files; returns the bytes written."""
    lake = LakeLayout(root)
    written = 0
    for metric, records in aggregates.items():
        lines = [f"{json.dumps(key, ensure_ascii=False)}\t{json.dumps(value)}\n" for key, value in records.items()]
        directory = lake.aggregates(metric, day)
        for part in range(parts):
            data = "".join(lines[part::parts]).encode("utf-8")
            client.write(posixpath.join(directory, f"part-{part:05d}"), data=data, overwrite=True)
            written += len(data)
        client.write(posixpath.join(directory, "_SUCCESS"), data=b"", overwrite=True)
    return written


@dataclass
class Run:
    name: str
    report: LoadReport
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.report.cells / self.seconds


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_load(name: str, settings: Settings, **kwargs) -> Run:
    connection = connect(settings)
    try:
        ensure_tables(connection)  # table creation is not part of a day's load
    finally:
        connection.close()
    cpu, started = _cpu(), time.perf_counter()
    report = load_day(settings, DAY, **kwargs)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    print(f"  {name}: {report.cells:,} cells in {seconds:.1f} s", file=sys.stderr, flush=True)
    return Run(name, report, seconds, cpu)


def _drop(settings: Settings) -> None:
    connection = connect(settings)
    try:
        for table in ALL_TABLES:
            if table.encode() in connection.tables():
                connection.delete_table(table, disable=True)
    finally:
        connection.close()


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_hbase_loader.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statuses", type=int, default=200_000, help="statuses of the generated day (default 200000)")
    parser.add_argument("--batch-sizes", default=str(DEFAULT_BATCH_SIZE),
                        help=f"comma-separated batch sizes of the batched loader (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-put-per-cell loader (slow)")
    parser.add_argument("--keep", action="store_true", help="keep the bench tables and HDFS files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    batch_sizes = [int(size) for size in args.batch_sizes.split(",") if size.strip()]

    base = Settings.from_env()
    if not _port_open(base.hbase_host, base.hbase_port):
        print(f"error: the HBase Thrift server {base.hbase_host}:{base.hbase_port} does not answer; "
              "start the stack with `make start`", file=sys.stderr)
        return 1
    run_id = uuid.uuid4().hex[:6]
    root = f"/bench-hbase-{run_id}/datalake"
    client = hdfs_client(base)
    configs: list[Settings] = []

    def scenario(name: str) -> Settings:
        configs.append(base.with_overrides(root=root, table_prefix=f"bench{run_id}_{name}"))
        return configs[-1]

    try:
        started = time.perf_counter()
        aggregates = generate_day(args.statuses)
        size = write_aggregates(client, root, DAY, aggregates)
        print(f"generated a {args.statuses:,}-status day ({size / 1e6:.1f} MB of aggregates in "
              f"{time.perf_counter() - started:.1f} s): " + ", ".join(
                  f"{metric} {len(records):,}" for metric, records in aggregates.items()), file=sys.stderr)
        runs: list[Run] = []
        state = posixpath.join(root, "state")  # manifests: each first load must start without one
        for size_ in batch_sizes:
            client.delete(state, recursive=True)
            runs.append(timed_load(f"batched, batch_size={size_:,}", scenario(f"b{size_}"), batch_size=size_))
        firsts = list(runs)
        runs.append(timed_load(f"batched, batch_size={batch_sizes[-1]:,}, reload of the same day", configs[-1],
                               batch_size=batch_sizes[-1]))
        baseline = None
        if not args.no_baseline:
            client.delete(state, recursive=True)
            baseline = timed_load("one put per cell (baseline)", scenario("percell"), sink_factory=PerCellSink)
            runs.append(baseline)
    finally:
        if not args.keep:
            for cfg in configs:
                _drop(cfg)
            client.delete(f"/bench-hbase-{run_id}", recursive=True)

    print(f"\nHBase loader, one day of {args.statuses:,} statuses ({runs[0].report.cells:,} cells on a first load; "
          f"users {len(aggregates['users']):,}, tags {len(aggregates['tags']):,}, "
          f"link hosts {len(aggregates['urls']):,}, emojis {len(aggregates['emojis']):,})\n")
    header = ("loader", "cells", "seconds", "cells/s", "client CPU s", "vs baseline")
    rows = [header]
    for run in runs:
        ratio = f"{run.rate / baseline.rate:.1f}x" if baseline else "-"
        rows.append((run.name, f"{run.report.cells:,}", f"{run.seconds:.1f}", f"{run.rate:,.0f}",
                     f"{run.cpu_seconds:.1f}", ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    best = max(firsts, key=lambda run: run.rate)
    print(f"\ngoal >= 20,000 cells/s: {'met' if best.rate >= 20_000 else 'NOT met'} ({best.rate:,.0f})"
          + (f"; goal >= 20x the baseline: {'met' if best.rate / baseline.rate >= 20 else 'NOT met'} "
             f"({best.rate / baseline.rate:.1f}x)" if baseline else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
