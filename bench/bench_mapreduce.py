"""Benchmark of the MapReduce stage: curate + the metric jobs on Hadoop Streaming against a
single-pass pure-Python computation of the same metrics, on a generated day.

    . stack/env.sh && python bench/bench_mapreduce.py --help
    python bench/bench_mapreduce.py                        # 200k statuses, 3 instances, ~400k raw lines
    python bench/bench_mapreduce.py --statuses 20000 --map-slots 2

The day is generated once into --data-dir (gz parts per instance, as the collector writes them)
and reused while the parameters are the same. The single pass reads the same gz files from the
local disk and uses the same record functions (mapreduce/records.py) and the same JSON library,
so the ratio measures what running on Hadoop Streaming costs. Both results are compared metric by
metric, and with the generator's plan. Needs the stack (HDFS); the lake root is /bench-<id>.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import gzip
import hashlib
import json
import os
import posixpath
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datalake.lake import hdfs_client, layout, list_files  # noqa: E402
from datalake.settings import REPO_ROOT, Settings  # noqa: E402
from mapreduce import records  # noqa: E402
from mapreduce.pipeline import METRICS, run_day  # noqa: E402
from tests.fixtures.mapreduce.rawday import generate_day, gzip_lines  # noqa: E402

DAY = dt.date(2026, 11, 18)


# ---------------------------------------------------------------------------------------------
# data

def prepare_data(data_dir: Path, statuses: int, instances: int, parts: int, copies: float, key: bytes | None):
    """Generate the day into gz files (cached by parameters); returns (files by instance, expected)."""
    hosts = tuple(["alpha.example", "beta.example", "gamma.example", "delta.example", "epsilon.example"][:instances])
    tag = hashlib.sha256(json.dumps([statuses, hosts, parts, copies, (key or b"").hex(), 3]).encode()).hexdigest()[:12]
    target = data_dir / f"day-{statuses}-{tag}"
    manifest = target / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        return {host: [Path(path) for path in paths] for host, paths in meta["files"].items()}, meta
    print(f"generating {statuses} statuses for {len(hosts)} instances into {target} ...", flush=True)
    started = time.monotonic()
    day = generate_day(DAY, statuses, instances=hosts, seed=2026, pseudonym_key=key, copies_mean=copies)
    files, raw_bytes = {}, 0
    for host, lines in day.lines.items():
        directory = target / f"instance={host}" / f"dt={DAY}"
        directory.mkdir(parents=True, exist_ok=True)
        files[host] = []
        size = -(-len(lines) // parts)
        for part in range(parts):
            chunk = lines[part * size:(part + 1) * size]
            path = directory / f"part-{part:04d}-{part:04d}.jsonl.gz"
            path.write_bytes(gzip_lines(chunk))
            raw_bytes += sum(len(line) + 1 for line in chunk)
            files[host].append(str(path))
    expected = {metric: _jsonable(day.expected.metric(metric)) for metric in METRICS}
    meta = {"files": files, "raw_lines": day.expected.raw_lines, "raw_bytes": raw_bytes,
            "curated": day.expected.curated, "expected": expected}
    manifest.write_text(json.dumps(meta, ensure_ascii=False))
    print(f"  generated in {time.monotonic() - started:.0f} s", flush=True)
    return {host: [Path(path) for path in paths] for host, paths in files.items()}, meta


def _jsonable(value):
    return json.loads(json.dumps(value, ensure_ascii=False))


# ---------------------------------------------------------------------------------------------
# the single pass

def single_pass(files: dict[str, list[Path]], key: bytes | None) -> dict:
    """Every metric of the day in one Python process: parse, validate, dedupe by uri, aggregate."""
    best: dict[str, tuple] = {}
    noindex: set[str] = set()
    quarantined = 0
    for host, paths in files.items():
        for path in paths:
            with gzip.open(path, "rb") as lines:
                for line in lines:
                    line = line.rstrip(b"\n")
                    try:
                        status = records.parse_raw_line(line)
                        records.validate_status(status)
                        if records.is_noindex(status["account"]):
                            noindex.add(status["uri"])
                            continue
                        record = records.curated_record(status, host, key).record
                        records.encode_record(record)
                    except (records.BadRecord, UnicodeEncodeError):
                        quarantined += 1
                        continue
                    # as curate: the copies of a status meet under its raw uri, whose host says
                    # whether this copy is the origin's (the curated uri is a pseudonym)
                    uri = status["uri"]
                    rank = records.winner_rank(records.is_origin_copy(uri, host), record["interactions"], line)
                    current = best.get(uri)
                    if current is None or rank < current[0]:
                        best[uri] = (rank, record)
    counts = {name: collections.Counter() for name in ("languages", "tags", "urls", "emojis", "media", "apps", "hours",
                                                       "kinds", "instances", "sentiment")}
    users: dict[str, list] = {}
    growth: dict[str, set] = collections.defaultdict(set)
    for uri, (_, record) in best.items():
        if uri in noindex:
            continue
        counts["languages"][record["language"]] += 1
        counts["tags"].update(record["tags"])
        counts["urls"].update(record["link_hosts"])
        counts["emojis"].update(record["emojis"])
        counts["media"].update(records.media_keys(record["media_types"]))
        counts["apps"][records.app_key(record["application"])] += 1
        counts["hours"][records.utc_hour(record["created_at"])] += 1
        counts["kinds"].update(records.kind_keys(record))
        counts["instances"][record["author_host"]] += 1
        if record["sentiment"]:
            counts["sentiment"][record["sentiment"]] += 1
        entry = users.setdefault(record["user"], [("", ""), 0, 0, 0])
        if (record["created_at"], record["uri"]) > entry[0]:
            entry[0], entry[1] = (record["created_at"], record["uri"]), record["followers"]
        entry[2] += 1
        entry[3] += record["interactions"]
        if record["account_month"]:
            growth[record["account_month"]].add(record["user"])
    result = {name: dict(counter) for name, counter in counts.items()}
    result["users"] = {user: {"followers": f, "toots": t, "interactions": i} for user, (_, f, t, i) in users.items()}
    result["growth"] = {month: {"accounts": sorted(accounts)} for month, accounts in growth.items()}
    result["_quarantined"] = quarantined
    return result


# ---------------------------------------------------------------------------------------------
# the MapReduce stage

def upload(client, lake, files: dict[str, list[Path]]) -> None:
    for host, paths in files.items():
        partition = lake.raw_partition(host, DAY)
        client.makedirs(partition)
        for path in paths:
            client.upload(posixpath.join(partition, path.name), str(path), overwrite=True)


def read_aggregates(client, lake, metric: str) -> dict:
    result = {}
    for path in list_files(client, lake.aggregates(metric, DAY)):
        with client.read(path) as reader:
            for line in reader.read().splitlines():
                key, value = line.split(b"\t")
                result[json.loads(key)] = json.loads(value)
    return result


def day_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the generated day (and of the framework), shared with bench_second_wave.py."""
    parser.add_argument("--statuses", type=int, default=200_000, help="unique statuses of the day (default 200000)")
    parser.add_argument("--instances", type=int, default=3, choices=range(1, 6), help="instances collected (default 3)")
    parser.add_argument("--copies", type=float, default=2.0, help="raw lines per status on average (default 2.0)")
    parser.add_argument("--parts", type=int, default=4, help="gz parts per instance (default 4; curate packs them into map tasks: mapreduce.pipeline.curate_plan)")
    parser.add_argument("--framework", choices=("local", "yarn"), default="local", help="Hadoop framework (default local)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_mapreduce.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    day_arguments(parser)
    parser.add_argument("--curate-reducers", type=int, default=None, help="reducers of curate (default: the pipeline's)")
    parser.add_argument("--metric-reducers", type=int, default=None, help="reducers of the metrics job (default: the pipeline's)")
    parser.add_argument("--map-slots", type=int, default=None,
                        help="mapreduce.local.map.tasks.maximum / reduce (local runner parallelism; default mapred-site)")
    parser.add_argument("-D", dest="jobconf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hadoop property for every job (repeatable)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the single pass")
    parser.add_argument("--keep", action="store_true", help="keep the bench lake on HDFS")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "var" / "bench" / "mapreduce",
                        help="where the generated day is cached (default var/bench/mapreduce)")
    args = parser.parse_args(argv)

    settings = Settings.from_env().with_overrides(root=f"/bench-{uuid.uuid4().hex[:8]}/datalake",
                                                  mr_framework=args.framework)
    key = settings.require_pseudonym_key() if settings.pseudonymize else None
    files, meta = prepare_data(args.data_dir, args.statuses, args.instances, args.parts, args.copies, key)
    jobconf = dict(item.split("=", 1) for item in args.jobconf)
    if args.map_slots:
        jobconf.setdefault("mapreduce.local.map.tasks.maximum", str(args.map_slots))
        jobconf.setdefault("mapreduce.local.reduce.tasks.maximum", str(args.map_slots))

    baseline_seconds, baseline = None, None
    if not args.skip_baseline:
        print("single pass ...", flush=True)
        started = time.monotonic()
        baseline = single_pass(files, key)
        baseline_seconds = time.monotonic() - started
        print(f"  single pass: {baseline_seconds:.1f} s", flush=True)

    client, lake = hdfs_client(settings), layout(settings)
    try:
        print(f"uploading to HDFS {settings.root} ...", flush=True)
        upload(client, lake, files)
        print("MapReduce stage ...", flush=True)
        started = time.monotonic()
        report = run_day(settings, DAY, curate_reducers=args.curate_reducers,
                         metric_reducers=args.metric_reducers, jobconf=jobconf)
        mr_seconds = time.monotonic() - started
        mismatches = []
        for metric in METRICS:
            produced = read_aggregates(client, lake, metric)
            if produced != meta["expected"][metric]:
                mismatches.append(f"{metric} differs from the generator's plan")
            if baseline is not None and produced != baseline[metric]:
                mismatches.append(f"{metric} differs from the single pass")
    finally:
        if not args.keep:
            client.delete(settings.root.rsplit("/", 1)[0], recursive=True)

    curate = report.job("curate")
    metrics_job = report.job(METRICS[0])  # every metric's report carries the one metrics job's wall time
    parquet = report.job("parquet")

    print()
    print(f"MapReduce stage vs single-pass Python: {args.statuses} statuses, {args.instances} instances, "
          f"{meta['raw_lines']} raw lines ({meta['raw_bytes'] / 1e6:.0f} MB of JSON, "
          f"{sum(len(paths) for paths in files.values())} gz parts), {os.cpu_count()} cores")
    print(f"framework {report.framework}, all metrics in one job, curate reducers {args.curate_reducers or settings.mr_curate_reducers}, metric reducers "
          f"{args.metric_reducers or settings.mr_metric_reducers}, extra jobconf {jobconf or '-'}")
    print()
    print(f"| {'what':<34} | {'wall s':>7} |")
    print(f"|{'-' * 36}|{'-' * 9}|")
    if baseline_seconds is not None:
        print(f"| {'single-pass Python (baseline)':<34} | {baseline_seconds:>7.1f} |")
    print(f"| {'MapReduce stage, total':<34} | {mr_seconds:>7.1f} |")
    print(f"| {'  curate':<34} | {curate.wall_seconds:>7.1f} |")
    print(f"| {'  parquet copy':<34} | {parquet.wall_seconds:>7.1f} |")
    print(f"| {'  metrics (one job, 12 metrics)':<34} | {metrics_job.wall_seconds:>7.1f} |")
    if baseline_seconds:
        print()
        print(f"ratio MapReduce / single pass = {mr_seconds / baseline_seconds:.2f} (goal <= 2.00)")
    print(f"curated {report.curated} statuses, {report.duplicates} duplicate copies, "
          f"{report.noindex_skipped} noindex skipped, {report.quarantined} quarantined")
    if mismatches:
        print("RESULTS DIFFER: " + "; ".join(mismatches))
        return 1
    print("results: every metric equals the generator's plan" + (" and the single pass" if baseline else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
