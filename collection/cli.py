"""``python -m collection``: run and inspect the collection stage without Airflow.

Configuration comes from the environment (datalake/settings.py, README "Configuration");
options override it for one run. The access token is read only from MASTODON_ACCESS_TOKEN,
never from the command line, where other users could see it in the process list.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from collection import run as run_collection
from collection.collector import DEFAULT_PART_SIZE, RunOptions, days_between
from collection.mastodon_client import RequestPolicy
from collection.rawzone import RawZone, parse_part_name
from collection.report import describe_id
from collection.snowflake import format_timestamp, id_to_datetime
from datalake.cli_types import iso_date, positive_int
from datalake.errors import DatalakeError
from datalake.lake import hdfs_client, layout, list_names
from datalake.settings import ConfigError, Settings, parse_instances

EPILOG = """\
environment: MASTODON_INSTANCES, MASTODON_ACCESS_TOKENS / MASTODON_ACCESS_TOKEN (optional, never logged),
MASTODON_TIMELINE, MASTODON_MAX_PAGES, DATALAKE_LATENESS_DAYS, DATALAKE_MAX_RATE_LIMIT_WAIT,
DATALAKE_WEBHDFS_URL, DATALAKE_ROOT (see README.md, Configuration)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m collection",
        description="Collect public statuses of Mastodon instances into the HDFS raw zone "
                    "(raw/mastodon/instance=<domain>/dt=<date>/), incrementally from each instance's checkpoint.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    collect = commands.add_parser(
        "collect", help="collect a UTC day (or days) of one or every configured instance",
        description="Collect the statuses of a data interval into the raw zone, with the lateness window before it "
                    "(late statuses) and every day missed since each instance's checkpoint. Progress goes to stderr, "
                    "a summary to stdout. Exit status 1 if any instance failed (the others still complete), 3 if "
                    "a day is incomplete (max_pages, rate limit, the day has not ended).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    when = collect.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", type=iso_date, help="the UTC day YYYY-MM-DD: the data interval [date, date+1)")
    when.add_argument("--from", dest="first", type=iso_date, metavar="YYYY-MM-DD",
                      help="first day of a longer interval (with --to)")
    collect.add_argument("--to", dest="last", type=iso_date, metavar="YYYY-MM-DD", help="last day, inclusive (with --from)")
    collect.add_argument("--instance", action="append", metavar="URL",
                         help="base URL of an instance (repeatable); default: MASTODON_INSTANCES")
    collect.add_argument("--timeline", help="public, local or tag:<name>; default: MASTODON_TIMELINE or public")
    collect.add_argument("--max-pages", type=positive_int, help="at most this many timeline pages per instance "
                                                             "(default: MASTODON_MAX_PAGES or 1000)")
    collect.add_argument("--lateness-days", type=int, help="days before the interval to re-read for late statuses "
                                                           "(default: DATALAKE_LATENESS_DAYS or 1; 0 = off)")
    collect.add_argument("--part-size", type=positive_int, default=DEFAULT_PART_SIZE,
                         help=f"statuses per raw part file (default {DEFAULT_PART_SIZE})")
    collect.add_argument("--timeout", type=float, help="seconds to wait for an answer (default: MASTODON_REQUEST_TIMEOUT "
                                                       "or 30)")
    collect.add_argument("--retries", type=positive_int, default=RequestPolicy.attempts,
                         help=f"attempts per request on 5xx answers and timeouts (default {RequestPolicy.attempts})")
    collect.add_argument("--backoff", type=float, default=RequestPolicy.initial_backoff,
                         help="seconds before the first retry, doubling each time "
                              f"(default {RequestPolicy.initial_backoff})")
    collect.add_argument("--progress-every", type=float, default=5.0, help="seconds between progress lines (default 5)")
    collect.add_argument("--json", action="store_true", help="print the report as JSON")
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
        if args.last:
            parser.error("--to goes with --from, not --date")
        days = [args.date]
    else:
        if not args.last or args.last < args.first:
            parser.error("--from needs --to, on or after it")
        days = days_between(args.first, args.last)
    overrides = {}
    if args.instance:
        overrides["instances"] = tuple(url for value in args.instance for url in parse_instances(value))
    if args.timeline:
        overrides["timeline"] = args.timeline
    settings = settings.with_overrides(**overrides)
    policy = RequestPolicy(attempts=args.retries, initial_backoff=args.backoff,
                           max_rate_limit_wait=settings.max_rate_limit_wait)
    options = RunOptions.from_settings(settings, max_pages=args.max_pages, lateness_days=args.lateness_days,
                                       part_size=args.part_size, request_timeout=args.timeout, policy=policy,
                                       progress_every=args.progress_every)
    try:
        report = run_collection(settings, days, options=options)
    except DatalakeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if error.permanent else 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    if report.failures:
        return 1
    return 0 if report.complete else 3


def _status(args, settings: Settings) -> int:
    client, lake = hdfs_client(settings), layout(settings)
    # The directories that hold one instance=<domain> entry per instance.
    domains = set()
    for root in (lake.collection_state_root, lake.raw_root):
        domains.update(name.split("=", 1)[1] for name in list_names(client, root) if name.startswith("instance="))
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
            print(f"{domain}: high-water id {describe_id(str(checkpoint.high_water_id))}, "
                  f"from {checkpoint.base_url}, updated {checkpoint.updated_at}")
        else:
            print(f"{domain}: no checkpoint")
        if args.date:
            state = zone.read_day_state(args.date)
            if state is not None:
                print(f"  {args.date}: {state.state}{' (' + state.reason + ')' if state.reason else ''}, "
                      f"{state.statuses} statuses, updated {state.updated_at}")
            partition = zone.partition(args.date)
            names = list_names(client, partition)
            print(f"  {partition}: {len(names)} files")
            for name in names:
                ids = parse_part_name(name)
                size = client.status(f"{partition}/{name}")["length"]
                span = (f"{format_timestamp(id_to_datetime(ids[0]))} .. {format_timestamp(id_to_datetime(ids[1]))}"
                        if ids else "(not a finished part)")
                print(f"    {name}  {size} bytes  {span}")
    return 0
