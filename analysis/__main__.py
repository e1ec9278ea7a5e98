"""``python -m analysis``: run the analysis notebook headless, or print the text summary.

Connection settings come from the environment (datalake/settings.py: HBASE_THRIFT_HOST,
HBASE_THRIFT_PORT, HBASE_TABLE_PREFIX); the options override them.
Exit status: 0 done, 1 the notebook failed, 2 configuration or HBase not reachable.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from datalake.cli_types import iso_date
from datalake.settings import ConfigError, Settings

DEFAULT_OUTPUT_DIR = "out/analysis"
SQL_DESCRIPTION = """\
Run one SQL statement with DuckDB over the Parquet copy of the curated zone
(curated/statuses_parquet/dt=DAY/part-*.parquet under DATALAKE_ROOT, read through WebHDFS at
DATALAKE_WEBHDFS_URL), exposed as the view `statuses`: one row per status, the columns of
docs/data-formats.md plus dt (DATE, the day of the partition). Timestamps are in UTC.

Exit status: 0 done, 1 DuckDB refused the query (its message is printed), 2 no partition for
the days, HDFS not reachable, or bad usage."""


def _parser(settings: Settings | None) -> argparse.ArgumentParser:
    host = settings.hbase_host if settings else "localhost"
    port = settings.hbase_port if settings else 9090
    prefix = settings.table_prefix if settings else ""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="The analysis layer of the Mastodon data lake: HBase tables → pandas → charts.",
        epilog="HBase settings default to HBASE_THRIFT_HOST, HBASE_THRIFT_PORT and HBASE_TABLE_PREFIX.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def hbase_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default=host, help=f"HBase Thrift host (now: {host})")
        command.add_argument("--port", type=int, default=port, help=f"HBase Thrift port (now: {port})")
        command.add_argument("--table-prefix", default=prefix,
                             help=f"HBase table prefix (now: {prefix!r}; '' for none)")

    run = commands.add_parser(
        "run", help="execute the notebook headless: executed .ipynb, HTML and one PNG per chart",
        description="Execute analysis/mastodon_analysis.ipynb against the current HBase and write the executed "
                    "notebook, an HTML export and each chart as a PNG (01_statuses_per_day.png, ...) "
                    "into the output directory.")
    hbase_options(run)
    run.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, type=Path,
                     help=f"where to write (default: {DEFAULT_OUTPUT_DIR})")
    run.add_argument("--top-n", type=int, default=15, help="bars in the ranked charts (default: 15)")
    run.add_argument("--cell-timeout", type=int, default=600, help="seconds one notebook cell may take (default: 600)")

    summary = commands.add_parser("summary", help="print the text summary of the HBase tables (no notebook)")
    hbase_options(summary)

    sql = commands.add_parser(
        "sql", help="SQL (DuckDB) over the Parquet curated zone, as the view `statuses`",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=SQL_DESCRIPTION,
        epilog='examples:\n'
               '  python -m analysis sql "SELECT language, count(*) AS statuses FROM statuses '
               'GROUP BY ALL ORDER BY 2 DESC" --from 2026-11-18 --to 2026-11-18\n'
               '  python -m analysis sql "SELECT hour(created_at) AS hour, count(*) FROM statuses '
               'GROUP BY ALL ORDER BY 1" --csv')
    sql.add_argument("query", metavar="SQL", help="the statement, e.g. \"SELECT count(*) FROM statuses\"")
    sql.add_argument("--from", dest="first", type=iso_date, metavar="YYYY-MM-DD",
                     help="first day (default: the first partition)")
    sql.add_argument("--to", dest="last", type=iso_date, metavar="YYYY-MM-DD",
                     help="last day (default: the last partition)")
    sql.add_argument("--csv", action="store_true", help="print CSV with a header line instead of a table")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
        config_error = None
    except ConfigError as exc:
        settings, config_error = None, exc
    args = _parser(settings).parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("papermill", "traitlets", "nbconvert", "matplotlib", "PIL", "hdfs"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    if config_error is not None:
        print(f"analysis: configuration error: {config_error}", file=sys.stderr)
        return 2

    from analysis.hbase_frames import AnalysisError
    from analysis.runner import NotebookError
    from analysis.sql import QueryError

    try:
        if args.command == "summary":
            return _summary(args)
        if args.command == "sql":
            return _sql(args, settings)
        return _run(args)
    except QueryError as exc:
        print(f"analysis sql: error: {exc}", file=sys.stderr)
        return 1
    except NotebookError as exc:
        print(f"analysis: error: {exc}", file=sys.stderr)
        return 1
    except AnalysisError as exc:
        print(f"analysis: error: {exc}", file=sys.stderr)
        return 2


def _summary(args) -> int:
    from analysis.hbase_frames import load_frames
    from analysis.summary import summarize

    print(summarize(load_frames(args.host, args.port, args.table_prefix), markdown=False))
    return 0


def _sql(args, settings: Settings) -> int:
    from analysis.sql import format_csv, format_table, run_query

    if args.first and args.last and args.first > args.last:
        print(f"analysis sql: error: --from {args.first} is after --to {args.last}", file=sys.stderr)
        return 2
    result = run_query(settings, args.query, args.first, args.last)
    if args.csv:
        sys.stdout.write(format_csv(result))
    else:
        print(format_table(result))
    return 0


def _run(args) -> int:
    from analysis.runner import run_analysis

    if args.top_n < 1:
        print("analysis: error: --top-n must be at least 1", file=sys.stderr)
        return 2
    result = run_analysis(args.output_dir, args.host, args.port, args.table_prefix, top_n=args.top_n,
                          cell_timeout_s=args.cell_timeout)
    print(f"analysis: done in {result.seconds:.0f} s; output in {result.output_dir}")
    print(f"  executed notebook  {result.notebook}")
    print(f"  HTML report        {result.html}")
    print(f"  charts ({len(result.pngs)} PNG)")
    for png in result.pngs:
        print(f"    {png}")
    for title, reason in result.no_data.items():
        print(f"  no chart: {title}: {reason}")
    if result.notes:
        print(f"  {len(result.notes)} note(s) from reading HBase (also in the notebook's summary):")
        for note in result.notes[:5]:
            print(f"    {note}")
        if len(result.notes) > 5:
            print(f"    … and {len(result.notes) - 5} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
