"""Retention of the raw zone: delete the ``dt=`` partitions older than the configured days.

``DATALAKE_RAW_RETENTION_DAYS`` (``Settings.raw_retention_days``) says how many days of raw
statuses the lake keeps; 0 or unset keeps them forever (and a run says so). With N days, a run
for ``today`` keeps the partitions ``dt >= today - N`` and deletes the older ones, so N = 30 keeps
the 30 days before ``today``. The DAG passes the end of its data interval as ``today`` (never
``ds``), so a rerun of a day deletes exactly what its first run deleted, and a backfill of an old
day never deletes more than the run that was due then.

What follows the raw retention (docs/processing-register.md, "Retention"):

* ``raw/mastodon/instance=*/dt=<D>``: the statuses as the instances served them (personal data
  in clear).
* ``quarantine/<stage>/dt=<D>``: the raw lines curate could not read, kept whole, so the same
  personal data as the raw zone: same retention.
* beside them, a copy of a partition under a temporary name (``_tmp.dt=<D>.<random>[.old]``, left
  by a directory swap that was killed): the same data, deleted with the same cutoff. Any other
  name in these directories is kept and reported (``unknown``), never silently passed over.

What does not: the curated zone, the aggregates and the loader's manifests hold pseudonyms
(HMAC with the secret key), no handle, name, note or content; they are what HBase is rebuilt
and an erasure is recomputed from, and they live as long as the HBase tables they feed.

A partition is deleted with one recursive HDFS delete (a NameNode operation: a reader sees the
partition whole or not at all). Each deletion is logged with its path, files and bytes.
"""
from __future__ import annotations

import datetime as dt
import logging
import posixpath
from dataclasses import dataclass, field

from hdfs import HdfsError, InsecureClient

from datalake.lake import LakeError, hdfs_client, list_names, partition_name_day
from datalake.settings import ConfigError, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """One ``dt=`` partition of a zone that retention deletes (or would delete)."""

    zone: str       # "raw" or "quarantine"
    path: str       # full HDFS path of the dt= directory
    day: dt.date
    files: int = 0
    bytes: int = 0

    def to_dict(self) -> dict:
        return {"zone": self.zone, "path": self.path, "day": self.day.isoformat(), "files": self.files,
                "bytes": self.bytes}


@dataclass
class RetentionReport:
    today: dt.date
    retention_days: int
    dry_run: bool = False
    deleted: list[Partition] = field(default_factory=list)   # (dry run: would be deleted)
    kept: int = 0                                            # dt= partitions younger than the cutoff
    unknown: list[str] = field(default_factory=list)         # names that are no partition: kept, reported

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    @property
    def cutoff(self) -> dt.date | None:
        """The oldest day kept; None when retention is off."""
        return retention_cutoff(self.today, self.retention_days) if self.enabled else None

    def format(self) -> str:
        if not self.enabled:
            return ("raw retention is off (DATALAKE_RAW_RETENTION_DAYS unset or 0): the raw and quarantine "
                    "zones are kept forever; nothing deleted")
        verb = "would delete" if self.dry_run else "deleted"
        lines = [f"raw retention {self.retention_days} day(s) as of {self.today}: keeping dt >= {self.cutoff}; "
                 f"{verb} {len(self.deleted)} partition(s), kept {self.kept}"
                 + (" (dry run: nothing changed)" if self.dry_run else "")]
        for partition in self.deleted:
            lines.append(f"  {verb} {partition.path} ({partition.files} file(s), {partition.bytes:,} bytes)")
        for path in self.unknown:
            lines.append(f"  WARNING: {path} is not a dt= partition: kept; move or delete it by hand")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"today": self.today.isoformat(), "retention_days": self.retention_days, "enabled": self.enabled,
                "cutoff": self.cutoff.isoformat() if self.cutoff else None, "dry_run": self.dry_run,
                "deleted": [partition.to_dict() for partition in self.deleted], "kept": self.kept,
                "unknown": self.unknown}


def retention_cutoff(today: dt.date, retention_days: int) -> dt.date:
    """The oldest ``dt`` kept: partitions of earlier days are older than ``retention_days`` days."""
    if retention_days < 1:
        raise ValueError(f"retention_days must be >= 1 to have a cutoff, got {retention_days}")
    return today - dt.timedelta(days=retention_days)


def partition_day(name: str) -> dt.date | None:
    """The day of a ``dt=YYYY-MM-DD`` directory name, or of a leftover copy of one
    (``_tmp.dt=YYYY-MM-DD.…``); None for anything else (never deleted)."""
    return partition_name_day(name)


def expired(names: list[str], today: dt.date, retention_days: int) -> list[str]:
    """The ``dt=`` names among ``names`` older than the retention (sorted); others are left alone."""
    if retention_days < 1:
        return []
    cutoff = retention_cutoff(today, retention_days)
    return sorted(name for name in names if (day := partition_day(name)) is not None and day < cutoff)


def _partition_parents(client: InsecureClient, root: str) -> list[tuple[str, str]]:
    """(zone, directory holding dt= partitions): each raw instance and each quarantine stage."""
    parents = []
    raw = posixpath.join(root, "raw", "mastodon")
    parents += [("raw", posixpath.join(raw, name)) for name in list_names(client, raw) if name.startswith("instance=")]
    quarantine = posixpath.join(root, "quarantine")
    parents += [("quarantine", posixpath.join(quarantine, name)) for name in list_names(client, quarantine)
                if not name.startswith(("_", "."))]
    return parents


def apply_raw_retention(settings: Settings, today: dt.date, dry_run: bool = False, *,
                        retention_days: int | None = None) -> RetentionReport:
    """Delete the raw and quarantine partitions older than the retention as of ``today``.

    ``retention_days`` overrides ``settings.raw_retention_days`` (0 = off). ``dry_run`` lists what
    would go and deletes nothing. Raises LakeError naming the partition when HDFS fails (the
    partitions deleted before it are in the report's log lines; a rerun finishes the job).
    """
    days = settings.raw_retention_days if retention_days is None else retention_days
    if days < 0:
        raise ConfigError(f"DATALAKE_RAW_RETENTION_DAYS={days} is negative; use 0 (keep forever) or a number of days")
    report = RetentionReport(today=today, retention_days=days, dry_run=dry_run)
    if not report.enabled:
        log.info("raw retention is off (DATALAKE_RAW_RETENTION_DAYS unset or 0): raw and quarantine zones "
                 "under %s are kept forever", settings.root)
        return report
    client = hdfs_client(settings)
    log.info("raw retention %d day(s) as of %s: deleting raw and quarantine partitions dt < %s under %s%s",
             days, today, report.cutoff, settings.root, " (dry run)" if dry_run else "")
    for zone, parent in _partition_parents(client, settings.root):
        names = list_names(client, parent)
        old = expired(names, today, days)
        report.kept += sum(1 for name in names if partition_day(name) is not None) - len(old)
        report.unknown += [posixpath.join(parent, name) for name in names if partition_day(name) is None]
        for name in old:
            path = posixpath.join(parent, name)
            try:
                summary = client.content(path)
                partition = Partition(zone, path, partition_day(name), summary.get("fileCount", 0),
                                      summary.get("length", 0))
                if not dry_run:
                    client.delete(path, recursive=True)
            except HdfsError as error:
                raise LakeError(f"retention: deleting {path} failed: {error}; check HDFS (`make status`) and "
                                "rerun: partitions already deleted stay deleted") from error
            report.deleted.append(partition)
            log.info("retention: %s %s (%d file(s), %s bytes)", "would delete" if dry_run else "deleted", path,
                     partition.files, f"{partition.bytes:,}")
    log.info("raw retention: %s %d partition(s), kept %d", "would delete" if dry_run else "deleted",
             len(report.deleted), report.kept)
    for path in report.unknown:
        log.warning("retention: %s is not a dt= partition: kept; move or delete it by hand", path)
    return report
