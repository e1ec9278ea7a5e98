"""Load one day of the aggregates zone into the HBase tables, idempotently and in batches.

For each metric of the day (docs/data-formats.md has the cell layout):

1. Stream the day's part files from HDFS and validate every line (nothing is written if a
   metric's input is missing or malformed).
2. Write the manifest of the day in state ``loading`` with the previous load's row keys ∪ the
   new ones (see hbase/manifest.py for why this order makes an interrupted load harmless).
3. Read the rows the load touches (the day's keys and the previous load's) with batched
   multi-gets, and write with happybase batches of ``batch_size`` mutations: the new
   ``daily:<D>`` cells, deletes of ``daily:<D>`` in the rows that left the day, and the all-time
   ``data:`` cells recomputed from the row's ``daily:`` cells (puts of what changed, deletes of
   what no longer applies). Count and user tables send each row's daily and data cells in one
   row mutation.
4. Growth: put/delete the day's cells of ``croissance_table`` and of the membership table
   ``croissance_accounts_table`` first, then read the touched accounts back and recompute
   ``data:new:<dt>`` (accounts of the month first seen on dt) for the days whose first-seen
   attribution the load can change; ``data:count`` is their sum.
5. Write the manifest with the new keys in state ``loaded``.

Every step is a pure function of the input and of what is stored, so a reload of a day, a
load of days out of order, or a rerun after a crash at any point ends with exactly the cells
of one clean load. A day's load reads and writes only the rows of that day (and of the days
whose first-seen accounts it moves, for growth), never the table's history.

Longer than ~400 lines because the load's write order and its invariants (manifests, read-back,
all-time recomputation, growth's first-seen attribution) must be read together to be trusted.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import happybase

from datalake.lake import LakeError, LakeLayout, hdfs_client, layout, prepare_lake
from datalake.settings import Settings
from hbase import manifest as manifests
from hbase.aggregates import DayAggregates, read_day
from hbase.cells import (DAILY, MEMBER, CellFormatError, count_all_time, count_value, daily_column,
                         growth_all_time, membership_days, membership_key, month_of, split_families,
                         stored_new_counts, user_all_time, user_daily_value)
from hbase.errors import LoadError
from hbase.tables import METRIC_TABLES, METRICS, THRIFT_ERRORS, connect, ensure_tables

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 10_000  # mutations per mutateRows call (bench/bench_hbase_loader.py)
DEFAULT_READ_BATCH = 1_000  # rows per getRowsWithColumns call


# ---------------------------------------------------------------- reports and progress


@dataclass(frozen=True)
class BatchEvent:
    """Sent to ``on_batch`` after every batch of mutations reached HBase (progress, tests)."""

    metric: str
    table: str
    number: int  # batches sent so far in this load, all tables
    cells: int  # mutations in this batch
    cells_total: int  # mutations sent so far in this load
    elapsed_s: float  # since the load started


OnBatch = Callable[[BatchEvent], None]


@dataclass
class TableReport:
    table: str
    rows: int = 0  # rows that have a daily:<D> cell after the load
    stale_rows: int = 0  # rows of the previous load of the day that left it
    rows_read: int = 0  # rows read back to recompute all-time cells
    daily_cells: int = 0  # daily:<D> cells put
    data_cells: int = 0  # data: cells put (only those whose value changed)
    deleted_cells: int = 0  # cells deleted (stale daily:<D>, data: cells that no longer apply)

    @property
    def cells(self) -> int:
        return self.daily_cells + self.data_cells + self.deleted_cells


@dataclass
class MetricReport:
    metric: str
    source: str
    records: int
    files: int
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cells(self) -> int:
        return sum(table.cells for table in self.tables)


@dataclass
class LoadReport:
    day: dt.date
    metrics: list[MetricReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def cells(self) -> int:
        return sum(metric.cells for metric in self.metrics)

    @property
    def cells_per_second(self) -> float:
        return self.cells / self.seconds if self.seconds > 0 else 0.0

    def table(self, name: str) -> TableReport:
        for metric in self.metrics:
            for table in metric.tables:
                if table.table == name:
                    return table
        raise KeyError(name)

    def summary(self) -> str:
        header = ("metric", "table", "rows", "stale", "read", "daily", "data", "deleted", "seconds", "cells/s")
        lines = [header]
        for metric in self.metrics:
            for index, table in enumerate(metric.tables):
                last = index == len(metric.tables) - 1
                lines.append((metric.metric if index == 0 else "", table.table, f"{table.rows:,}",
                              f"{table.stale_rows:,}", f"{table.rows_read:,}", f"{table.daily_cells:,}",
                              f"{table.data_cells:,}", f"{table.deleted_cells:,}",
                              f"{metric.seconds:.2f}" if last else "",
                              f"{metric.cells / metric.seconds:,.0f}" if last and metric.seconds > 0 else ""))
        lines.append(("total", "", "", "", "", "", "", f"{self.cells:,} cells", f"{self.seconds:.2f}",
                      f"{self.cells_per_second:,.0f}"))
        widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
        return "\n".join("  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i])
                                   for i, cell in enumerate(row)).rstrip() for row in lines)


# ---------------------------------------------------------------- writing


class Sink(Protocol):
    """Where the loader's mutations go; flush() must leave every mutation in HBase."""

    def put(self, row: bytes, cells: dict[bytes, bytes]) -> None: ...

    def delete(self, row: bytes, columns: list[bytes]) -> None: ...

    def flush(self) -> None: ...


class _CountedBatch(happybase.Batch):
    """happybase's own batch (sends every ``batch_size`` mutations), telling ``on_send`` each time."""

    def __init__(self, table: happybase.Table, batch_size: int, on_send: Callable[[int], None]):
        super().__init__(table, batch_size=batch_size)
        self._on_send = on_send

    def send(self) -> None:
        sent = self._mutation_count
        super().send()
        if sent:
            self._on_send(sent)


class BatchSink:
    """A happybase ``Batch(batch_size=...)``: one mutateRows call per ``batch_size`` mutations.

    Deletes always name their columns: happybase's ``delete(row)`` without columns sends
    ``family:`` names, which HBase 2's Thrift server treats as empty qualifiers (nothing deleted).
    """

    def __init__(self, table: happybase.Table, batch_size: int, on_send: Callable[[int], None]):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self._batch = _CountedBatch(table, batch_size, on_send)

    def put(self, row: bytes, cells: dict[bytes, bytes]) -> None:
        self._batch.put(row, cells)

    def delete(self, row: bytes, columns: list[bytes]) -> None:
        self._batch.delete(row, columns)

    def flush(self) -> None:
        self._batch.send()


SinkFactory = Callable[[happybase.Table, int, Callable[[int], None]], Sink]


# ---------------------------------------------------------------- the load


def load_day(settings: Settings, day: dt.date, metrics: list[str] | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE, *, read_batch: int = DEFAULT_READ_BATCH,
             on_batch: OnBatch | None = None, sink_factory: SinkFactory = BatchSink) -> LoadReport:
    """Load ``day`` of the aggregates zone (all metrics, or ``metrics``) into HBase.

    Creates missing tables. Idempotent: safe to re-run at any time, for any day, in any order.
    ``on_batch`` is called after every batch sent (progress; tests inject failures through it).
    ``sink_factory`` replaces the batched writer (the benchmark's one-put-per-cell baseline).
    Raises LoadError saying what failed and what to do.
    """
    client, lake = hdfs_client(settings), layout(settings)
    try:
        prepare_lake(client, lake, settings.hdfs_user)
    except LakeError as error:
        raise LoadError(f"day {day.isoformat()}: {error}") from error
    connection = connect(settings)
    try:
        loader = DayLoader(connection, client, lake, day, batch_size=batch_size,
                           read_batch=read_batch, on_batch=on_batch, sink_factory=sink_factory)
        return loader.load(metrics)
    finally:
        connection.close()


def check_metrics(metrics: Iterable[str] | None) -> list[str]:
    if metrics is None:
        return list(METRICS)
    chosen = list(dict.fromkeys(metrics))
    unknown = [metric for metric in chosen if metric not in METRIC_TABLES]
    if unknown or not chosen:
        raise LoadError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; the metrics are "
                        f"{', '.join(METRICS)}")
    return chosen


class DayLoader:
    """One day's load through an open happybase connection and WebHDFS client."""

    def __init__(self, connection: happybase.Connection, client, lake: LakeLayout, day: dt.date, *,
                 batch_size: int = DEFAULT_BATCH_SIZE, read_batch: int = DEFAULT_READ_BATCH,
                 on_batch: OnBatch | None = None, sink_factory: SinkFactory = BatchSink):
        if batch_size < 1 or read_batch < 1:
            raise LoadError(f"batch_size ({batch_size}) and read_batch ({read_batch}) must be >= 1")
        self.connection = connection
        self.client = client
        self.lake = lake
        self.day = day
        self.day_text = day.isoformat()
        self.column = daily_column(day)
        self.batch_size = batch_size
        self.read_batch = read_batch
        self.on_batch = on_batch
        self.sink_factory = sink_factory
        self._batches = 0
        self._cells_sent = 0
        self._started = time.monotonic()

    # -- plumbing

    def load(self, metrics: list[str] | None = None) -> LoadReport:
        chosen = check_metrics(metrics)
        self._started = time.monotonic()
        # every input is read and validated before anything is written
        inputs = {metric: read_day(self.client, self.lake.aggregates(metric, self.day), metric) for metric in chosen}
        ensure_tables(self.connection, [table for metric in chosen for table in METRIC_TABLES[metric]])
        report = LoadReport(self.day)
        for metric in chosen:
            report.metrics.append(self.load_metric(metric, inputs.pop(metric)))
        report.seconds = time.monotonic() - self._started
        log.info("day %s loaded: %s cells in %.1f s (%s cells/s)", self.day_text, f"{report.cells:,}",
                 report.seconds, f"{report.cells_per_second:,.0f}")
        return report

    def _sink(self, metric: str, table: str) -> Sink:
        def on_send(cells: int) -> None:
            self._batches += 1
            self._cells_sent += cells
            if self.on_batch is not None:
                self.on_batch(BatchEvent(metric, table, self._batches, cells, self._cells_sent,
                                         time.monotonic() - self._started))
        return self.sink_factory(self.connection.table(table), self.batch_size, on_send)

    @contextmanager
    def _guard(self, metric: str, table: str, what: str):
        try:
            yield
        except THRIFT_ERRORS as exc:
            raise LoadError(
                f"{table} / day {self.day_text}: {what} failed: {type(exc).__name__}: {exc}. The load is safe to "
                f"re-run once HBase answers (`make status`): python -m hbase load --date {self.day_text} "
                f"--metrics {metric}") from exc

    def _cell_error(self, table: str, row: bytes, error: CellFormatError) -> LoadError:
        return LoadError(
            f"{table} / day {self.day_text}: row {row.decode('utf-8', 'replace')!r}: {error}. Something other than "
            "the loader wrote this cell; delete it in the HBase shell (delete '<table>', '<row>', '<column>') "
            "and reload the day")

    def _read_chunks(self, table: str, keys: list[bytes], columns: list[bytes] | None,
                     report: TableReport) -> Iterator[tuple[list[bytes], list[tuple[bytes, dict]]]]:
        """(keys, stored rows among them) per ``read_batch`` keys: one multi-get each; absent rows are left out."""
        handle = self.connection.table(table)
        for start in range(0, len(keys), self.read_batch):
            chunk = keys[start:start + self.read_batch]
            rows = handle.rows(chunk, columns=columns)
            report.rows_read += len(rows)
            yield chunk, rows

    def _read_rows(self, table: str, keys: list[bytes], columns: list[bytes] | None,
                   report: TableReport) -> Iterator[list[tuple[bytes, dict]]]:
        for _, rows in self._read_chunks(table, keys, columns, report):
            yield rows

    def _manifest_path(self, metric: str, day: dt.date | None = None) -> str:
        return self.lake.hbase_manifest(metric, day or self.day)

    def _rewrite_data(self, sink: Sink, row: bytes, stored: dict[bytes, bytes], desired: dict[bytes, bytes],
                      report: TableReport) -> None:
        """Make the row's data: cells exactly ``desired``: put what changed, delete what no longer applies."""
        changed = {column: value for column, value in desired.items() if stored.get(column) != value}
        gone = [column for column in stored if column not in desired]
        if changed:
            sink.put(row, changed)
            report.data_cells += len(changed)
        if gone:
            sink.delete(row, gone)
            report.deleted_cells += len(gone)

    def _write_daily(self, metric: str, table: str, values: dict[str, bytes], stale: set[str],
                     report: TableReport) -> None:
        column = self.column
        with self._guard(metric, table, "writing the daily cells"):
            sink = self._sink(metric, table)
            for key in sorted(values):
                sink.put(key.encode("utf-8"), {column: values[key]})
            for key in sorted(stale):
                sink.delete(key.encode("utf-8"), [column])
            sink.flush()
        report.rows = len(values)
        report.stale_rows = len(stale)
        report.daily_cells += len(values)
        report.deleted_cells += len(stale)

    # -- metrics

    def load_metric(self, metric: str, day_input: DayAggregates) -> MetricReport:
        started = time.monotonic()
        result = MetricReport(metric, day_input.directory, len(day_input.records), len(day_input.files))
        if metric == "growth":
            result.tables = self._load_growth(day_input)
        else:
            result.tables = [self._load_rows(metric, day_input)]
        result.seconds = time.monotonic() - started
        for table in result.tables:
            log.info("%s / day %s: %s row(s) (%s stale), %s daily + %s data cell(s) put, %s deleted, "
                     "%s row(s) read back", table.table, self.day_text, f"{table.rows:,}", f"{table.stale_rows:,}",
                     f"{table.daily_cells:,}", f"{table.data_cells:,}", f"{table.deleted_cells:,}",
                     f"{table.rows_read:,}")
        log.info("%s / day %s: %s cells in %.2f s (%s cells/s)", metric, self.day_text, f"{result.cells:,}",
                 result.seconds, f"{result.cells / result.seconds:,.0f}" if result.seconds > 0 else "-")
        return result

    def _load_rows(self, metric: str, day_input: DayAggregates) -> TableReport:
        """A table of one row per aggregate key: the count tables and user_table.

        The touched rows are read first, so that each row's new ``daily:<D>`` cell and its
        recomputed ``data:`` cells go out in one row mutation (one Put per row, atomic per row).
        """
        (table,) = METRIC_TABLES[metric]
        report = TableReport(table)
        if metric == "users":
            values = {key: user_daily_value(user_day) for key, user_day in day_input.records.items()}
            all_time = user_all_time
        else:
            values = {key: count_value(count) for key, count in day_input.records.items()}
            all_time = count_all_time
        current = {table: set(values)}
        path = self._manifest_path(metric)
        previous = manifests.read_manifest(self.client, path)
        stale = manifests.stale_keys(previous, current)[table]
        manifests.write_manifest(self.client, path, manifests.pending(previous, metric, self.day, current))

        column = self.column
        with self._guard(metric, table, "writing the daily and all-time cells"):
            sink = self._sink(metric, table)
            keys = sorted(key.encode("utf-8") for key in set(values) | stale)
            for chunk, rows in self._read_chunks(table, keys, None, report):
                stored = dict(rows)
                for row in chunk:
                    daily, data = split_families(stored.get(row, {}))
                    daily.pop(column, None)
                    new_value = values.get(row.decode("utf-8"))
                    if new_value is not None:
                        daily[column] = new_value
                    try:
                        desired = all_time(daily) if daily else {}
                    except CellFormatError as error:
                        raise self._cell_error(table, row, error) from None
                    changed = {name: value for name, value in desired.items() if data.get(name) != value}
                    gone = [name for name in data if name not in desired]
                    if new_value is None:
                        gone.append(column)
                    else:
                        changed[column] = new_value
                    if changed:
                        sink.put(row, changed)
                    if gone:
                        sink.delete(row, gone)
                    report.daily_cells += new_value is not None
                    report.data_cells += len(changed) - (new_value is not None)
                    report.deleted_cells += len(gone)
            sink.flush()
        report.rows = len(values)
        report.stale_rows = len(stale)

        manifests.write_manifest(self.client, path, manifests.loaded(metric, self.day, current))
        return report

    def _load_growth(self, day_input: DayAggregates) -> list[TableReport]:
        """croissance_table (one row per creation month) + croissance_accounts_table (month#account)."""
        months_table, members_table = METRIC_TABLES["growth"]
        months_report, members_report = TableReport(months_table), TableReport(members_table)
        month_values = {month: count_value(len(accounts)) for month, accounts in day_input.records.items()}
        member_values = {membership_key(month, account): MEMBER
                         for month, accounts in day_input.records.items() for account in accounts}
        current = {months_table: set(month_values), members_table: set(member_values)}
        path = self._manifest_path("growth")
        previous = manifests.read_manifest(self.client, path)
        stale = manifests.stale_keys(previous, current)
        manifests.write_manifest(self.client, path, manifests.pending(previous, "growth", self.day, current))

        self._write_daily("growth", months_table, month_values, stale[months_table], months_report)
        self._write_daily("growth", members_table, member_values, stale[members_table], members_report)

        # First-seen attribution: an account counts in data:new:<its first day>. Loading day D moves
        # an account's first day only between D and its first other day E > D, so data:new:D of the
        # touched months and data:new:E of those (month, E) are all that can change.
        day = self.day_text
        touched_members = sorted(set(member_values) | stale[members_table])
        first_on_day: Counter = Counter()
        later_days: dict[str, set[str]] = defaultdict(set)  # E -> months whose data:new:E may change
        with self._guard("growth", members_table, "reading the accounts back"):
            for rows in self._read_rows(members_table, [key.encode("utf-8") for key in touched_members],
                                        [DAILY.rstrip(b":")], members_report):
                for row, cells in rows:
                    month = month_of(row.decode("utf-8"))
                    try:
                        days = membership_days(cells)
                    except CellFormatError as error:
                        raise self._cell_error(members_table, row, error) from None
                    if days and days[0] == day:
                        first_on_day[month] += 1
                    others = [other for other in days if other != day]
                    if others and others[0] > day:
                        later_days[others[0]].add(month)

        touched_months = set(month_values) | stale[months_table] | {month_of(key) for key in touched_members}
        new_counts: dict[str, dict[str, int]] = {month: {day: first_on_day[month]} for month in touched_months}
        rescanned: dict[str, dict[str, int]] = {}  # months recounted whole (a later day's manifest was missing)
        for later_day in sorted(later_days):
            self._recount_later_day(later_day, later_days[later_day], new_counts, rescanned, members_report)

        with self._guard("growth", months_table, "recomputing the all-time cells"):
            sink = self._sink("growth", months_table)
            for rows in self._read_rows(months_table, sorted(month.encode("utf-8") for month in touched_months),
                                        None, months_report):
                for row, cells in rows:
                    month = row.decode("utf-8")
                    daily, data = split_families(cells)
                    try:
                        if not daily:
                            desired = {}
                        elif month in rescanned:
                            desired = growth_all_time(rescanned[month])
                        else:
                            by_day = stored_new_counts(data)
                            by_day.update(new_counts[month])
                            desired = growth_all_time(by_day)
                    except CellFormatError as error:
                        raise self._cell_error(months_table, row, error) from None
                    self._rewrite_data(sink, row, data, desired, months_report)
            sink.flush()

        manifests.write_manifest(self.client, path, manifests.loaded("growth", self.day, current))
        return [months_report, members_report]

    def _recount_later_day(self, later_day: str, months: set[str], new_counts: dict[str, dict[str, int]],
                           rescanned: dict[str, dict[str, int]], report: TableReport) -> None:
        """data:new:<later_day> of ``months``: accounts of that day (its manifest) first seen that day."""
        members_table = METRIC_TABLES["growth"][1]
        other = manifests.read_manifest(self.client, self._manifest_path("growth", dt.date.fromisoformat(later_day)))
        if other is None:
            log.warning("croissance: no loader manifest for %s (%s): recounting month(s) %s from "
                        "%s whole", later_day, self._manifest_path("growth", dt.date.fromisoformat(later_day)),
                        ", ".join(sorted(months)), members_table)
            for month in sorted(months - set(rescanned)):
                rescanned[month] = self._recount_month(month, report)
            return
        keys = sorted(key.encode("utf-8") for key in other.keys(members_table) if month_of(key) in months)
        counted: Counter = Counter()
        with self._guard("growth", members_table, f"reading the accounts of {later_day} back"):
            for rows in self._read_rows(members_table, keys, [DAILY.rstrip(b":")], report):
                for row, cells in rows:
                    try:
                        days = membership_days(cells)
                    except CellFormatError as error:
                        raise self._cell_error(members_table, row, error) from None
                    if days and days[0] == later_day:
                        counted[month_of(row.decode("utf-8"))] += 1
        for month in months:
            new_counts[month][later_day] = counted[month]

    def _recount_month(self, month: str, report: TableReport) -> dict[str, int]:
        """Every data:new:<dt> of a month from all its accounts (a prefix scan: the slow, manifest-free way)."""
        members_table = METRIC_TABLES["growth"][1]
        first_seen: Counter = Counter()
        with self._guard("growth", members_table, f"scanning the accounts of {month}"):
            scanner = self.connection.table(members_table).scan(
                row_prefix=f"{month}#".encode("utf-8"), columns=[DAILY.rstrip(b":")], batch_size=self.read_batch)
            for row, cells in scanner:
                report.rows_read += 1
                try:
                    days = membership_days(cells)
                except CellFormatError as error:
                    raise self._cell_error(members_table, row, error) from None
                if days:
                    first_seen[days[0]] += 1
        return dict(first_seen)
