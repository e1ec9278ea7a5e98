"""``python -m privacy``: personal-data operations on the lake (retention, erasure).

Configuration comes from the environment (README, "Configuration"): DATALAKE_ROOT,
DATALAKE_WEBHDFS_URL, DATALAKE_RAW_RETENTION_DAYS, DATALAKE_PSEUDONYMIZE,
DATALAKE_PSEUDONYM_KEY[_FILE], HBASE_THRIFT_HOST/PORT, HBASE_TABLE_PREFIX, DATALAKE_MR_FRAMEWORK.
The pseudonym key is never printed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from datalake.cli_types import iso_date

DESCRIPTION = """\
Personal data in the Mastodon data lake (docs/personal-data.md, docs/processing-register.md).

  retention         delete raw and quarantine partitions older than DATALAKE_RAW_RETENTION_DAYS
  erase             erase one person (user@host) from every zone and from HBase, recomputing what changes
  reapply-erasures  erase again, on one day, the people of the erasure list found in it (the DAG does this)
"""

EXAMPLES = """\
examples:
  python -m privacy retention --dry-run
  python -m privacy retention --days 30 --today 2026-12-01
  python -m privacy erase --handle ann@alpha.example --dry-run
  python -m privacy erase --handle ann@alpha.example
  python -m privacy reapply-erasures --date 2026-11-18

exit status: 0 done, 1 a step failed (the message says which and what to do), 2 bad usage or configuration
"""


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days (0 = retention off)")
    return number


def _handle(value: str) -> str:
    from privacy.errors import ErasureError
    from privacy.identity import canonical

    try:
        return canonical(value)
    except ErasureError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m privacy", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    retention = commands.add_parser(
        "retention", help="delete raw and quarantine partitions older than the retention",
        description="Delete the raw-zone partitions raw/mastodon/instance=*/dt=D and the quarantine partitions "
                    "quarantine/*/dt=D with D < TODAY - DAYS (so DAYS days before TODAY are kept). The curated and "
                    "aggregates zones hold pseudonyms only and are not touched. DAYS 0 (the default when "
                    "DATALAKE_RAW_RETENTION_DAYS is unset) turns retention off and deletes nothing.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    retention.add_argument("--today", type=iso_date, metavar="YYYY-MM-DD",
                           help="the day retention counts from (default: today, UTC; the DAG passes the end of "
                                "its data interval)")
    retention.add_argument("--days", type=_non_negative, metavar="N",
                           help="days of raw data to keep (default: DATALAKE_RAW_RETENTION_DAYS; 0 = off)")
    retention.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    retention.add_argument("--json", action="store_true", help="print the report as JSON")

    erase = commands.add_parser(
        "erase", help="erase one person from every zone and from HBase",
        description="Erase one person: remove their statuses (and boosts of them) from the raw, quarantine and "
                    "curated zones, redact mentions of them in other people's statuses, rewrite every changed file "
                    "atomically (same names), recompute the aggregates of the affected days and reload them into "
                    "HBase, delete what HBase still holds of them, and keep a keyed digest of the handle in the "
                    "erasure list so that the DAG erases their statuses again if a day is collected again. "
                    "Idempotent: rerun it to finish an interrupted erasure. The output names the handle; logs "
                    "name only the erasure-list entry.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    erase.add_argument("--handle", required=True, metavar="USER@HOST", type=_handle,
                       help="the person's handle, with the host of their own instance (e.g. ann@mastodon.social)")
    erase.add_argument("--dry-run", action="store_true",
                       help="scan and report what would change; change nothing (HDFS, HBase, erasure list)")
    erase.add_argument("--no-recompute", dest="recompute", action="store_false",
                       help="erase the zones only; do not recompute aggregates nor reload HBase (rerun later "
                            "without this option to finish)")
    erase.add_argument("--no-list", dest="remember", action="store_false",
                       help="do not add the person to the erasure list (a re-collection would bring them back)")
    erase.add_argument("--json", action="store_true", help="print the report as JSON")

    reapply = commands.add_parser(
        "reapply-erasures", help="erase again the listed people found in one day",
        description="Read one day's raw partitions, recognise the people of the erasure list among the authors, "
                    "boosted and quoted authors and mentions (by the keyed digest of their handle) and erase them "
                    "from that day. Reads nothing but the list when it is empty.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    reapply.add_argument("--date", required=True, type=iso_date, metavar="YYYY-MM-DD", help="the day (dt partition)")
    reapply.add_argument("--dry-run", action="store_true", help="report, change nothing")
    reapply.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("happybase", "hdfs", "urllib3", "mrjob"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)

    from datalake.errors import DatalakeError
    from datalake.settings import Settings

    try:
        settings = Settings.from_env()
        if args.command == "retention":
            from privacy.retention import apply_raw_retention

            today = args.today or dt.datetime.now(dt.timezone.utc).date()
            report = apply_raw_retention(settings, today, args.dry_run, retention_days=args.days)
        elif args.command == "erase":
            from privacy.erasure import erase_handle

            report = erase_handle(settings, args.handle, args.dry_run, remember=args.remember,
                                  recompute=args.recompute)
        else:
            from privacy.reapply import reapply_erasures

            report = reapply_erasures(settings, [args.date], args.dry_run)
    except DatalakeError as error:
        print(f"error: {'configuration: ' if error.permanent else ''}{error}", file=sys.stderr)
        return 2 if error.permanent else 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0
