"""``python -m hbase``: create the tables, load a day of aggregates, show a table's top rows."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time

from datalake.cli_types import iso_date, positive_int
from datalake.errors import DatalakeError
from datalake.settings import Settings
from hbase.errors import LoadError
from hbase.loader import DEFAULT_BATCH_SIZE, DEFAULT_READ_BATCH, BatchEvent
from hbase.stage import run as run_stage
from hbase.tables import ALL_TABLES, METRICS, connect, describe_target, ensure_tables, table_for

log = logging.getLogger("hbase")

EPILOG = """\
Configuration comes from the environment (README, "Configuration"): HBASE_THRIFT_HOST,
HBASE_THRIFT_PORT, HBASE_TABLE_PREFIX, DATALAKE_WEBHDFS_URL, DATALAKE_ROOT.
Examples:
  python -m hbase create-tables
  python -m hbase load --date 2026-11-18
  python -m hbase load --date 2026-11-18 --metrics users growth
  python -m hbase show language_table --limit 20
  python -m hbase show tags --day 2026-11-18
"""


def _metrics(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    metrics = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise LoadError(f"unknown metric(s) {', '.join(unknown)}; the metrics are {', '.join(METRICS)}")
    return metrics


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hbase", description="HBase tables of the Mastodon data lake: create them, load a day "
        "of the aggregates zone into them (batched, idempotent), show their top rows.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (every batch)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create-tables", help="create the missing tables (existing ones are untouched)",
                                 description="Create the missing tables with families data and daily "
                                 "(VERSIONS 1, BLOOMFILTER ROW, COMPRESSION GZ, block cache on). Idempotent.")
    create.add_argument("--tables", nargs="+", choices=ALL_TABLES, metavar="TABLE",
                        help=f"only these tables (default: all of {', '.join(ALL_TABLES)})")

    load = commands.add_parser(
        "load", help="load one day of /datalake/aggregates into HBase (and its day_table row)",
        description="Load one day of the aggregates zone (/datalake/aggregates/<metric>/dt=<DATE>/) into "
        "HBase. Creates missing tables. Safe to re-run for any day at any time: the day's cells are "
        "overwritten, cells a previous load of the day wrote and this one does not are removed, and the "
        "all-time data: cells are recomputed from what HBase stores.")
    load.add_argument("--date", required=True, type=iso_date, help="the day (dt partition) to load, YYYY-MM-DD")
    load.add_argument("--metrics", nargs="+", metavar="METRIC",
                      help=f"only these metrics (space or comma separated; default all: {', '.join(METRICS)})")
    load.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                      help=f"mutations per Thrift mutateRows call (default {DEFAULT_BATCH_SIZE})")
    load.add_argument("--read-batch", type=positive_int, default=DEFAULT_READ_BATCH,
                      help=f"rows per multi-get when reading rows back (default {DEFAULT_READ_BATCH})")

    show = commands.add_parser(
        "show", help="print a table's top rows",
        description="Print the top rows of a table: by data:count (user_table: data:toots; "
        "croissance_accounts_table: days seen), or with --day by that day's daily cell. Scans the table.")
    show.add_argument("table", metavar="TABLE", help=f"a table ({', '.join(ALL_TABLES)}) or a metric "
                      f"({', '.join(METRICS)})")
    show.add_argument("--limit", type=positive_int, default=10, help="rows to print (default 10)")
    show.add_argument("--day", type=iso_date, help="order by that day's daily:<DAY> cell instead")
    return parser


class Progress:
    """Logs the load's progress at most every ``every_s`` seconds (every batch with -v)."""

    def __init__(self, every_s: float = 2.0):
        self.every_s = every_s
        self.last = time.monotonic()

    def __call__(self, event: BatchEvent) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s or log.isEnabledFor(logging.DEBUG):
            self.last = now
            rate = event.cells_total / event.elapsed_s if event.elapsed_s > 0 else 0
            log.info("  %s: batch %d (%s cells) sent; %s cells so far, %s cells/s", event.table, event.number,
                     f"{event.cells:,}", f"{event.cells_total:,}", f"{rate:,.0f}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    if not args.verbose:
        logging.getLogger("happybase").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        if args.command == "create-tables":
            return _create_tables(settings, tuple(args.tables or ALL_TABLES))
        if args.command == "load":
            log.info("loading day %s from %s%s into %s", args.date, settings.webhdfs_url, settings.root,
                     describe_target(settings))
            report = run_stage(settings, [args.date], _metrics(args.metrics), batch_size=args.batch_size,
                               read_batch=args.read_batch, on_batch=Progress())
            print(report.format())
            return 1 if report.errors else 0
        if args.command == "show":
            return _show(settings, table_for(args.table), args.limit, args.day)
    except DatalakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if exc.permanent else 1
    return 2


def _create_tables(settings: Settings, tables: tuple[str, ...]) -> int:
    connection = connect(settings)
    try:
        result = ensure_tables(connection, tables)
    finally:
        connection.close()
    for name in tables:
        print(f"{name:28s} {'created' if name in result.created else 'exists (left untouched)'}")
    return 0


def _show(settings: Settings, table: str, limit: int, day: dt.date | None) -> int:
    from hbase.inspect import top_rows

    connection = connect(settings)
    try:
        print(top_rows(connection, table, limit, day).format())
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
