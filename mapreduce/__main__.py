"""Command line of the MapReduce stage: ``python -m mapreduce --help``."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from datalake.cli_types import iso_date

DESCRIPTION = """\
The MapReduce stage of the Mastodon data lake, on Hadoop Streaming (mrjob, -r hadoop).

`run` curates a day's raw zone (every instance: dedupe by uri, validate, pseudonymize, quarantine
bad lines), then computes the metrics on the curated zone, all of them in one Hadoop job (`metrics`,
one read of the partition), and moves each metric's output into its zone:

  raw/mastodon/instance=*/dt=DAY  --curate-->  curated/statuses/dt=DAY + quarantine/curate/dt=DAY
  curated/statuses/dt=DAY  --metrics-->  aggregates/<metric>/dt=DAY (each metric's mrjob job, side by side)

Configuration comes from the environment (DATALAKE_ROOT, DATALAKE_WEBHDFS_URL, DATALAKE_PSEUDONYMIZE,
DATALAKE_PSEUDONYM_KEY[_FILE], DATALAKE_MR_FRAMEWORK, HADOOP_HOME, HADOOP_CONF_DIR: `. stack/env.sh`).
"""

EXAMPLES = """\
examples:
  python -m mapreduce run --date 2026-11-18
  python -m mapreduce run --date 2026-11-18 --metrics languages,tags --framework local
  python -m mapreduce run --date 2026-11-18 --no-curate --metrics users   # rerun one metric
  python -m mapreduce jobs
"""


def _metric_list(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    from mapreduce.pipeline import METRICS

    parser = argparse.ArgumentParser(prog="python -m mapreduce", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run", help="curate a day, then run the metric jobs; prints each job's Hadoop counters",
        description="Curate the raw zone of DATE (all instances), then run the metric jobs, each output "
                    "moved into its zone; prints each job's Hadoop counters at the end. A day without raw "
                    "input gives empty partitions. Exit status: 0 done, 1 a job failed, 2 bad usage or "
                    "configuration.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    when = run.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=iso_date, metavar="YYYY-MM-DD", help="the UTC day (the dt= partition) to process")
    when.add_argument("--from", dest="first", type=iso_date, metavar="YYYY-MM-DD",
                      help="the first of several days, with --to (each processed in turn)")
    run.add_argument("--to", dest="last", type=iso_date, metavar="YYYY-MM-DD", help="the last day, inclusive")
    run.add_argument("--metrics", nargs="+", metavar="METRIC",
                     help=f"metric jobs to run, space or comma separated (default: all: {', '.join(METRICS)})")
    run.add_argument("--framework", choices=("local", "yarn"),
                     help="Hadoop's local job runner or YARN (default: DATALAKE_MR_FRAMEWORK, else mapred-site.xml)")
    run.add_argument("--no-curate", dest="curate", action="store_false",
                     help="reuse the curated partition already in the lake (rerun metrics only)")
    run.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    run.add_argument("--verbose", "-v", action="store_true", help="also show mrjob's and Hadoop's log lines")

    commands.add_parser("jobs", help="list the jobs, their classes and zones",
                        description="List the jobs of the stage with their mrjob class, input and output zone.")
    return parser


def _list_jobs() -> int:
    from mapreduce.mr_curate import MRCurate
    from mapreduce.mr_metrics import METRIC_JOBS, MRMetrics

    rows = [("curate", f"{MRCurate.__module__}.{MRCurate.__name__}", "raw/mastodon/instance=*/dt=DAY",
             "curated/statuses/dt=DAY, quarantine/curate/dt=DAY")]
    rows += [("metrics", f"{MRMetrics.__module__}.{MRMetrics.__name__}", "curated/statuses/dt=DAY",
              "aggregates/<metric>/dt=DAY: the metrics below in one Hadoop job")]
    rows += [(name, f"{job.__module__}.{job.__name__}", "(in metrics)", f"aggregates/{name}/dt=DAY")
             for name, job in METRIC_JOBS.items()]
    print(f"{'job':<10} {'class':<36} {'input':<32} output")
    for row in rows:
        print(f"{row[0]:<10} {row[1]:<36} {row[2]:<32} {row[3]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "jobs":
        return _list_jobs()

    from datalake.errors import DatalakeError
    from datalake.settings import Settings
    from mapreduce.pipeline import METRICS, run

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logging.getLogger("mapreduce").addHandler(handler)
    logging.getLogger("mapreduce").setLevel(logging.INFO)
    if args.verbose:
        logging.getLogger("mrjob").addHandler(handler)
        logging.getLogger("mrjob").setLevel(logging.INFO)
    if args.first and (not args.last or args.last < args.first):
        print("error: --from needs --to, on or after it", file=sys.stderr)
        return 2
    metrics = _metric_list(args.metrics) if args.metrics else None
    unknown = [name for name in metrics or () if name not in METRICS]
    if unknown:
        print(f"error: unknown metric(s) {', '.join(unknown)}; choose among {', '.join(METRICS)}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        if args.framework:
            settings = settings.with_overrides(mr_framework=args.framework)
        report = run(settings, _days(args), metrics, curate=args.curate)
    except DatalakeError as error:
        print(f"error: {'configuration: ' if error.permanent else ''}{error}", file=sys.stderr)
        return 2 if error.permanent else 1
    if args.json:
        print(json.dumps([day.to_dict() for day in report.days], indent=2, ensure_ascii=False))
    else:
        print(report.format())
    for error in dict.fromkeys(job.error for job in report.failed):  # the metrics share one Hadoop job
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.failed else 0


def _days(args) -> list[dt.date]:
    if args.date:
        return [args.date]
    return [args.first + dt.timedelta(days=offset) for offset in range((args.last - args.first).days + 1)]


if __name__ == "__main__":
    sys.exit(main())
