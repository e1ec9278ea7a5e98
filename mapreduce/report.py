"""What the MapReduce stage reports: per job, per day, and over the days of a run
(datalake/report.py's protocol)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from datalake.report import format_table
from mapreduce.hadoop import MapReduceError
from mapreduce.rawcheck import DamagedPart


@dataclass
class JobReport:
    """One job of a day's run."""

    name: str
    status: str                 # succeeded | no-input | failed
    output: str                 # the zone directory it filled
    wall_seconds: float = 0.0
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    job_id: str | None = None
    log_file: str | None = None
    error: str | None = None

    def counter(self, group: str, name: str) -> int:
        return self.counters.get(group, {}).get(name, 0)

    @property
    def records_in(self) -> int:
        return self.counter("Map-Reduce Framework", "Map input records")

    @property
    def records_out(self) -> int:
        return self.counter("Map-Reduce Framework", "Reduce output records")


@dataclass
class DayReport:
    """What a day's MapReduce stage did; ``format()`` prints it for an operator."""

    day: dt.date
    framework: str
    jobs: list[JobReport] = field(default_factory=list)
    wall_seconds: float = 0.0
    raw_partitions: list[str] = field(default_factory=list)
    #: raw parts that could not be read to their end, moved to quarantine/raw-corrupt (mapreduce/rawcheck.py)
    damaged_parts: list[DamagedPart] = field(default_factory=list)

    def job(self, name: str) -> JobReport | None:
        return next((job for job in self.jobs if job.name == name), None)

    def _curate(self, counter: str) -> int:
        curate = self.job("curate")
        return curate.counter("datalake", counter) if curate else 0

    @property
    def raw_lines(self) -> int:
        return self._curate("raw_lines")

    @property
    def curated(self) -> int:
        return self._curate("curated_statuses")

    @property
    def quarantined(self) -> int:
        return self._curate("quarantined")

    @property
    def noindex_skipped(self) -> int:
        return self._curate("noindex_statuses")

    @property
    def duplicates(self) -> int:
        return self._curate("duplicate_copies")

    @property
    def failed(self) -> list[JobReport]:
        return [job for job in self.jobs if job.status == "failed"]

    def raise_for_failures(self) -> None:
        if self.failed:
            raise MapReduceError(f"{self.day}: {_failures(self.failed)}")

    def format(self, counters: bool = True) -> str:
        lines = [f"MapReduce stage for {self.day} on {self.framework}: {self.wall_seconds:.1f} s wall",
                 f"  raw lines {self.raw_lines}, curated statuses {self.curated}, duplicates {self.duplicates}, "
                 f"quarantined {self.quarantined}, noindex statuses skipped {self.noindex_skipped}",
                 *[f"  DAMAGED raw part {part.path} ({part.damage}): quarantined in {part.quarantined_to} "
                   f"with {part.lines_recovered} readable line(s)" for part in self.damaged_parts],
                 "",
                 f"  {'job':<10} {'status':<10} {'wall s':>7} {'records in':>11} {'records out':>12}  output"]
        for job in self.jobs:
            lines.append(f"  {job.name:<10} {job.status:<10} {job.wall_seconds:>7.1f} {job.records_in:>11} "
                         f"{job.records_out:>12}  {job.output}")
        if counters:
            for job in self.jobs:
                lines += ["", f"Counters of {job.name}" + (f" ({job.job_id})" if job.job_id else "")
                          + (f", log {job.log_file}" if job.log_file else "") + ":"]
                if job.error:
                    lines.append(f"  ERROR: {job.error}")
                if not job.counters:
                    lines.append("  (none: the job did not run)")
                for group in sorted(job.counters):
                    lines.append(f"  {group}")
                    for name, value in sorted(job.counters[group].items()):
                        lines.append(f"    {name}={value}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"day": self.day.isoformat(), "framework": self.framework, "wall_seconds": round(self.wall_seconds, 3),
                "raw_lines": self.raw_lines, "curated": self.curated, "duplicates": self.duplicates,
                "quarantined": self.quarantined, "noindex_skipped": self.noindex_skipped,
                "raw_partitions": self.raw_partitions,
                "damaged_parts": [part.to_dict() for part in self.damaged_parts],
                "jobs": [{"name": job.name, "status": job.status, "output": job.output,
                          "wall_seconds": round(job.wall_seconds, 3), "records_in": job.records_in,
                          "records_out": job.records_out, "job_id": job.job_id, "log_file": job.log_file,
                          "error": job.error, "counters": job.counters} for job in self.jobs]}


@dataclass
class MapReduceReport:
    """The stage over several days: one DayReport each (datalake/report.py's protocol)."""

    days: list[DayReport] = field(default_factory=list)

    @property
    def failed(self) -> list[JobReport]:
        return [job for day in self.days for job in day.failed]

    def raise_for_failures(self) -> None:
        failures = [day for day in self.days if day.failed]
        if failures:
            raise MapReduceError(" | ".join(f"{day.day}: {_failures(day.failed)}" for day in failures))

    def to_dict(self) -> dict:
        """Small, for XCom: each day's totals and each job's status (counters stay in format())."""
        return {"days": [{key: value for key, value in day.to_dict().items() if key not in ("jobs", "raw_partitions")}
                         | {"jobs": {job.name: job.status for job in day.jobs}} for day in self.days],
                "failed": [f"{job.output}: {job.error}" for job in self.failed]}

    def format(self) -> str:
        summary = format_table(("day", "framework", "wall s", "raw lines", "curated", "quarantined", "failed jobs"),
                               [(day.day, day.framework, f"{day.wall_seconds:.1f}", day.raw_lines, day.curated,
                                 day.quarantined, len(day.failed)) for day in self.days])
        return "\n\n".join([summary] + [day.format() for day in self.days])


def _failures(jobs: list[JobReport]) -> str:
    """``N job(s) failed: <errors>``, each error once (the metrics share one Hadoop job, so a failure of it is
    every metric's)."""
    return f"{len(jobs)} job(s) failed: " + "; ".join(dict.fromkeys(job.error or job.name for job in jobs))
