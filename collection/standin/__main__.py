"""``python -m collection.standin``: run a stand-in Mastodon federation until interrupted."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading

from datalake.cli_types import iso_date
from collection.snowflake import format_timestamp, parse_timestamp
from collection.standin import DEFAULT_DOMAINS, FaultConfig, Federation, RunningFederation

EPILOG = """\
Each instance listens on 127.0.0.1, from --port upwards (0: free ports), and the list
"<domain> <base URL>" goes to stdout. Point the collector at them with
  MASTODON_INSTANCES=http://127.0.0.1:8701,http://127.0.0.1:8702 python -m collection collect --date ...

Faults can be changed while it runs:
  curl -X POST localhost:8701/_standin/config -d '{"error_rate": 0.3, "rate_limit": 5, "rate_window": 1}'
  curl -X POST localhost:8701/_standin/now -d '{"now": "2026-11-17T12:00:00Z"}'
  curl localhost:8701/_standin/stats
The token that lifts --refuse-* is read from STANDIN_ACCESS_TOKEN (not an option: ps shows options).
"""


def _moment(value: str) -> dt.datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 time") from None


def _refusal(value: str) -> int:
    if value not in ("401", "403", "422"):
        raise argparse.ArgumentTypeError("a refusal is HTTP 401, 403 or 422")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m collection.standin",
        description="Serve a deterministic (seeded) federation of stand-in Mastodon instances over Mastodon's "
                    "HTTP API, with switchable faults, for tests and offline demos.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--domains", default=",".join(DEFAULT_DOMAINS),
                      help=f"comma-separated instance domains (default {','.join(DEFAULT_DOMAINS)})")
    data.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    data.add_argument("--start", type=iso_date, default=dt.date(2026, 11, 17), help="first UTC day (default 2026-11-17)")
    data.add_argument("--days", type=int, default=2, help="number of days (default 2)")
    data.add_argument("--statuses-per-day", type=int, default=200, help="statuses published per day (default 200)")
    data.add_argument("--accounts-per-instance", type=int, default=40, help="accounts per origin (default 40)")
    data.add_argument("--reach", type=float, default=0.5,
                      help="probability that a status reaches each other instance (default 0.5)")
    data.add_argument("--late-share", type=float, default=0.0,
                      help="share of remote copies delivered late, with an id of their arrival (default 0)")
    data.add_argument("--backdated-share", type=float, default=0.0,
                      help="share of remote copies fetched later, with an id of their created_at (default 0)")
    data.add_argument("--max-delay-hours", type=float, default=20.0,
                      help="late copies arrive up to this long after created_at (default 20, at most 47)")
    data.add_argument("--cache-days", type=int, default=4,
                      help="rendered days kept in memory per instance (default 4; ~3.2 KB a status)")
    data.add_argument("--now", type=_moment, help="the servers' clock: serve statuses up to this time "
                                                  "(default: the end of the last day)")
    data.add_argument("--time-scale", type=float, default=0.0,
                      help="let the clock run, this many simulated seconds per second (default 0: it stands still "
                           "at --now); rate-limit windows shrink with it")
    data.add_argument("--busy", action="store_true",
                      help="Mastodon's real paging limit: 300 timeline requests with min_id/max_id/since_id per 15 "
                           "minutes (of the simulated clock), as on a busy instance")
    net = parser.add_argument_group("network")
    net.add_argument("--port", type=int, default=0,
                     help="port of the first instance, the next ones follow (default 0: free ports)")
    net.add_argument("--urls-file", help="also write {domain: base URL} as JSON to this file")
    net.add_argument("--log-requests", action="store_true", help="log every request on stderr")
    faults = parser.add_argument_group(
        "faults (for every instance; per instance with --faults-json or /_standin/config)")
    faults.add_argument("--error-rate", type=float, default=0.0, help="fraction of API requests answered 5xx")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    faults.add_argument("--slow-rate", type=float, default=1.0,
                        help="fraction of answers that get --latency (default 1)")
    faults.add_argument("--refuse-public", type=_refusal, help="refuse the federated timeline with 401, 403 or 422")
    faults.add_argument("--refuse-local", type=_refusal, help="refuse the local timeline with 401, 403 or 422")
    faults.add_argument("--refuse-tag", type=_refusal, help="refuse hashtag timelines with 401, 403 or 422")
    faults.add_argument("--rate-limit", type=int, default=0, help="API requests per window (default 0: unlimited)")
    faults.add_argument("--rate-window", type=float, default=300.0, help="rate-limit window in seconds (default 300)")
    faults.add_argument("--legacy-instance-api", action="store_true", help="answer 404 on /api/v2/instance")
    faults.add_argument("--faults-json",
                        help='per-instance settings, e.g. \'{"beta.example": {"refuse_public": 422}}\'')
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    domains = tuple(domain.strip() for domain in args.domains.split(",") if domain.strip())
    try:
        federation = Federation(seed=args.seed, domains=domains, start=args.start, days=args.days,
                                statuses_per_day=args.statuses_per_day,
                                accounts_per_instance=args.accounts_per_instance, reach=args.reach,
                                cache_days=args.cache_days, late_share=args.late_share,
                                backdated_share=args.backdated_share, max_delay_hours=args.max_delay_hours)
        common = FaultConfig().updated({
            "error_rate": args.error_rate, "latency": args.latency, "slow_rate": args.slow_rate,
            "refuse_public": args.refuse_public, "refuse_local": args.refuse_local, "refuse_tag": args.refuse_tag,
            "rate_limit": args.rate_limit, "rate_window": args.rate_window,
            "legacy_instance_api": args.legacy_instance_api,
            "access_token": os.environ.get("STANDIN_ACCESS_TOKEN") or None})
        if args.busy:
            scale = args.time_scale or 1.0
            common = common.updated({"rate_limit": 300, "rate_window": 900.0 / scale, "rate_limit_scope": "paging"})
        faults = {"*": common}
        if args.faults_json:
            per_instance = json.loads(args.faults_json)
            unknown = set(per_instance) - set(domains) - {"*"}
            if unknown:
                raise ValueError(f"--faults-json names unknown domains {sorted(unknown)}")
            faults.update({domain: common.updated(changes) for domain, changes in per_instance.items()})
        ports = {domain: args.port + index for index, domain in enumerate(domains)} if args.port else None
        running = RunningFederation(federation, now=args.now, faults=faults, ports=ports, quiet=not args.log_requests,
                                    time_scale=args.time_scale)
    except (ValueError, OSError) as error:
        print(f"python -m collection.standin: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with running:
        if args.urls_file:  # before stdout, whose lines tell a waiting script that all is ready
            with open(args.urls_file, "w") as handle:
                json.dump(running.urls, handle, indent=2)
        for domain, url in running.urls.items():
            print(f"{domain} {url}", flush=True)
        now = args.now or federation.end
        logging.info("serving %s: %d statuses a day from %s for %d days, now %s; Ctrl-C to stop", federation.domains,
                     federation.statuses_per_day, federation.start, federation.days, format_timestamp(now))
        logging.info("MASTODON_INSTANCES=%s", ",".join(running.urls.values()))
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
