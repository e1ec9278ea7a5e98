"""Benchmark table of issue 15: each stage (collect, curate, parquet, metrics, load) and the total
for a 2,000- and a 100,000-status day, against today's figures and the goals.

    . stack/env.sh && python bench/bench_stages.py --framework local            # profile "local"
    . stack/env.sh && python bench/bench_stages.py --framework yarn             # profile "yarn"
    . stack/env.sh && . var/cluster/env.sh && python bench/bench_stages.py      # profile "cluster"
    python bench/bench_stages.py --table var/bench/stages/*.json                # the three side by side

One run measures one profile: whatever the environment points at (the single-node stack, or the
multi-node cluster once var/cluster/env.sh is sourced), MapReduce on --framework (default: as the
settings say). For each size a stand-in federation (3 instances) serves one day, and the stages run
in this process, one after the other, as the DAG's tasks call them: collection.run, mapreduce.run
(curate, parquet and metrics are its jobs' own wall times; "MapReduce stage" is the whole call,
with its checks of the raw parts and its moves into the zones), hbase.run. The HBase tables are
created before the clock starts (a daily run finds them). Each size has its own lake root
(/bench-stages-<id>) and table prefix, removed afterwards unless --keep.

Every run writes its figures as JSON (default var/bench/stages/<profile>-<time>.json, rewritten
after each size); --table reads such files, from runs made at different times, and prints one
table with the profiles side by side, touching no service. When a profile and size appear in
several files, the latest measurement counts.

Today's figures (BASELINES) are the MapReduce stage's as issue 15 recorded them; they and the
goals (GOALS) are keyed by the framework that ran MapReduce, so the cluster (YARN) is set against
single-node YARN. The total here is the stages in one process: bench/bench_dag.py measures the
same day through Airflow.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import collection  # noqa: E402
import hbase  # noqa: E402
import mapreduce  # noqa: E402
from collection.collector import RunOptions, day_start  # noqa: E402
from collection.snowflake import first_id_at  # noqa: E402
from collection.standin import Federation  # noqa: E402
from datalake.lake import hdfs_client  # noqa: E402
from datalake.settings import REPO_ROOT, Secret, Settings  # noqa: E402
from hbase.inspect import drop_tables  # noqa: E402
from hbase.tables import connect, ensure_tables  # noqa: E402
from mapreduce.hadoop import configured_framework  # noqa: E402
from mapreduce.pipeline import METRICS  # noqa: E402
from mapreduce.report import DayReport  # noqa: E402

DEFAULT_SIZES = (2_000, 100_000)
FIGURES_DIR = REPO_ROOT / "var" / "bench" / "stages"
MAX_PAGES = 100_000  # never the bound: a 100k day is ~2,500 pages per instance
#: the table's rows: (key in the JSON figures, label)
ROWS = (("collect", "collect"), ("curate", "  curate"), ("parquet", "  parquet"), ("metrics", "  metrics"),
        ("mapreduce", "MapReduce stage"), ("load", "load"), ("total", "total"))
PROFILE_ORDER = ("local", "yarn", "cluster")


@dataclass(frozen=True)
class Figure:
    """A reference time for one row of one size of day, with MapReduce on one framework."""

    framework: str
    statuses: int
    row: str
    seconds: float
    what: str


#: today's figures: what the MapReduce stage took when issue 15 was filed
BASELINES = (
    Figure("yarn", 2_000, "mapreduce", 125.0, "single-node YARN, measured on a ~1,500-status day"),
    Figure("yarn", 100_000, "mapreduce", 324.0, "single-node YARN"),
    Figure("local", 100_000, "mapreduce", 100.0, "local runner"),
)
#: the goals of issue 15
GOALS = (
    Figure("yarn", 2_000, "mapreduce", 30.0, "the MapReduce stage of a 2,000-status day on YARN"),
    Figure("yarn", 100_000, "total", 120.0, "a 100,000-status day through every stage on YARN"),
    Figure("local", 100_000, "mapreduce", 100.0, "the local runner no slower than today (100,000 statuses)"),
)


# ---------------------------------------------------------------------------------------------
# pure: what the table says

def parse_sizes(values: list[str] | None) -> tuple[int, ...]:
    """``--statuses`` values (repeatable, comma lists, ``2k``) as day sizes, each once, in order."""
    sizes = []
    for value in values or []:
        for item in value.split(","):
            item = item.strip().lower().replace("_", "")
            if not item:
                continue
            number = int(item[:-1]) * 1000 if item.endswith("k") else int(item)
            if number < 1:
                raise ValueError(f"--statuses {item}: a day needs at least one status")
            sizes.append(number)
    return tuple(dict.fromkeys(sizes)) or DEFAULT_SIZES


def default_profile(framework: str, hadoop_conf_dir: str, repo_root: Path = REPO_ROOT) -> str:
    """``cluster`` when the Hadoop configuration is var/cluster's (var/cluster/env.sh sets HADOOP_CONF_DIR
    there; nothing else marks the cluster), else the framework's name."""
    on_cluster = Path(hadoop_conf_dir).resolve().is_relative_to((repo_root / "var" / "cluster").resolve())
    if on_cluster:
        return "cluster" if framework == "yarn" else f"cluster-{framework}"
    return framework


def stage_seconds(collect: float, mapreduce_stage: float, day: DayReport, load: float, total: float) -> dict:
    """The seconds of every row: the stages as timed around their calls, the MapReduce jobs from the
    day's report (every metric's report carries the one metrics job's wall time: counted once)."""
    def wall(name: str) -> float:
        job = day.job(name)
        return job.wall_seconds if job else 0.0

    metrics = max((job.wall_seconds for job in day.jobs if job.name in METRICS), default=0.0)
    seconds = {"collect": collect, "curate": wall("curate"), "parquet": wall("parquet"), "metrics": metrics,
               "mapreduce": mapreduce_stage, "load": load, "total": total}
    return {row: round(value, 3) for row, value in seconds.items()}


def figure_for(figures, framework: str, statuses: int, row: str) -> Figure | None:
    return next((figure for figure in figures
                 if (figure.framework, figure.statuses, figure.row) == (framework, statuses, row)), None)


def ratio(seconds: float | None, figure: Figure | None) -> str:
    if seconds is None or figure is None:
        return "-"
    return f"{seconds / figure.seconds:.2f}"


def measurements(documents: list[dict]) -> dict[tuple[str, int], dict]:
    """(profile, statuses) -> the latest measurement of that day size in that profile over the runs'
    documents, each with its run's profile, time, host and commit."""
    latest: dict[tuple[str, int], dict] = {}
    for document in documents:
        run = {key: document.get(key) for key in ("profile", "measured_at", "host", "cores", "commit")}
        for day in document["days"]:
            entry = {**run, **day}
            key = (run["profile"], day["statuses"])
            if key not in latest or entry["measured_at"] >= latest[key]["measured_at"]:
                latest[key] = entry
    return latest


def profiles_of(measured: dict[tuple[str, int], dict]) -> list[str]:
    names = {profile for profile, _ in measured}
    return [name for name in PROFILE_ORDER if name in names] + sorted(names - set(PROFILE_ORDER))


def size_rows(measured: dict[tuple[str, int], dict], statuses: int, profiles: list[str]) -> list[list[str]]:
    """One size's rows: the stage, then per profile its seconds, ratio to today's figure, ratio to the goal."""
    rows = []
    for row, label in ROWS:
        cells = [label]
        for profile in profiles:
            entry = measured.get((profile, statuses))
            seconds = entry["seconds"].get(row) if entry else None
            framework = entry["framework"] if entry else ""
            cells += ["-" if seconds is None else f"{seconds:.1f}",
                      ratio(seconds, figure_for(BASELINES, framework, statuses, row)),
                      ratio(seconds, figure_for(GOALS, framework, statuses, row))]
        rows.append(cells)
    return rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (pasted into the issue as it is), columns padded, all but the first right-aligned."""
    widths = [max(len(line[index]) for line in [header, *rows]) for index in range(len(header))]

    def line(cells):
        return "| " + " | ".join(cell.ljust(width) if index == 0 else cell.rjust(width)
                                 for index, (cell, width) in enumerate(zip(cells, widths))) + " |"

    rule = "|" + "|".join("-" * (width + 1) + (":" if index else "-") for index, width in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(cells) for cells in rows)])


def goal_lines(measured: dict[tuple[str, int], dict], profiles: list[str]) -> list[str]:
    """Each goal, and whether each profile that measured it met it."""
    lines = []
    for goal in GOALS:
        results = []
        for profile in profiles:
            entry = measured.get((profile, goal.statuses))
            if entry is None or entry["framework"] != goal.framework or goal.row not in entry["seconds"]:
                continue
            seconds = entry["seconds"][goal.row]
            verdict = "met" if seconds <= goal.seconds else "NOT met"
            results.append(f"{profile} {seconds:.1f} s ({seconds / goal.seconds:.2f}, {verdict})")
        lines.append(f"- {goal.what} <= {goal.seconds:.0f} s: {'; '.join(results) or 'not measured'}")
    return lines


def format_tables(documents: list[dict]) -> str:
    """The benchmark table of the runs' documents: one block per size of day, the profiles side by side."""
    measured = measurements(documents)
    profiles = profiles_of(measured)
    header = ["stage"] + [cell for profile in profiles for cell in (f"{profile} s", "x today", "x goal")]
    blocks = []
    for statuses in sorted({statuses for _, statuses in measured}):
        notes = [f"{profile}: MapReduce on {entry['framework']}, {entry['raw_lines']:,} raw lines, "
                 f"{entry['curated']:,} curated; {entry['measured_at']} on {entry['host']} ({entry['cores']} cores), "
                 f"commit {entry['commit']}"
                 for profile in profiles if (entry := measured.get((profile, statuses)))]
        blocks.append(f"{statuses:,} statuses a day\n\n{markdown(header, size_rows(measured, statuses, profiles))}\n\n"
                      + "\n".join(notes))
    reference = [f"- {figure.statuses:,} statuses, {dict(ROWS)[figure.row].strip()}: {figure.seconds:.0f} s "
                 f"({figure.what})" for figure in BASELINES]
    return "\n\n".join(blocks + ["x today: the ratio to the figure of when issue 15 was filed (by the framework "
                                 "that ran MapReduce: the cluster is set against single-node YARN):\n"
                                 + "\n".join(reference),
                                 "x goal: the ratio to the goal; <= 1.00 is met:\n"
                                 + "\n".join(goal_lines(measured, profiles))])


# ---------------------------------------------------------------------------------------------
# files

def write_figures(path: Path, document: dict) -> None:
    """The run's figures, written to a temporary name then renamed: a reader sees the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)


def read_figures(patterns: list[str]) -> list[dict]:
    # a pattern that matches nothing is left out; a plain name that does not exist is an error below
    paths = sorted({path for pattern in patterns
                    for path in (glob.glob(pattern) or ([] if glob.has_magic(pattern) else [pattern]))})
    documents = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise SystemExit(f"{path}: not a figures file of bench_stages.py: {error}") from error
        if document.get("benchmark") != "stages":
            raise SystemExit(f"{path}: not a figures file of bench_stages.py (no \"benchmark\": \"stages\")")
        documents.append(document)
    if not documents:
        raise SystemExit(f"no figures to tabulate: run the benchmark first (it writes {FIGURES_DIR}/*.json)")
    return documents


def commit() -> str:
    described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                               text=True)
    return described.stdout.strip() or "unknown"


# ---------------------------------------------------------------------------------------------
# one day through the stages

def create_tables(settings: Settings) -> None:
    connection = connect(settings)
    try:
        ensure_tables(connection)
    finally:
        connection.close()


def remove_bench_data(settings: Settings) -> None:
    """The size's lake root and tables; a failure is said, not raised over the run's own error."""
    for what, remove in ((f"HDFS {settings.root}",
                          lambda: hdfs_client(settings).delete(settings.root.rsplit("/", 1)[0], recursive=True)),
                         (f"HBase tables {settings.table_prefix}*",
                          lambda: drop_tables(settings.hbase_host, settings.hbase_port, settings.table_prefix))):
        try:
            remove()
        except Exception as error:  # noqa: BLE001 - cleanup after the measurement: report and go on
            print(f"warning: could not remove {what}: {type(error).__name__}: {error}", file=sys.stderr)


def render_day(urls, day: dt.date) -> None:
    """Have each stand-in instance render ``day`` (and the two days its late copies land in) before
    the clock starts: the stand-in generates a day's statuses in this process on its first request,
    work that a real instance never does for its clients, and that would be counted as collect."""
    began = time.monotonic()
    with requests.Session() as session:
        for url in urls:
            for offset in range(3):
                first = first_id_at(day_start(day + dt.timedelta(days=offset)))
                session.get(f"{url}/api/v1/timelines/public", params={"min_id": first - 1, "limit": 1},
                            timeout=900).raise_for_status()
    print(f"  (the stand-in rendered the day in {time.monotonic() - began:.1f} s, before the clock)", flush=True)


def measure_day(base: Settings, day: dt.date, statuses: int, keep: bool) -> dict:
    """Serve ``statuses`` on ``day`` from a stand-in federation and run every stage on them; the figures."""
    tag = uuid.uuid4().hex[:6]
    federation = Federation(seed=15, start=day, days=1, statuses_per_day=statuses,
                            accounts_per_instance=max(40, statuses // 50))
    with federation.serve() as running:
        # the stand-in needs no token; one from the environment would be refused for three instances
        settings = base.with_overrides(root=f"/bench-stages-{tag}/datalake", table_prefix=f"bench{tag}",
                                       instances=tuple(sorted(running.urls.values())), access_token=Secret(None),
                                       access_tokens=(), max_pages=MAX_PAGES)
        print(f"{statuses:,} statuses on {day} over {len(running.urls)} instances; lake {settings.root}, "
              f"tables {settings.table_prefix}*", flush=True)
        try:
            create_tables(settings)
            render_day(running.urls.values(), day)
            started = time.monotonic()
            collected = collection.run(settings, [day], options=RunOptions.from_settings(settings))
            collect_s = time.monotonic() - started
            collected.raise_for_failures()
            if not collected.complete:
                raise SystemExit(f"the collection did not complete the day: a figure of it would mean nothing\n"
                                 f"{collected.format()}")
            print(f"  collect   {collect_s:7.1f} s", flush=True)
            mark = time.monotonic()
            computed = mapreduce.run(settings, [day])
            mapreduce_s = time.monotonic() - mark
            computed.raise_for_failures()
            print(f"  MapReduce {mapreduce_s:7.1f} s on {computed.days[0].framework}", flush=True)
            mark = time.monotonic()
            loaded = hbase.run(settings, [day])
            load_s = time.monotonic() - mark
            loaded.raise_for_failures()
            total_s = time.monotonic() - started
            print(f"  load      {load_s:7.1f} s; total {total_s:.1f} s", flush=True)
        finally:
            if not keep:
                remove_bench_data(settings)
    report = computed.days[0]
    return {"statuses": statuses, "day": day.isoformat(), "framework": report.framework,
            "instances": len(settings.instances), "raw_lines": report.raw_lines, "curated": report.curated,
            "seconds": stage_seconds(collect_s, mapreduce_s, report, load_s, total_s)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_stages.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statuses", action="append", metavar="N[,N...]",
                        help="statuses of the day: repeatable or a comma list, 2k = 2000 (default 2000,100000)")
    parser.add_argument("--framework", choices=("local", "yarn"),
                        help="MapReduce framework (default: as the settings say, DATALAKE_MR_FRAMEWORK or mapred-site)")
    parser.add_argument("--profile", help="the run's label in the table (default: cluster when var/cluster/env.sh "
                        "is sourced, else the framework: local or yarn)")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help=f"where to write the run's figures (default {FIGURES_DIR.relative_to(REPO_ROOT)}/"
                             "<profile>-<time>.json)")
    parser.add_argument("--table", nargs="*", metavar="FILE",
                        help="print the table of these figures files (default all of "
                             f"{FIGURES_DIR.relative_to(REPO_ROOT)}/) and exit, touching no service")
    parser.add_argument("--keep", action="store_true", help="keep the bench's lake roots and tables")
    args = parser.parse_args(argv)

    if args.table is not None:
        print(format_tables(read_figures(args.table or [str(FIGURES_DIR / "*.json")])))
        return 0
    try:
        sizes = parse_sizes(args.statuses)
    except ValueError as error:
        parser.error(str(error))
    settings = Settings.from_env()
    if args.framework:
        settings = settings.with_overrides(mr_framework=args.framework)
    profile = args.profile or default_profile(configured_framework(settings), settings.hadoop_conf_dir)
    measured_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    path = args.json or FIGURES_DIR / f"{profile}-{measured_at:%Y%m%dT%H%M%SZ}.json"
    document = {"benchmark": "stages", "profile": profile, "measured_at": measured_at.isoformat(),
                "host": socket.gethostname(), "cores": os.cpu_count(), "commit": commit(), "days": []}
    day = dt.date.today() - dt.timedelta(days=1)
    print(f"profile {profile}: HDFS {settings.webhdfs_url}, HBase {settings.hbase_host}:{settings.hbase_port}, "
          f"Hadoop configuration {settings.hadoop_conf_dir}", flush=True)
    for statuses in sizes:
        document["days"].append(measure_day(settings, day, statuses, args.keep))
        write_figures(path, document)  # after each size: a later failure keeps what was measured
    print()
    print(format_tables([document]))
    print(f"\nfigures in {path}; `python bench/bench_stages.py --table` puts every profile's side by side")
    return 0


if __name__ == "__main__":
    sys.exit(main())
