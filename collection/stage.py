"""The collection stage over a list of days: each instance in turn, refusals checked first."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from collection.collector import RunOptions, collect_instance, day_start
from collection.errors import CollectionError
from collection.mastodon_client import InstanceClient, RequestPolicy
from collection.report import CollectionReport, InstanceReport
from datalake.errors import DatalakeError
from datalake.settings import Settings

log = logging.getLogger(__name__)


def check_instances(instances) -> tuple[str, ...]:
    """The configured base URLs, refusing one configured twice (DESIGN.md, "Bad input")."""
    seen: dict[str, str] = {}
    for url in instances:
        key = url.rstrip("/").lower()
        if key in seen:
            raise CollectionError(f"instance {url}: configured twice (MASTODON_INSTANCES or the DAG param instances); "
                                  "list each instance once", permanent=True)
        seen[key] = url
    return tuple(url.rstrip("/") for url in instances)


def check_domains(settings: Settings, instances) -> dict[str, str]:
    """Ask each instance its domain and refuse two URLs that report the same one (their statuses would
    share partitions and a checkpoint). An instance that does not answer is left to its own run."""
    domains: dict[str, str] = {}
    for url in check_instances(instances):
        client = InstanceClient(url, settings.token_for(url).reveal(), policy=RequestPolicy(attempts=2),
                                request_timeout=min(settings.request_timeout, 10.0))
        try:
            domain = client.instance_domain()
        except CollectionError as error:
            if error.permanent:
                raise
            log.warning("%s", error)
            continue
        finally:
            client.close()
        other = next((known for known, seen in domains.items() if seen == domain), None)
        if other is not None:
            raise CollectionError(f"instance {url}: reports the domain {domain}, like {other}: two configured URLs of "
                                  "one instance would share its partitions and checkpoint; keep one of them",
                                  permanent=True)
        domains[url] = domain
    return domains


def interval_of(days) -> tuple[dt.datetime, dt.datetime]:
    """The data interval spanning ``days`` (contiguous UTC days)."""
    ordered = sorted(set(days))
    if not ordered:
        raise CollectionError("no day to collect")
    if (ordered[-1] - ordered[0]).days != len(ordered) - 1:
        raise CollectionError(f"the days {', '.join(map(str, ordered))} are not contiguous: collect one interval")
    return day_start(ordered[0]), day_start(ordered[-1] + dt.timedelta(days=1))


def run(settings: Settings, days, *, instances=None, options: RunOptions | None = None,
        deadline: float | None = None) -> CollectionReport:
    """Every instance in turn; one that fails does not stop the others (its report holds the error).
    ``deadline`` (epoch seconds): no request starts after it, the runs stop cleanly (incomplete)."""
    urls = check_instances(instances if instances is not None else settings.instances)
    if deadline is not None:
        options = options or RunOptions.from_settings(settings)
        options = replace(options, policy=replace(options.policy, deadline=deadline))
    start, end = interval_of(days)
    report = CollectionReport(days=sorted(set(days)))
    if len(urls) > 1:
        check_domains(settings, urls)
    for url in urls:
        try:
            report.instances.append(collect_instance(settings, url, start, end, options))
        except DatalakeError as error:
            log.error("%s", error)
            report.instances.append(InstanceReport(instance=None, base_url=url, error=str(error),
                                                   permanent=error.permanent, interval_start=start, interval_end=end))
    return report


