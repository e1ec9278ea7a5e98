"""The HBase stage over a list of days: load each day's aggregates, write its ``day_table`` row,
and clear the pending tokens the run processed (datalake/pending.py)."""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from datalake.lake import hdfs_client, layout
from datalake.locks import HdfsLock, owner_name
from datalake.pending import clear_pending
from datalake.report import format_table
from datalake.settings import Settings
from hbase.aggregates import read_day
from hbase.day_table import DayRow, collection_states, day_row
from hbase.errors import LoadError
from hbase.loader import LoadReport, load_day
from hbase.tables import DAY_TABLE, THRIFT_ERRORS, connect, ensure_tables

log = logging.getLogger(__name__)

LOCK_WAIT_S = 1800.0  # a load of a day takes seconds to minutes: wait for another one rather than fail


@dataclass
class HBaseReport:
    """What the stage loaded, day by day, and which days are whole."""

    loads: list[LoadReport] = field(default_factory=list)
    day_rows: list[DayRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # day -> what failed
    pending_cleared: int = 0
    seconds: float = 0.0

    @property
    def incomplete_days(self) -> list[DayRow]:
        return [row for row in self.day_rows if not row.complete]

    def raise_for_failures(self) -> None:
        if self.errors:
            raise LoadError(" | ".join(f"{day}: {error}" for day, error in sorted(self.errors.items())))

    def to_dict(self) -> dict:
        return {"days": [load.day.isoformat() for load in self.loads], "cells": sum(load.cells for load in self.loads),
                "seconds": round(self.seconds, 3), "day_rows": [row.to_dict() for row in self.day_rows],
                "incomplete_days": [row.day.isoformat() for row in self.incomplete_days],
                "errors": self.errors, "pending_cleared": self.pending_cleared}

    def format(self) -> str:
        lines = [f"HBase stage: {len(self.loads)} day(s) loaded, {sum(load.cells for load in self.loads):,} cells "
                 f"in {self.seconds:.1f} s"]
        for load in self.loads:
            lines += ["", f"day {load.day}:", load.summary()]
        if self.day_rows:
            lines += ["", "day_table:", format_table(
                ("day", "complete", "statuses", "instances"),
                [(row.day, int(row.complete), row.statuses,
                  "; ".join(row.why_incomplete) or f"{len(row.instances)} complete") for row in self.day_rows])]
        for day, error in sorted(self.errors.items()):
            lines.append(f"FAILED {day}: {error}")
        return "\n".join(lines)


def curated_statuses(client, lake, day: dt.date) -> int:
    """The day's curated statuses: the sum of its languages aggregates (one language per status)."""
    try:
        return sum(read_day(client, lake.aggregates("languages", day), "languages").records.values())
    except LoadError:
        return 0


def write_day_row(settings: Settings, row: DayRow) -> None:
    connection = connect(settings)
    try:
        ensure_tables(connection, [DAY_TABLE])
        connection.table(DAY_TABLE).put(row.day.isoformat().encode(), row.cells())
    except THRIFT_ERRORS as error:
        raise LoadError(f"{DAY_TABLE} / day {row.day}: writing the row failed: {type(error).__name__}: {error}; "
                        "rerun the load once HBase answers (`make status`)") from error
    finally:
        connection.close()


def run(settings: Settings, days, metrics: list[str] | None = None, *,
        pending: dict[dt.date, list[str]] | None = None, **options) -> HBaseReport:
    """Load each day; then its day_table row; then remove the pending tokens of ``pending`` for it
    (only after everything of the day is in HBase: a failure leaves the day pending)."""
    started = time.monotonic()
    client, lake = hdfs_client(settings), layout(settings)
    report = HBaseReport()
    lock = HdfsLock(client, lake, "hbase-load", owner_name("hbase load"), settings.task_timeout_minutes * 60.0 + 600,
                    wait_s=LOCK_WAIT_S)
    if not lock.acquire():
        raise LoadError(f"another HBase load holds the lake's load lock, {lock.describe_holder()}, and did not finish "
                        f"within {LOCK_WAIT_S:.0f}s; retry later (a lock whose holder died expires by itself)")
    try:
        _load_days(settings, client, lake, days, metrics, pending, report, options)
    finally:
        lock.release()
    report.seconds = time.monotonic() - started
    return report


def _load_days(settings, client, lake, days, metrics, pending, report: HBaseReport, options: dict) -> None:
    for day in sorted(set(days)):
        try:
            report.loads.append(load_day(settings, day, metrics, **options))
            row = day_row(day, list(settings.instances), collection_states(client, lake, day),
                          curated_statuses(client, lake, day))
            write_day_row(settings, row)
            report.day_rows.append(row)
        except LoadError as error:
            log.error("%s", error)
            report.errors[day.isoformat()] = str(error)
            continue
        tokens = (pending or {}).get(day)
        if tokens:
            report.pending_cleared += clear_pending(client, lake, day, tokens)
        if not row.complete:
            log.warning("day %s is incomplete: %s", day, "; ".join(row.why_incomplete))
