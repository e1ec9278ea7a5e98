"""Collect an instance's statuses of a data interval into the HDFS raw zone, incrementally.

The Airflow DAG and ``python -m collection collect`` call :func:`collect_instance` and
:func:`collect_all`. What a run does (DESIGN.md, "Collection semantics"):

1. Ask the instance for its own domain; it names the partitions and the checkpoint.
2. Reconcile: delete ``_tmp.`` leftovers of an interrupted run, read the checkpoint and the
   names of the interval's parts, and pick the resume point (:func:`collection.rawzone.resume_point`).
   A part renamed into place just before a crash, with the checkpoint not yet moved, counts:
   the checkpoint is moved up to it at once.
3. Page the timeline oldest-first with ``min_id`` (``since_id`` would skip statuses when more
   than a page is new) up to the first id after the interval, or ``max_pages``.
4. Write as it pages: every ``part_size`` statuses (and at a change of UTC day) a gzip JSONL
   part goes to a temporary name and is renamed into place; then the checkpoint moves to the
   part's last id. A crash at any point leaves either a whole part or a ``_tmp.`` file.

So a rerun after a crash collects exactly what is missing, and a rerun of a complete day
requests one empty page and writes nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import requests
from hdfs import HdfsError

from collection.errors import CollectionError, redact
from collection.mastodon_client import InstanceClient, RawStatus, RetryPolicy, Timeline, parse_timeline
from collection.rawzone import PartBuffer, RawZone, resume_point
from collection.snowflake import UTC, as_utc, format_timestamp, id_range, id_to_datetime, parse_timestamp
from datalake.lake import LakeError, hdfs_client, layout, prepare_lake
from datalake.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_PART_SIZE = 5000  # statuses per part: ~2 MB compressed; a crash costs at most this much re-fetching
PROGRESS_EVERY = 5.0  # seconds between progress lines


@dataclass
class CollectionResult:
    instance: str  # the instance's own domain
    base_url: str
    interval_start: dt.datetime
    interval_end: dt.datetime
    timeline: str
    pages: int = 0
    statuses: int = 0
    parts: list[str] = field(default_factory=list)  # HDFS paths of the parts written by this run
    interval_over: bool = True  # False: the interval had not ended yet, a later run collects the rest
    high_water_id_before: str | None = None
    high_water_id_after: str | None = None
    stopped_by_max_pages: bool = False
    retries: int = 0
    rate_limit_waits: int = 0
    seconds: float = 0.0

    @property
    def parts_written(self) -> int:
        return len(self.parts)

    @property
    def state(self) -> str:
        if self.stopped_by_max_pages:
            return "stopped by max_pages"
        return "complete" if self.interval_over else "caught up (the interval has not ended)"

    @property
    def statuses_per_second(self) -> float:
        return self.statuses / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"instance": self.instance, "base_url": self.base_url,
                "interval_start": self.interval_start.isoformat(), "interval_end": self.interval_end.isoformat(),
                "timeline": self.timeline, "pages": self.pages, "statuses": self.statuses,
                "parts_written": self.parts_written, "parts": self.parts,
                "high_water_id_before": self.high_water_id_before, "high_water_id_after": self.high_water_id_after,
                "stopped_by_max_pages": self.stopped_by_max_pages, "interval_over": self.interval_over,
                "retries": self.retries,
                "rate_limit_waits": self.rate_limit_waits, "seconds": round(self.seconds, 3)}


def day_interval(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The data interval [day, day + 1) in UTC."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + dt.timedelta(days=1)


def interval_days(interval_start: dt.datetime, interval_end: dt.datetime) -> list[dt.date]:
    """The UTC days an interval touches, and the day after it: a status published a little in the
    future (a remote server's clock) gets an id of its arrival and lands on its own later date."""
    first = as_utc(interval_start).date()
    last = (as_utc(interval_end) - dt.timedelta(microseconds=1)).date()
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 2)]


class _Progress:
    """Progress lines on the log every few seconds: pages, statuses, statuses/s, how far."""

    def __init__(self, label: str, every: float, clock: Callable[[], float] = time.monotonic):
        self.label, self.every, self.clock = label, every, clock
        self.started = self.last = clock()

    def update(self, pages: int, statuses: int, newest: RawStatus | None, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        reached = f", reached {format_timestamp(id_to_datetime(newest.status_id))}" if newest else ""
        log.info("%s: %d pages, %d statuses, %.0f statuses/s%s", self.label, pages, statuses,
                 statuses / elapsed, reached)


def collect_instance(settings: Settings, base_url: str, interval_start: dt.datetime, interval_end: dt.datetime,
                     max_pages: int | None = None, *, part_size: int = DEFAULT_PART_SIZE,
                     retry: RetryPolicy | None = None, request_timeout: float = 30.0,
                     progress_every: float = PROGRESS_EVERY) -> CollectionResult:
    """Collect one instance's statuses created in [interval_start, interval_end) into the raw zone.

    ``max_pages`` bounds the timeline pages of this run (default ``settings.max_pages``); a run
    stopped by it says so in the result, and the next run for the interval continues. Raises
    :class:`CollectionError` naming the instance, what failed and what to do.
    """
    base_url = base_url.rstrip("/")
    token = settings.access_token.reveal()
    max_pages = settings.max_pages if max_pages is None else max_pages
    if max_pages < 1:
        raise CollectionError(f"instance {base_url}: max_pages={max_pages}; a run needs at least one page "
                              "(MASTODON_MAX_PAGES or the DAG param max_pages)")
    if part_size < 1:
        raise CollectionError(f"instance {base_url}: part_size={part_size}; a part holds at least one status")
    try:
        timeline = parse_timeline(settings.timeline)
        interval_ids = id_range(interval_start, interval_end)
    except ValueError as error:
        raise CollectionError(f"instance {base_url}: {error}") from None

    client = InstanceClient(base_url, token, retry=retry, request_timeout=request_timeout)
    started = time.monotonic()
    try:
        domain = client.instance_domain()
        result = CollectionResult(domain, base_url, as_utc(interval_start), as_utc(interval_end), timeline.name)
        run = _Run(settings, client, timeline, result, interval_ids, max_pages, part_size, progress_every)
        try:
            run.reconcile()
            run.page_through()
        except (HdfsError, LakeError, requests.exceptions.RequestException) as error:
            problem = redact(_hdfs_problem(error, settings), token)
            raise CollectionError(client.describe(
                f"reading or writing the raw zone on HDFS failed: {problem}; check that HDFS answers "
                "(`make status`, DATALAKE_WEBHDFS_URL), then rerun: the run resumes where it stopped")) from None
        except ValueError as error:  # an unreadable checkpoint, or statuses out of id order
            raise CollectionError(client.describe(str(error))) from None
    finally:
        client.close()
    result.seconds = time.monotonic() - started
    result.interval_over = result.interval_end <= dt.datetime.now(UTC)
    result.retries, result.rate_limit_waits = client.stats.retries, client.stats.rate_limit_waits
    if run.high_water_id is not None:
        result.high_water_id_after = str(run.high_water_id)
    _log_summary(result)
    return result


class _PartWriter:
    """Writes finished parts to HDFS in a background thread, in order, while the next one fills.

    A WebHDFS write and rename take a few hundred milliseconds; done inline they would halve
    the collector's rate. One part may wait in the queue, so memory holds at most three parts
    (filling, queued, being written). Parts are written one after the other, each followed by
    its checkpoint, so the order that makes a crash recoverable is kept.
    """

    def __init__(self, write: Callable[[PartBuffer], None], label: str):
        self._write, self._label = write, label
        self._queue: queue.Queue[PartBuffer | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._run, name=f"part-writer-{label}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            buffer = self._queue.get()
            if buffer is None:
                return
            if self._error is None:  # after a failure, later parts must not be written (order)
                try:
                    self._write(buffer)
                except BaseException as error:  # noqa: BLE001 - handed to the paging thread
                    self._error = error

    def submit(self, buffer: PartBuffer) -> None:
        self._raise_if_failed()
        self._queue.put(buffer)

    def close(self, raise_error: bool = True) -> None:
        """Wait until every submitted part is written; raise the writer's error if it had one."""
        self._queue.put(None)
        self._thread.join()
        if raise_error:
            self._raise_if_failed()
        elif self._error is not None and not self._reported:
            log.error("%s: writing a part failed too: %s", self._label, self._error)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            self._reported = True
            raise self._error


def _hdfs_problem(error: Exception, settings: Settings) -> str:
    if isinstance(error, requests.exceptions.ConnectionError):
        return f"WebHDFS at {settings.webhdfs_url} does not answer (connection failed)"
    if isinstance(error, requests.exceptions.Timeout):
        return f"WebHDFS at {settings.webhdfs_url} timed out"
    return str(error)


class _Run:
    """The state of one collection run of one instance."""

    def __init__(self, settings: Settings, client: InstanceClient, timeline: Timeline, result: CollectionResult,
                 interval_ids: tuple[int, int], max_pages: int, part_size: int, progress_every: float):
        self.client, self.timeline, self.result = client, timeline, result
        self.interval_ids, self.max_pages, self.part_size = interval_ids, max_pages, part_size
        self.zone = RawZone(hdfs_client(settings), layout(settings), result.instance)
        self.hdfs_user = settings.hdfs_user
        self.label = result.instance
        self.progress = _Progress(self.label, progress_every)
        self.high_water_id: int | None = None
        self.cursor = interval_ids[0] - 1
        self.buffer: PartBuffer | None = None
        self.outside_interval_days = 0

    def reconcile(self) -> None:
        prepare_lake(self.zone.client, self.zone.layout, self.hdfs_user)
        days = interval_days(self.result.interval_start, self.result.interval_end)
        for path in self.zone.remove_temporary_files(days):
            log.info("%s: removed %s, left over by an interrupted run", self.label, path)
        checkpoint = self.zone.read_checkpoint()
        if checkpoint is not None:
            self.high_water_id = checkpoint.high_water_id
            self.result.high_water_id_before = str(checkpoint.high_water_id)
        part_ranges = [found for day in days for found in self.zone.part_ranges(day)]
        self.cursor = resume_point(self.interval_ids, self.high_water_id, part_ranges)
        if self.high_water_id is None or self.cursor > self.high_water_id:
            if self.cursor >= self.interval_ids[0]:
                # A part was renamed into place but the run stopped before moving the checkpoint.
                log.info("%s: the raw zone already holds statuses up to id %d; moving the checkpoint there",
                         self.label, self.cursor)
                self._move_checkpoint(self.cursor)
        if self.cursor >= self.interval_ids[0]:
            log.info("%s: resuming the interval after id %d (%s)", self.label, self.cursor,
                     format_timestamp(id_to_datetime(self.cursor)))
        else:
            log.info("%s: collecting %s from %s to %s", self.label, self.timeline.name,
                     format_timestamp(self.result.interval_start), format_timestamp(self.result.interval_end))

    def page_through(self) -> None:
        self.writer = _PartWriter(self._write_part, self.label)
        try:
            self._page_through()
        except BaseException:
            # Finished parts are whole and in order: write them even when paging failed, so
            # that the next run has less to fetch. The paging error is the one to report.
            self.writer.close(raise_error=False)
            raise
        self.writer.close()

    def _page_through(self) -> None:
        after_id = self.interval_ids[1]
        newest = None
        while True:
            if self.result.pages >= self.max_pages:
                self.result.stopped_by_max_pages = True
                break
            page = self.client.timeline_page(self.timeline, self.cursor)
            self.result.pages += 1
            fresh = [status for status in page.statuses if status.status_id > self.cursor]
            if len(fresh) < len(page.statuses):
                log.warning("%s: the server returned %d statuses at or below min_id %d; ignored them",
                            self.label, len(page.statuses) - len(fresh), self.cursor)
            in_interval = [status for status in fresh if status.status_id < after_id]
            for status in in_interval:
                self._add(status)
            if in_interval:
                newest = in_interval[-1]
                self.cursor = newest.status_id
            if page.prev_min_id is not None and fresh and page.prev_min_id != fresh[-1].status_id:
                log.debug("%s: Link rel=prev says min_id=%d, the page ends at %d", self.label,
                          page.prev_min_id, fresh[-1].status_id)
            log.debug("%s: page %d: %d statuses in the interval, now after id %d", self.label,
                      self.result.pages, len(in_interval), self.cursor)
            self.progress.update(self.result.pages, self.result.statuses, newest)
            if not fresh or len(in_interval) < len(fresh):
                break  # caught up with the instance, or reached the end of the interval
        self._flush()
        self.progress.update(self.result.pages, self.result.statuses, newest, force=True)
        if self.result.stopped_by_max_pages:
            log.warning("%s: stopped after max_pages=%d pages before the end of the interval; "
                        "the next run for this interval continues after id %d", self.label, self.max_pages,
                        self.cursor)
        if self.outside_interval_days:
            log.warning("%s: %d statuses have a created_at outside the data interval (a remote server's clock); "
                        "they went to the partition of their own date", self.label, self.outside_interval_days)

    def _add(self, status: RawStatus) -> None:
        day = self._day_of(status)
        if self.buffer is not None and self.buffer.day != day:
            self._flush()
        if self.buffer is None:
            self.buffer = PartBuffer(day)
        self.buffer.add(status.status_id, status.line)
        self.result.statuses += 1
        if self.buffer.count >= self.part_size:
            self._flush()

    def _day_of(self, status: RawStatus) -> dt.date:
        """The partition of a status: the UTC date of its created_at (of its id if that is unreadable)."""
        try:
            day = parse_timestamp(status.created_at).date()
        except ValueError:
            log.warning("%s: status %d has no readable created_at (%r); filed under the date of its id",
                        self.label, status.status_id, status.created_at[:40])
            day = id_to_datetime(status.status_id).date()
        last_day = (self.result.interval_end - dt.timedelta(microseconds=1)).date()
        if not self.result.interval_start.date() <= day <= last_day:
            self.outside_interval_days += 1
        return day

    def _flush(self) -> None:
        if self.buffer is None or self.buffer.count == 0:
            return
        buffer, self.buffer = self.buffer, None
        self.writer.submit(buffer)

    def _write_part(self, buffer: PartBuffer) -> None:
        path = self.zone.write_part(buffer)
        self.result.parts.append(path)
        log.info("%s: wrote %s (%d statuses)", self.label, path, buffer.count)
        self._move_checkpoint(buffer.last_id)

    def _move_checkpoint(self, high_water_id: int) -> None:
        # Never backwards: a rerun of an older day must not undo a later day's progress.
        if self.high_water_id is not None and high_water_id <= self.high_water_id:
            return
        self.zone.write_checkpoint(self.result.base_url, high_water_id, dt.datetime.now(UTC))
        self.high_water_id = high_water_id


def _log_summary(result: CollectionResult) -> None:
    state = result.state
    log.info("%s: %s: %d statuses in %d parts from %d pages in %.1fs (%.0f statuses/s, %d retries, "
             "%d rate-limit waits); high-water id %s -> %s", result.instance, state, result.statuses,
             result.parts_written, result.pages, result.seconds, result.statuses_per_second, result.retries,
             result.rate_limit_waits, result.high_water_id_before, result.high_water_id_after)


def collect_all(settings: Settings, interval_start: dt.datetime, interval_end: dt.datetime,
                max_pages: int | None = None, **options) -> list[CollectionResult]:
    """Collect every instance of ``settings.instances``, one after the other.

    An instance that fails does not stop the others. If any failed, raises one CollectionError
    naming each failed instance, with ``outcomes`` holding every result and error in order.
    """
    outcomes: list[CollectionResult | CollectionError] = []
    for base_url in settings.instances:
        try:
            outcomes.append(collect_instance(settings, base_url, interval_start, interval_end, max_pages, **options))
        except CollectionError as error:
            log.error("%s", error)
            outcomes.append(error)
    failures = [outcome for outcome in outcomes if isinstance(outcome, CollectionError)]
    if failures:
        raise CollectionError(f"{len(failures)} of {len(outcomes)} instances failed: "
                              + " | ".join(str(failure) for failure in failures), outcomes)
    return outcomes
