"""``python -m collection``: run and inspect the collection stage without Airflow.

Configuration comes from the environment (datalake/settings.py, README "Configuration");
options override it for one run. The access token is read only from MASTODON_ACCESS_TOKEN,
never from the command line, where other users could see it in the process list.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import posixpath
import sys

from datalake.cli_types import iso_date, positive_int
from collection.collector import DEFAULT_PART_SIZE, CollectionResult, collect_all, day_interval
from collection.errors import CollectionError
from collection.mastodon_client import RetryPolicy
from collection.rawzone import RawZone, parse_part_name
from collection.snowflake import format_timestamp, id_to_datetime, parse_timestamp
from datalake.lake import hdfs_client, layout
from datalake.settings import ConfigError, Settings, parse_instances

EPILOG = """\
environment: MASTODON_INSTANCES, MASTODON_ACCESS_TOKEN (optional, never logged), MASTODON_TIMELINE,
MASTODON_MAX_PAGES, DATALAKE_WEBHDFS_URL, DATALAKE_ROOT (see README.md, Configuration)."""


def _moment(value: str) -> dt.datetime:
    try:
        return parse_timestamp(value if "T" in value or " " in value else value + "T00:00:00Z")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time such as 2026-11-18T00:00:00Z") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m collection",
        description="Collect public statuses of Mastodon instances into the HDFS raw zone "
                    "(raw/mastodon/instance=<domain>/dt=<date>/), incrementally from each instance's checkpoint.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    collect = commands.add_parser(
        "collect", help="collect one data interval (a UTC day) of one or every configured instance",
        description="Collect the statuses created in a data interval into the raw zone. Progress goes to stderr, "
                    "a summary to stdout. Exit status 1 if any instance failed (the others still complete).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    when = collect.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=iso_date, help="the UTC day YYYY-MM-DD: the data interval [date, date+1)")
    when.add_argument("--start", type=_moment, help="start of the data interval (ISO 8601, UTC if no offset); "
                                                    "needs --end")
    collect.add_argument("--end", type=_moment, help="end of the data interval, exclusive (with --start)")
    collect.add_argument("--instance", action="append", metavar="URL",
                         help="base URL of an instance (repeatable); default: MASTODON_INSTANCES")
    collect.add_argument("--timeline", help="public, local or tag:<name>; default: MASTODON_TIMELINE or public")
    collect.add_argument("--max-pages", type=positive_int, help="at most this many timeline pages per instance "
                                                             "(default: MASTODON_MAX_PAGES or 1000)")
    collect.add_argument("--part-size", type=positive_int, default=DEFAULT_PART_SIZE,
                         help=f"statuses per raw part file (default {DEFAULT_PART_SIZE})")
    collect.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer (default 30)")
    collect.add_argument("--retries", type=positive_int, default=RetryPolicy.attempts,
                         help=f"attempts per request on 5xx answers and timeouts (default {RetryPolicy.attempts})")
    collect.add_argument("--backoff", type=float, default=RetryPolicy.initial_backoff,
                         help="seconds before the first retry, doubling each time "
                              f"(default {RetryPolicy.initial_backoff})")
    collect.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines (default 5)")
    collect.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_verbosity(collect)

    status = commands.add_parser(
        "status", help="show each instance's checkpoint and, with --date, its raw parts of that day",
        description="Read-only view of the collector's state in HDFS: checkpoints (high-water id and its time) "
                    "and the raw parts of a day.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("--date", type=iso_date, help="also list the raw parts of this UTC day")
    status.add_argument("--domain", action="append", help="only this instance domain (repeatable)")
    _add_verbosity(status)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log every page (DEBUG)")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only warnings and errors")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # HdfsCLI logs every WebHDFS call at INFO
        for noisy in ("urllib3", "hdfs"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "collect":
        return _collect(parser, args, settings)
    return _status(args, settings)


def _collect(parser: argparse.ArgumentParser, args, settings: Settings) -> int:
    if args.date:
        if args.end:
            parser.error("--end goes with --start, not --date")
        interval_start, interval_end = day_interval(args.date)
    else:
        if not args.end:
            parser.error("--start needs --end")
        interval_start, interval_end = args.start, args.end
        if interval_end <= interval_start:
            parser.error("--end must be after --start")
    overrides = {}
    if args.instance:
        overrides["instances"] = tuple(url for value in args.instance for url in parse_instances(value))
    if args.timeline:
        overrides["timeline"] = args.timeline
    settings = settings.with_overrides(**overrides)
    retry = RetryPolicy(attempts=args.retries, initial_backoff=args.backoff)
    try:
        outcomes = collect_all(settings, interval_start, interval_end, args.max_pages, part_size=args.part_size,
                               retry=retry, request_timeout=args.timeout, progress_every=args.progress_every)
        failed = False
    except CollectionError as error:
        outcomes, failed = error.outcomes, True
    _print_summary(outcomes, args.json)
    return 1 if failed else 0


def _print_summary(outcomes: list, as_json: bool) -> None:
    if as_json:
        print(json.dumps([outcome.as_dict() if isinstance(outcome, CollectionResult) else {"error": str(outcome)}
                          for outcome in outcomes], indent=2))
        return
    rows = [("instance", "pages", "statuses", "parts", "statuses/s", "high-water id after", "state")]
    errors = []
    for outcome in outcomes:
        if isinstance(outcome, CollectionResult):
            rows.append((outcome.instance, str(outcome.pages), str(outcome.statuses), str(outcome.parts_written),
                         f"{outcome.statuses_per_second:.0f}", _describe_id(outcome.high_water_id_after),
                         outcome.state))
        else:
            errors.append(str(outcome))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    for error in errors:
        print(f"FAILED {error}")


def _describe_id(status_id: str | None) -> str:
    if not status_id:
        return "-"
    return f"{status_id} ({format_timestamp(id_to_datetime(status_id))})"


def _status(args, settings: Settings) -> int:
    client, lake = hdfs_client(settings), layout(settings)
    # The directories that hold one instance=<domain> entry per instance.
    state_root = posixpath.dirname(posixpath.dirname(lake.checkpoint("any")))
    raw_root = posixpath.dirname(lake.raw_instance("any"))
    domains = set()
    for root in (state_root, raw_root):
        if client.status(root, strict=False) is not None:
            domains.update(name.split("=", 1)[1] for name in client.list(root) if name.startswith("instance="))
    if args.domain:
        domains &= set(args.domain)
    if not domains:
        print(f"no instance collected yet under {settings.root}")
        return 0
    for domain in sorted(domains):
        zone = RawZone(client, lake, domain)
        try:
            checkpoint = zone.read_checkpoint()
        except ValueError as error:
            print(f"{domain}: {error}")
            continue
        if checkpoint:
            print(f"{domain}: high-water id {_describe_id(str(checkpoint.high_water_id))}, "
                  f"from {checkpoint.base_url}, updated {checkpoint.updated_at}")
        else:
            print(f"{domain}: no checkpoint")
        if args.date:
            partition = zone.partition(args.date)
            names = zone.list_names(partition)
            print(f"  {partition}: {len(names)} files")
            for name in names:
                ids = parse_part_name(name)
                size = client.status(f"{partition}/{name}")["length"]
                span = (f"{format_timestamp(id_to_datetime(ids[0]))} .. {format_timestamp(id_to_datetime(ids[1]))}"
                        if ids else "(not a finished part)")
                print(f"    {name}  {size} bytes  {span}")
    return 0
