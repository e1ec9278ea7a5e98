"""What a collection run reports: per instance, and for the stage (datalake/report.py's protocol)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from collection.rawzone import COMPLETE, FAILED, DayState
from collection.snowflake import format_timestamp, id_to_datetime
from datalake.report import format_table


@dataclass
class InstanceReport:
    """One instance's run: what it read, wrote and reached, and each open day's state."""

    instance: str | None  # the instance's own domain (None when it could not be asked)
    base_url: str
    timeline: str = "public"
    interval_start: dt.datetime | None = None
    interval_end: dt.datetime | None = None
    window_start: dt.datetime | None = None
    open_days: list[dt.date] = field(default_factory=list)
    pages: int = 0
    requests: int = 0  # timeline requests, retries and 429s included
    statuses_read: int = 0  # statuses in the range the run read
    statuses_written: int = 0  # new to the raw zone
    statuses_held: int = 0  # read again (lateness window, rerun) and already held: not written twice
    too_late: int = 0  # for days before the open days: kept in raw, their days are final
    ahead: int = 0  # created after the interval (a remote clock): in the partition of their own date
    parts: list[str] = field(default_factory=list)
    days_touched: set[dt.date] = field(default_factory=set)  # open days whose partitions or state changed
    day_states: dict[dt.date, DayState] = field(default_factory=dict)
    high_water_id_before: str | None = None
    high_water_id_after: str | None = None
    retries: int = 0
    rate_limited: int = 0
    rate_limit_wait_seconds: float = 0.0
    pace_wait_seconds: float = 0.0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the failure, when the run failed
    permanent: bool = False  # ... and a retry cannot fix it
    skipped: str | None = None  # why the run did nothing (another collection held the instance)

    @property
    def label(self) -> str:
        return self.instance or self.base_url

    @property
    def state(self) -> str:
        """complete | incomplete (with why) | failed, over the interval's days."""
        if self.error is not None:
            return FAILED
        if self.skipped is not None:
            return f"skipped ({self.skipped})"
        interval = [state for day, state in sorted(self.day_states.items())
                    if self.interval_start is not None and day >= self.interval_start.date()]
        if interval and all(state.state == COMPLETE for state in interval):
            return COMPLETE
        reasons = sorted({state.reason for state in interval if state.state != COMPLETE and state.reason})
        return "incomplete" + (f" ({'; '.join(reasons)})" if reasons else "")

    @property
    def statuses_per_second(self) -> float:
        return self.statuses_written / self.seconds if self.seconds > 0 else 0.0

    def summary_line(self) -> str:
        return (f"{self.label}: {self.state}: {self.statuses_written} new statuses ({self.statuses_held} already held, "
                f"{self.too_late} too late) in {len(self.parts)} parts from {self.pages} pages in {self.seconds:.1f}s "
                f"({self.statuses_per_second:.0f} statuses/s, {self.retries} retries, {self.rate_limited} answers 429, "
                f"{self.rate_limit_wait_seconds:.0f}s rate-limit waits); high-water id {self.high_water_id_before} -> "
                f"{self.high_water_id_after}")

    def to_dict(self) -> dict:
        return {
            "instance": self.instance, "base_url": self.base_url, "timeline": self.timeline, "state": self.state,
            "interval_start": self.interval_start.isoformat() if self.interval_start else None,
            "interval_end": self.interval_end.isoformat() if self.interval_end else None,
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "open_days": [day.isoformat() for day in self.open_days],
            "days_touched": sorted(day.isoformat() for day in self.days_touched),
            "days": {day.isoformat(): {"state": state.state, "reason": state.reason, "statuses": state.statuses}
                     for day, state in sorted(self.day_states.items())},
            "pages": self.pages, "requests": self.requests, "statuses_read": self.statuses_read,
            "statuses_written": self.statuses_written, "statuses_held": self.statuses_held,
            "too_late": self.too_late, "ahead": self.ahead, "parts_written": len(self.parts),
            "high_water_id_before": self.high_water_id_before, "high_water_id_after": self.high_water_id_after,
            "retries": self.retries, "rate_limited": self.rate_limited,
            "rate_limit_wait_seconds": round(self.rate_limit_wait_seconds, 3),
            "pace_wait_seconds": round(self.pace_wait_seconds, 3), "seconds": round(self.seconds, 3),
            "warnings": self.warnings, "error": self.error, "permanent": self.permanent, "skipped": self.skipped,
        }


def describe_id(status_id: str | None) -> str:
    if not status_id:
        return "-"
    return f"{status_id} ({format_timestamp(id_to_datetime(status_id))})"


@dataclass
class CollectionReport:
    """The collection stage of a run: every instance's report (a failed one holds its error)."""

    days: list[dt.date]
    instances: list[InstanceReport] = field(default_factory=list)

    @property
    def failures(self) -> list[InstanceReport]:
        return [report for report in self.instances if report.error is not None]

    @property
    def days_touched(self) -> list[dt.date]:
        return sorted(set().union(*(report.days_touched for report in self.instances)))

    @property
    def complete(self) -> bool:
        return all(report.state == COMPLETE for report in self.instances)

    def raise_for_failures(self) -> None:
        """Raise the first failure as the CollectionError it was (so that ``permanent`` is kept)."""
        from collection.errors import CollectionError

        failures = self.failures
        if failures:
            message = " | ".join(report.error for report in failures)
            if len(failures) > 1:
                message = f"{len(failures)} of {len(self.instances)} instances failed: {message}"
            raise CollectionError(message, permanent=all(report.permanent for report in failures))

    def to_dict(self) -> dict:
        return {"days": [day.isoformat() for day in self.days], "days_touched": [d.isoformat() for d in self.days_touched],
                "complete": self.complete, "instances": [report.to_dict() for report in self.instances]}

    def format(self) -> str:
        rows = [(report.label, report.pages, report.statuses_written, report.statuses_held, report.too_late,
                 len(report.parts), describe_id(report.high_water_id_after), report.state)
                for report in self.instances]
        lines = [f"collection of {', '.join(day.isoformat() for day in self.days)}: "
                 f"{len(self.instances)} instance(s), days touched: "
                 f"{', '.join(day.isoformat() for day in self.days_touched) or 'none'}",
                 format_table(("instance", "pages", "new", "held", "too late", "parts", "high-water id after", "state"),
                              rows, left=1)]
        for report in self.instances:
            for warning in report.warnings:
                lines.append(f"WARNING {report.label}: {warning}")
            if report.error:
                lines.append(f"FAILED {report.error}")
        return "\n".join(lines)
