"""Collect an instance's statuses into the HDFS raw zone, incrementally, late statuses included.

:func:`collect_instance` is one run of one instance for a data interval [start, end) (usually a
UTC day). What a run does (DESIGN.md, "Collection semantics"; docs/data-formats.md):

1. Ask the instance for its own domain; it names the partitions and the state files, and must
   be a host name (refused otherwise, before anything is collected).
2. Choose the id range: from the start of the lateness window (``DATALAKE_LATENESS_DAYS``
   before the interval: statuses fetched late get ids of their own ``created_at``, below ids
   already collected), or from the checkpoint when it is older (days the scheduler missed),
   up to the first id after the interval. The days this range covers are the run's *open days*.
3. Page the timeline oldest-first with ``min_id`` (``since_id`` would skip statuses when more
   than a page is new) until the end of the range, an empty page, ``max_pages``, the end of the
   run's slot, or the bound on rate-limit waits.
4. File each status under the UTC date of its ``created_at`` and write it only if that
   partition does not hold its id yet (the parts' id indexes, read only where the range
   overlaps them). One part is open per day touched, so late statuses interleaving days in id
   order do not cut parts small. A full part goes to a temporary name, is renamed into place,
   then its index; then the checkpoint moves to the highest id below every still-open part.
5. Record each open day's state (complete, incomplete and why, failed) and mark the days
   whose partitions changed as pending, so that the DAG recomputes them in the same run. A
   status for a day before the open days is written but counted ``too_late``: that day is final.

A crash at any point leaves whole parts (or ``_tmp.`` files that the next run removes) and a
checkpoint that never points past unwritten statuses; the rerun re-reads from the checkpoint or
the window and writes only what the zone lacks: exactly once, whatever the interruption.

Longer than ~400 lines because a run's crash story (steps 1-5) is told and kept in one place.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import requests
from hdfs import HdfsError

from collection.errors import CollectionError, redact
from collection.mastodon_client import (DeadlineReached, InstanceClient, RateLimitExhausted, RawStatus,
                                        RequestPolicy, parse_timeline)
from collection.rawzone import COMPLETE, FAILED, INCOMPLETE, DayState, PartBuffer, PartitionIndex, RawZone
from collection.partwriter import PartWriter
from collection.report import InstanceReport
from collection.snowflake import UTC, as_utc, first_id_at, format_timestamp, id_to_datetime, parse_timestamp
from datalake.errors import DatalakeError, LakeError
from datalake.lake import hdfs_client, layout, prepare_lake
from datalake.locks import HdfsLock, owner_name
from datalake.pending import mark_pending
from datalake.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PART_SIZE = 5000  # statuses per part: ~2 MB compressed; a crash costs at most this much re-fetching
PROGRESS_EVERY = 5.0  # seconds between progress lines


def day_interval(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The data interval [day, day + 1) in UTC."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


@dataclass(frozen=True)
class RunOptions:
    """How one run pages: bounds, part size, the retry/rate-limit policy, progress, the clock."""

    max_pages: int = 1000
    lateness_days: int = 1
    reread: bool = True  # re-read the window's ids (backdated statuses); False: from the checkpoint only
    lock_wait: float = 3600.0  # seconds to wait for another collection of the instance; 0: skip at once
    lock_ttl: float = 3 * 3600.0  # the lock expires after this (a holder killed without cleaning up)
    part_size: int = DEFAULT_PART_SIZE
    policy: RequestPolicy = field(default_factory=RequestPolicy)
    request_timeout: float = 30.0
    progress_every: float = PROGRESS_EVERY
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)  # the instance's "now": what has happened

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "RunOptions":
        policy = RequestPolicy(max_rate_limit_wait=settings.max_rate_limit_wait)
        options = cls(max_pages=settings.max_pages, lateness_days=settings.lateness_days, policy=policy,
                      request_timeout=settings.request_timeout, reread=settings.lateness_reread,
                      lock_ttl=settings.task_timeout_minutes * 60.0 + 600.0)
        return replace(options, **{name: value for name, value in overrides.items() if value is not None})


def _locked_out(domain, base_url, timeline, interval_start, interval_end, lock: HdfsLock,
                options: RunOptions) -> InstanceReport:
    """Another collection of the instance holds its lock: skip (wait 0), or fail to be retried."""
    holder = lock.describe_holder()
    if options.lock_wait > 0:
        raise CollectionError(f"instance {base_url} ({domain}): another collection holds its lock, {holder}, and did "
                              f"not finish within {options.lock_wait:.0f}s; this run is retried later (a lock whose "
                              "holder died expires by itself)")
    log.info("%s: skipped: another collection holds the instance, %s; it collects what this run would have", domain,
             holder)
    return InstanceReport(instance=domain, base_url=base_url, timeline=timeline, interval_start=as_utc(interval_start),
                          interval_end=as_utc(interval_end), skipped=f"another collection holds the instance: {holder}")


class _Progress:
    """Progress lines on the log every few seconds: pages, statuses, statuses/s, how far."""

    def __init__(self, label: str, every: float):
        self.label, self.every = label, every
        self.started = self.last = time.monotonic()

    def update(self, pages: int, written: int, cursor: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        rate = written / max(now - self.started, 1e-9)
        log.info("%s: %d pages, %d statuses written, %.0f statuses/s, reached %s", self.label, pages, written, rate,
                 format_timestamp(id_to_datetime(max(cursor, 0))))


def collect_instance(settings: Settings, base_url: str, interval_start: dt.datetime, interval_end: dt.datetime,
                     options: RunOptions | None = None) -> InstanceReport:
    """One run of one instance for [interval_start, interval_end); see the module docstring.

    Raises CollectionError (or ConfigError) naming the instance, what failed and what to do; the
    day states of the interval then say ``failed``. A stop by max_pages, the run's slot or the
    bound on rate-limit waits is not an error: the report and the day states say incomplete.
    """
    options = options or RunOptions.from_settings(settings)
    base_url = base_url.rstrip("/")
    started = time.monotonic()
    if options.max_pages < 1 or options.part_size < 1:
        raise CollectionError(f"instance {base_url}: max_pages={options.max_pages} and part_size={options.part_size} "
                              "must be at least 1 (MASTODON_MAX_PAGES or the DAG param max_pages)", permanent=True)
    try:
        timeline = parse_timeline(settings.timeline)
    except ValueError as error:
        raise CollectionError(f"instance {base_url}: {error}", permanent=True) from None
    token = settings.token_for(base_url).reveal()
    client = InstanceClient(base_url, token, policy=options.policy, request_timeout=options.request_timeout)
    run = lock = None
    try:
        domain = client.instance_domain()
        lock = HdfsLock(hdfs_client(settings), layout(settings), f"collect-{domain}", owner_name(f"collect {domain}"),
                        options.lock_ttl, wait_s=options.lock_wait)
        if not lock.acquire():
            return _locked_out(domain, base_url, timeline.name, interval_start, interval_end, lock, options)
        run = _Run(settings, client, timeline, domain, as_utc(interval_start), as_utc(interval_end), options)
        try:
            run.collect()
        except (HdfsError, LakeError, requests.exceptions.RequestException) as error:
            raise CollectionError(client.describe(
                f"reading or writing the raw zone on HDFS failed: {redact(_hdfs_problem(error, settings), token)}; "
                "check that HDFS answers (`make status`, DATALAKE_WEBHDFS_URL), then rerun: the run resumes where "
                "it stopped")) from None
        except ValueError as error:  # an unreadable checkpoint, or statuses out of id order
            raise CollectionError(client.describe(str(error))) from None
    except DatalakeError as error:
        if run is not None:
            run.record_failure(str(error))
        raise
    finally:
        client.close()
        if lock is not None:
            lock.release()
    report = run.report
    report.seconds = time.monotonic() - started
    report.requests = client.stats.timeline_requests
    report.retries, report.rate_limited = client.stats.retries, client.stats.rate_limited
    report.rate_limit_wait_seconds = client.stats.rate_limit_wait_seconds
    report.pace_wait_seconds = client.stats.pace_wait_seconds
    log.info("%s", report.summary_line())
    return report


def _hdfs_problem(error: Exception, settings: Settings) -> str:
    if isinstance(error, requests.exceptions.ConnectionError):
        return f"WebHDFS at {settings.webhdfs_url} does not answer (connection failed)"
    if isinstance(error, requests.exceptions.Timeout):
        return f"WebHDFS at {settings.webhdfs_url} timed out"
    return str(error)


class _Run:
    """The state of one collection run of one instance."""

    def __init__(self, settings: Settings, client: InstanceClient, timeline, domain: str,
                 interval_start: dt.datetime, interval_end: dt.datetime, options: RunOptions):
        self.client, self.timeline, self.options = client, timeline, options
        self.hdfs, self.lake = hdfs_client(settings), layout(settings)
        self.hdfs_user = settings.hdfs_user
        self.zone = RawZone(self.hdfs, self.lake, domain)
        self.label = domain
        self.interval_days = days_between(interval_start.date(), (interval_end - dt.timedelta(microseconds=1)).date())
        self.after_id = first_id_at(interval_end)
        self.interval_end = interval_end
        window_start = day_start(self.interval_days[0] - dt.timedelta(days=options.lateness_days))
        self.report = InstanceReport(instance=domain, base_url=client.base_url, timeline=timeline.name,
                                     interval_start=interval_start, interval_end=interval_end,
                                     window_start=window_start)
        self.progress = _Progress(domain, options.progress_every)
        self.indexes: dict[dt.date, PartitionIndex] = {}
        self.buffers: dict[dt.date, PartBuffer] = {}
        self.written: dict[dt.date, int] = {}
        self.high_water_id: int | None = None
        self.cursor = first_id_at(window_start) - 1
        self.processed: int | None = None  # the last status handled (written, buffered or already held)
        self.reached: int | None = None  # exclusive: every id below it was read in this run
        self.stop_reason = ""
        self.open_days: list[dt.date] = []
        self.writer: PartWriter | None = None

    # -- preparation
    def _index(self, day: dt.date) -> PartitionIndex:
        index = self.indexes.get(day)
        if index is None:
            index, repaired = self.zone.reconcile(day)
            for line in repaired:
                log.info("%s: %s", self.label, line)
            self.indexes[day] = index
        return index

    def _start(self) -> None:
        prepare_lake(self.hdfs, self.lake, self.hdfs_user)  # the zones' owner and modes (docs/personal-data.md)
        for path in self.zone.remove_state_leftovers():
            log.info("%s: removed %s, left over by an interrupted run", self.label, path)
        checkpoint = self.zone.read_checkpoint()
        if checkpoint is not None:
            self.high_water_id = checkpoint.high_water_id
            self.report.high_water_id_before = str(checkpoint.high_water_id)
            if checkpoint.high_water_id < self.cursor:
                log.info("%s: the checkpoint (%s) is older than the lateness window: collecting from it, every "
                         "day since is filled", self.label, format_timestamp(id_to_datetime(checkpoint.high_water_id)))
                self.cursor = checkpoint.high_water_id
            elif not self.options.reread:  # the window stays open to late statuses met on the way, unread
                self.cursor = checkpoint.high_water_id
        self.started_at = self.cursor  # the pass reads every id above it
        self.from_checkpoint = self.high_water_id is not None and self.cursor == self.high_water_id
        first_open = id_to_datetime(self.cursor + 1).date()
        window_first = self.report.window_start.date()
        self.open_days = days_between(min(first_open, window_first, self.interval_days[0]), self.interval_days[-1])
        self.report.open_days = list(self.open_days)
        for day in self.open_days:
            self._index(day)
        log.info("%s: collecting %s from %s (lateness window %d day(s)) to %s", self.label, self.timeline.name,
                 format_timestamp(id_to_datetime(self.cursor + 1)), self.options.lateness_days,
                 format_timestamp(self.interval_end))

    # -- paging
    def collect(self) -> None:
        self._start()
        self.writer = PartWriter(self._write_part, self.label)
        try:
            self._page_through()
            self._flush_all()
        except BaseException:
            # Finished parts are whole and in order: write them even when paging failed, so that
            # the next run has less to fetch. The paging error is the one to report.
            self._flush_all(quietly=True)
            self.writer.close(raise_error=False)
            raise
        self.writer.close()
        self._finish()

    def _page_through(self) -> None:
        options = self.options
        report = self.report
        started = as_utc(options.now())
        # An interval that goes on (the hourly run's day): read up to the moment this run started,
        # in full pages; what arrives meanwhile is the next run's (polling the head of a busy
        # timeline would spend the paging budget on pages of a few statuses each).
        bound = first_id_at(started) if self.interval_end > started else self.after_id
        while True:
            if report.pages >= options.max_pages:
                self.reached, self.stop_reason = self.cursor + 1, f"stopped by max_pages={options.max_pages}"
                break
            try:
                page = self.client.timeline_page(self.timeline, self.cursor)
            except DeadlineReached as stop:
                self.reached, self.stop_reason = self.cursor + 1, f"stopped at the end of its slot ({stop})"
                break
            except RateLimitExhausted as stop:
                self.reached, self.stop_reason = self.cursor + 1, str(stop)
                break
            report.pages += 1
            fresh = [status for status in page.statuses if status.status_id > self.cursor]
            if len(fresh) < len(page.statuses):
                log.warning("%s: the server returned %d statuses at or below min_id %d; ignored them",
                            self.label, len(page.statuses) - len(fresh), self.cursor)
            in_range = [status for status in fresh if status.status_id < bound]
            for status in in_range:
                self.processed = status.status_id  # before _add: a part it fills holds this status
                self._add(status)
            if in_range:
                self.cursor = in_range[-1].status_id
            self.progress.update(report.pages, report.statuses_written, self.cursor)
            if len(in_range) < len(fresh):  # reached the end of the interval, or the moment the run started
                self.reached = bound
                if bound < self.after_id:
                    self.stop_reason = f"the interval has not ended yet (collected up to {format_timestamp(started)})"
                break
            if not fresh:  # caught up with the instance
                now = as_utc(options.now())
                self.reached = self.after_id if self.interval_end <= now else max(self.cursor + 1, first_id_at(now))
                if self.interval_end > now:
                    self.stop_reason = f"the interval has not ended yet (collected up to {format_timestamp(now)})"
                break
        self.progress.update(report.pages, report.statuses_written, self.cursor, force=True)
        if self.stop_reason:
            log.warning("%s: %s; the next run continues after id %d (%s)", self.label, self.stop_reason, self.cursor,
                        format_timestamp(id_to_datetime(max(self.cursor, 0))))

    def _day_of(self, status: RawStatus) -> dt.date:
        """The partition of a status: the UTC date of its created_at (of its id if that is unreadable)."""
        try:
            return parse_timestamp(status.created_at).date()
        except ValueError:
            log.warning("%s: status %d has no readable created_at (%r); filed under the date of its id",
                        self.label, status.status_id, status.created_at[:40])
            return id_to_datetime(status.status_id).date()

    def _add(self, status: RawStatus) -> None:
        day = self._day_of(status)
        report = self.report
        report.statuses_read += 1
        index = self._index(day)
        if index.holds(status.status_id):
            report.statuses_held += 1
            return
        index.add((status.status_id,))
        buffer = self.buffers.get(day)
        if buffer is None:
            buffer = self.buffers[day] = PartBuffer(day)
        buffer.add(status.status_id, status.line)
        report.statuses_written += 1
        self.written[day] = self.written.get(day, 0) + 1
        if day < self.open_days[0]:
            report.too_late += 1
        elif day > self.interval_days[-1]:
            report.ahead += 1
        if buffer.count >= self.options.part_size:
            self._flush(day)

    def _safe_checkpoint(self) -> int:
        """The highest id such that every status read up to it is written or being written."""
        reached = max(self.cursor, self.processed or self.cursor)
        open_firsts = [buffer.first_id for buffer in self.buffers.values() if buffer.count]
        return min(min(open_firsts) - 1, reached) if open_firsts else reached

    def _flush(self, day: dt.date) -> None:
        buffer = self.buffers.pop(day, None)
        if buffer is None or not buffer.count:
            return
        self.writer.submit(buffer, self._safe_checkpoint())

    def _flush_all(self, quietly: bool = False) -> None:
        for day in sorted(self.buffers):
            try:
                self._flush(day)
            except BaseException:  # noqa: BLE001 - a failed writer: its error is reported by close()
                if not quietly:
                    raise
                return

    def _write_part(self, buffer: PartBuffer, checkpoint: int | None) -> None:
        path = self.zone.write_part(buffer)
        self.report.parts.append(path)
        log.info("%s: wrote %s (%d statuses)", self.label, path, buffer.count)
        if checkpoint is not None:
            self._move_checkpoint(checkpoint)

    def _move_checkpoint(self, high_water_id: int) -> None:
        # Never backwards: a rerun of an older day must not undo a later day's progress.
        if self.high_water_id is not None and high_water_id <= self.high_water_id:
            return
        self.zone.write_checkpoint(self.report.base_url, high_water_id, dt.datetime.now(UTC))
        self.high_water_id = high_water_id
        self.report.high_water_id_after = str(high_water_id)

    # -- the end
    def _finish(self) -> None:
        # Every id below the interval's end was read (the server served beyond it): the next run
        # starts at the next interval, not inside this one.
        self._move_checkpoint(self.after_id - 1 if self.reached == self.after_id else self._safe_checkpoint())
        self.report.high_water_id_after = str(self.high_water_id) if self.high_water_id is not None else None
        reached = self.reached if self.reached is not None else self.cursor + 1
        for day in self.open_days:
            previous = self.zone.read_day_state(day)
            if day < self.interval_days[0] and day not in self.written and previous is None:
                continue  # a window day before the lake began (a first run's look back) where nothing was found
            # read to its end, and from its start (by this pass, or below the checkpoint it started from)
            covered = (first_id_at(day_start(day + dt.timedelta(days=1))) <= reached
                       and (first_id_at(day_start(day)) > self.started_at or self.from_checkpoint))
            if covered or day >= self.interval_days[0]:
                self._record_day(day, previous,
                                 *((COMPLETE, "") if covered else (INCOMPLETE, self.stop_reason or "not reached")))
            elif day in self.written:  # a window day this pass did not read through: its earlier state
                # stands, with its new late statuses
                self._record_day(day, previous, *((previous.state, previous.reason) if previous is not None else
                                                  (INCOMPLETE, "only late statuses of this day were collected")))
        for day, count in sorted(self.written.items()):
            if day >= self.open_days[0]:
                mark_pending(self.hdfs, self.lake, day, f"{self.label}: {count} new statuses")
                self.report.days_touched.add(day)
        if self.report.too_late:
            log.warning("%s: %d statuses arrived for days older than the lateness window (final days): kept in the raw "
                        "zone, not counted (too_late); raise DATALAKE_LATENESS_DAYS to count them", self.label,
                        self.report.too_late)

    def _record_day(self, day: dt.date, previous: DayState | None, state: str, reason: str) -> None:
        """Write the day's state (``previous``: the one the lake holds) unless it is unchanged."""
        statuses = (previous.statuses + self.written.get(day, 0)) if previous is not None \
            else self._index(day).total()
        if state == COMPLETE and statuses == 0:
            before = self.zone.read_day_state(day - dt.timedelta(days=1))
            if before is not None and before.statuses > 0:
                reason = (f"warning: the instance returned no status for this day, {before.statuses} the day before; "
                          "check its timeline (MASTODON_TIMELINE) and that it still federates")
                self.report.warnings.append(f"{day}: {reason}")
                log.warning("%s: %s: %s", self.label, day, reason)
        current = DayState(self.label, self.report.base_url, day, state, reason, statuses,
                           format_timestamp(dt.datetime.now(UTC)))
        self.report.day_states[day] = current
        if previous is not None and (previous.state, previous.reason, previous.statuses) == (state, reason, statuses):
            return  # unchanged: a rerun of a complete day rewrites nothing
        self.zone.write_day_state(current)
        if previous is None or (previous.state, previous.reason) != (state, reason):
            if day not in self.written:  # the day's cells in day_table change: recompute it
                mark_pending(self.hdfs, self.lake, day, f"{self.label}: {state} {reason}".strip())
            self.report.days_touched.add(day)

    def record_failure(self, message: str) -> None:
        """After an error: the interval's days that this run did not finish say ``failed`` and why."""
        try:
            for day in self.interval_days:
                previous = self.zone.read_day_state(day)
                statuses = previous.statuses if previous is not None else 0
                self.zone.write_day_state(DayState(self.label, self.report.base_url, day, FAILED, message[:500],
                                                   statuses, format_timestamp(dt.datetime.now(UTC))))
                mark_pending(self.hdfs, self.lake, day, f"{self.label}: failed")
        except Exception as error:  # noqa: BLE001 - HDFS may be what failed; the original error is reported
            log.error("%s: could not record the failed days (%s)", self.label, error)
