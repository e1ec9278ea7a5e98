"""Erasure of one person (GDPR art. 17): their statuses out of every zone and out of HBase.

``erase_handle(settings, "ann@alpha.example")`` (``python -m privacy erase --handle ...``):

1. **Who.** The handle is made canonical the way curate makes it (``username@host``,
   lowercased; :func:`datalake.pseudonyms.canonical_handle`), and the user key the curated zone
   and HBase hold is computed from it with the configured key (the pseudonym; the handle itself
   with ``DATALAKE_PSEUDONYMIZE=0``).
2. **The erasure list** (``state/privacy/erasure-list.json``) gets the person's entry first:
   HMAC-SHA256(pseudonym key, ``"erasure-list\\0" + handle``), never the handle, and not the
   user key either (the list cannot be joined with HBase). The DAG's ``reapply_erasures`` task
   re-applies the list to each day it collects (:func:`reapply_erasures`), so the person's
   statuses do not come back when a day is collected again (a backfill of a day the raw
   retention deleted, a partition deleted by hand) or when they post again.
3. **Raw zone**, every partition of every instance (``raw/mastodon/instance=<d>/dt=<day>/``),
   line by line (:func:`erase_from_raw_line`):

   * removed: their statuses, matched on the canonical handle as curate builds it (a local
     account's bare ``acct`` takes the partition's instance domain), a boost of one of their
     statuses, and a line that cannot be read as JSON but names them (handle or profile URL);
   * redacted, in other people's statuses: the ``mentions`` entries that point to them, the
     ``<a>`` mentions of them in the content (replaced by ``@[erased]``, class and host kept, so
     no metric changes), a quote of one of their statuses (``quoted_status`` null, ``state``
     ``deleted``, as Mastodon shows a deleted quote), and any other text naming their handle or
     profile URL (``[erased]``). Numeric ids (``in_reply_to_account_id``, a mention's local
     ``id``) are kept: they mean nothing without the instance, where the account is gone.

   Part files keep their names, so the collector's resume logic (the highest ``<last_id>`` of a
   day's parts, docs/data-formats.md) is unchanged: a part's name says which id range the
   collector fetched; after an erasure it may hold fewer statuses, or none (an empty gzip).
4. **Quarantine zone**: each record's raw ``line`` goes through the same function: removed or
   redacted exactly as in the raw zone (so a later curate of the raw zone gives the same file).
5. **Curated zone**: records whose ``user`` is the person's user key are removed.
6. Every file that changes is rewritten whole under a temporary name in its own directory and
   renamed over the old one (:func:`datalake.lake.write_atomic`): a reader sees the old or the
   new file, never a partial one, and no data is lost if the erasure stops half way (a rerun
   finishes it: every step is idempotent).
7. **Aggregates and HBase**: every day whose curated partition lost records, or on which HBase
   still holds the person's cells, is recomputed from its curated partition
   (``mapreduce.pipeline.run_day(curate=False)``) and reloaded (``hbase.loader.load_day``); the
   loader removes the person's ``daily:<dt>`` cells (stale rows of the day's manifest), the
   ``user_table`` row and the ``croissance_accounts_table`` rows once they hold no day, and
   recomputes every count. What a reload could not reach (a day whose curated partition is gone)
   is deleted explicitly and reported as a warning, with the day's manifests cleaned.

The scan reads the whole raw zone (there is no index by author): it costs in proportion to the
lake, once per erasure. When the person's account URL is not on their handle's host (an
instance with a separate web domain), the URLs learned from their own statuses are used in a
second pass.

Logs name the person by their erasure-list entry (the first 12 hex digits of the digest), never
by handle; only the report returned to the caller (the CLI's output) holds the handle.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import hbase
import mapreduce
from datalake.lake import LakeLayout, exists, hdfs_client, layout
from datalake.settings import Settings
from privacy.erasure_list import read_erasure_list, record_in_list
from privacy.errors import ErasureError
from privacy.identity import Matcher, Person
from privacy.redaction import LineResult, erase_from_curated_line, erase_from_quarantine_line, erase_from_raw_line
from privacy.zones import ZONES, FileChange, ZoneFile, erase_in_file, zone_files

log = logging.getLogger(__name__)

MAX_PASSES = 3


@dataclass
class ErasureReport:
    handle: str
    user_key: str
    label: str
    dry_run: bool
    days: list[str] | None = None                 # restricted to these days (reapply); None = every day
    passes: int = 0
    files_scanned: Counter = field(default_factory=Counter)    # zone -> files read
    lines_scanned: Counter = field(default_factory=Counter)
    changes: list[FileChange] = field(default_factory=list)
    days_recomputed: list[str] = field(default_factory=list)
    days_reloaded: list[str] = field(default_factory=list)
    hbase_rows_before: dict[str, int] = field(default_factory=dict)
    hbase_rows_removed_by_reload: dict[str, int] = field(default_factory=dict)
    hbase_rows_deleted: dict[str, int] = field(default_factory=dict)    # explicitly, not by a reload
    hbase_days: list[str] = field(default_factory=list)                 # days HBase held for the person
    manifests_rewritten: list[str] = field(default_factory=list)
    hbase_compacted: list[str] = field(default_factory=list)           # major compaction requested
    erasure_list: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scan_seconds: float = 0.0

    def removed(self, zone: str) -> dict[str, int]:
        """Lines removed per day in a zone: raw = status copies (one per instance that served it),
        curated = statuses, quarantine = quarantined lines."""
        by_day: Counter = Counter()
        for change in self.changes:
            if change.zone == zone and change.removed:
                by_day[change.day] += change.removed
        return dict(sorted(by_day.items()))

    def redacted(self, zone: str) -> int:
        return sum(change.redacted for change in self.changes if change.zone == zone)

    @property
    def files_rewritten(self) -> int:
        return len(self.changes)

    @property
    def hbase_rows_removed(self) -> dict[str, int]:
        total = Counter(self.hbase_rows_removed_by_reload)
        total.update(self.hbase_rows_deleted)
        return dict(total)

    def format(self, show_handle: bool = True) -> str:
        who = self.handle if show_handle else self.label
        key = self.user_key if show_handle else "…"
        scanned = ", ".join(f"{zone} {self.files_scanned[zone]} file(s) / {self.lines_scanned[zone]:,} line(s)"
                            for zone in ZONES)
        lines = [f"erasure of {who} (user key {key})" + (" — DRY RUN, nothing changed" if self.dry_run else ""),
                 f"  scanned: {scanned} in {self.passes} pass(es), {self.scan_seconds:.1f} s",
                 f"  files {'to rewrite' if self.dry_run else 'rewritten'}: {self.files_rewritten}"]
        for zone in ZONES:
            removed = self.removed(zone)
            what = {"raw": "status copies", "quarantine": "quarantined lines", "curated": "statuses"}[zone]
            lines.append(f"  {zone}: {sum(removed.values())} {what} removed"
                         + (f" ({', '.join(f'{day}: {count}' for day, count in removed.items())})" if removed else "")
                         + (f", {self.redacted(zone)} line(s) of other people redacted (mentions)"
                            if self.redacted(zone) else ""))
        for change in self.changes:
            lines.append(f"    {change.path}: {change.removed} removed, {change.redacted} redacted of {change.lines}")
        lines.append(f"  HBase held the person on {len(self.hbase_days)} day(s); rows before: "
                     + (", ".join(f"{table} {count}" for table, count in sorted(self.hbase_rows_before.items()))
                        or "none"))
        lines.append(f"  days {'to recompute' if self.dry_run else 'recomputed'} (aggregates): "
                     f"{', '.join(self.days_recomputed) or 'none'}; "
                     f"{'to reload' if self.dry_run else 'reloaded'} into HBase: "
                     f"{', '.join(self.days_reloaded) or 'none'}")
        if not self.dry_run:
            lines.append("  HBase rows removed: " + (", ".join(f"{table} {count}" for table, count in
                                                              sorted(self.hbase_rows_removed.items())) or "none")
                         + (f" (of which deleted explicitly: {self.hbase_rows_deleted})"
                            if self.hbase_rows_deleted else ""))
            if self.hbase_compacted:
                lines.append(f"  HBase major compaction requested (purges the deleted cells from disk): "
                             f"{', '.join(self.hbase_compacted)}")
        lines.append(f"  erasure list: {self.erasure_list}")
        for warning in self.warnings:
            lines.append(f"  WARNING: {warning}")
        lines.append(f"  {'dry run' if self.dry_run else 'erasure'} done in {self.seconds:.1f} s")
        return "\n".join(lines)

    def to_dict(self, show_handle: bool = True) -> dict:
        return {"handle": self.handle if show_handle else None, "user_key": self.user_key if show_handle else None,
                "entry": self.label, "dry_run": self.dry_run, "days": self.days, "passes": self.passes,
                "files_scanned": dict(self.files_scanned), "lines_scanned": dict(self.lines_scanned),
                "files_rewritten": self.files_rewritten, "changes": [change.to_dict() for change in self.changes],
                "removed": {zone: self.removed(zone) for zone in ZONES},
                "redacted": {zone: self.redacted(zone) for zone in ZONES},
                "hbase_days": self.hbase_days, "hbase_rows_before": self.hbase_rows_before,
                "days_recomputed": self.days_recomputed, "days_reloaded": self.days_reloaded,
                "hbase_rows_removed": self.hbase_rows_removed, "hbase_rows_deleted_explicitly": self.hbase_rows_deleted,
                "manifests_rewritten": self.manifests_rewritten, "hbase_compacted": self.hbase_compacted,
                "erasure_list": self.erasure_list,
                "warnings": self.warnings, "seconds": round(self.seconds, 3),
                "scan_seconds": round(self.scan_seconds, 3)}


def _line_action(zone_file: ZoneFile, matcher: Matcher) -> Callable[[bytes], LineResult]:
    if zone_file.zone == "raw":
        return lambda line: erase_from_raw_line(line, matcher, zone_file.instance_domain)
    if zone_file.zone == "quarantine":
        return lambda line: erase_from_quarantine_line(line, matcher)
    return lambda line: erase_from_curated_line(line, matcher.person.user_key)


def _scan(client, lake: LakeLayout, matcher: Matcher, report: ErasureReport, dry_run: bool) -> None:
    """Pass over every file until no new profile URL of the person is learned (usually one pass)."""
    changes: dict[str, FileChange] = {}
    temp_files: list[str] = []
    for number in range(1, MAX_PASSES + 1):
        report.passes = number
        learned_before = set(matcher.learned)
        report.files_scanned.clear()
        report.lines_scanned.clear()
        temp_files.clear()
        for zone_file in zone_files(client, lake, report.days, temp_files):
            counted = _CountingAction(_line_action(zone_file, matcher))
            change = erase_in_file(client, zone_file, counted, dry_run)
            report.files_scanned[zone_file.zone] += 1
            report.lines_scanned[zone_file.zone] += counted.lines
            if change is not None:
                previous = changes.get(change.path)
                if previous is not None and not dry_run:  # a later pass found more in a rewritten file
                    previous.removed += change.removed
                    previous.redacted += change.redacted
                    previous.reasons.update(change.reasons)
                else:  # first finding, or a dry run's later pass (it sees the unchanged file again: a superset)
                    changes[change.path] = change
        if matcher.learned == learned_before:
            break
        log.info("erasure (%s): the person's profile URLs include %d not on their handle's host; "
                 "scanning again with them", report.label, len(matcher.learned - learned_before))
    report.changes = sorted(changes.values(), key=lambda change: (ZONES.index(change.zone), change.path))
    for path in temp_files:
        report.warnings.append(f"temporary file {path} (left by a crashed or running collector or job) was not "
                               "checked: the next run of its day removes it; delete it by hand if no run is going on")


class _CountingAction:
    def __init__(self, action: Callable[[bytes], LineResult]):
        self.action, self.lines = action, 0

    def __call__(self, line: bytes) -> LineResult:
        self.lines += 1
        return self.action(line)


def _recompute_and_reload(settings: Settings, client, lake: LakeLayout, person: Person, report: ErasureReport,
                          dry_run: bool) -> None:
    """Recompute and reload the days that changed, through the MapReduce and HBase stages' contracts."""
    with hbase.person_in_hbase(settings) as held:
        before = held.rows(person.user_key)
        report.hbase_rows_before = {table: len(rows) for table, rows in before.items() if rows}
        hbase_days = hbase.days_of(before)
        if report.days is not None:
            hbase_days &= set(report.days)
        report.hbase_days = sorted(hbase_days)
        curated_days = {change.day for change in report.changes if change.zone == "curated"}
        candidates = sorted(curated_days | hbase_days)
        loaded = held.loaded_days(candidates)
    unreachable = []
    for day_text in candidates:
        if not exists(client, lake.curated(dt.date.fromisoformat(day_text))):
            unreachable.append(day_text)
            continue
        report.days_recomputed.append(day_text)
        if day_text in loaded or day_text in hbase_days:
            report.days_reloaded.append(day_text)
    if dry_run:
        for day_text in unreachable:
            report.warnings.append(f"{day_text}: HBase holds the person but the curated partition is gone; the "
                                   "erasure would delete their cells without recomputing that day's counts")
        return
    days = [dt.date.fromisoformat(day) for day in report.days_recomputed]
    if days:
        log.info("erasure (%s): recomputing the aggregates of %s from their curated partitions", report.label,
                 ", ".join(report.days_recomputed))
        recomputed = mapreduce.run(settings, days, curate=False)
        if recomputed.failed:
            raise ErasureError(f"recomputing the aggregates failed: {'; '.join(job.error or job.name for job in recomputed.failed)}. "
                               "The zones are already erased; rerun the erasure to finish (it is idempotent)")
    reload_days = [dt.date.fromisoformat(day) for day in report.days_reloaded]
    if reload_days:
        log.info("erasure (%s): reloading %s into HBase", report.label, ", ".join(report.days_reloaded))
        reloaded = hbase.run(settings, reload_days)
        if reloaded.errors:
            raise ErasureError(f"reloading HBase failed: {' | '.join(reloaded.errors.values())}. Rerun the erasure to "
                               "finish (it is idempotent)")
    with hbase.person_in_hbase(settings) as held:
        remaining = held.rows(person.user_key)
        left_days = sorted(hbase.days_of(remaining))
        if report.days is not None:
            # a re-application touches only its days; other days are their own runs' (or a full erasure's)
            other_days = [day for day in left_days if day not in report.days]
            if other_days:
                report.warnings.append(
                    f"HBase also holds the person on {', '.join(other_days)}, outside the days of this run: rerun "
                    f"`python -m privacy erase` for {person.label} (the handle is in the request log)")
            if any(day in report.days for day in left_days):
                raise ErasureError(f"HBase still holds the person on {', '.join(report.days)} after the reload; run "
                                   f"the full erasure (`python -m privacy erase`) for {person.label}")
        elif any(remaining.values()):
            report.hbase_rows_deleted = held.delete(remaining)
            report.manifests_rewritten = held.forget_in_manifests(person.user_key, left_days)
            report.warnings.append(
                f"HBase still held the person after the reloads (days {', '.join(left_days) or 'none'}: no curated "
                f"partition to recompute from); their rows were deleted explicitly ({report.hbase_rows_deleted}), "
                "but the counts of those days still include their statuses")
        after = held.rows(person.user_key)
        if report.days is None and any(after.values()):
            raise ErasureError(f"HBase still holds {sum(map(len, after.values()))} row(s) of the person after the "
                               "erasure; check HBase (`make status`) and rerun it")
        removed = {table: sum(1 for row in rows if row not in after[table]) for table, rows in before.items()}
        report.hbase_rows_removed_by_reload = {
            table: count - report.hbase_rows_deleted.get(table, 0) for table, count in removed.items()
            if count - report.hbase_rows_deleted.get(table, 0) > 0}
        if any(removed.values()) or report.days_reloaded:
            report.hbase_compacted = held.purge()


def erase_handle(settings: Settings, handle: str, dry_run: bool = False, *, days: Iterable[dt.date] | None = None,
                 remember: bool = True, recompute: bool = True) -> ErasureReport:
    """Erase one person (``user@host``) from the raw, quarantine and curated zones, recompute and
    reload the days that change, and make sure HBase holds none of their rows.

    ``dry_run``: scan and report, change nothing. ``days``: only these days (the DAG's
    re-application of the erasure list); default every day. ``remember``: keep the person in the
    erasure list. ``recompute=False`` stops after the zones (tests, or when the stack's MapReduce
    is down: rerun without it later). Raises ErasureError (or LakeError) saying what failed;
    every step is idempotent, so a rerun finishes an interrupted erasure.
    """
    started = time.monotonic()
    person = Person.from_handle(handle, settings)
    client, lake = hdfs_client(settings), layout(settings)
    day_list = sorted({day.isoformat() for day in days}) if days is not None else None
    report = ErasureReport(handle=person.handle, user_key=person.user_key, label=person.label, dry_run=dry_run,
                           days=day_list)
    log.info("erasure (%s) in %s%s%s", person.label, settings.root,
             f", days {', '.join(day_list)}" if day_list is not None else ", every day",
             " (dry run)" if dry_run else "")
    if not remember:
        report.erasure_list = "not asked"
    elif person.digest is None:
        report.erasure_list = "not kept (no pseudonym key configured)"
        report.warnings.append("no pseudonym key is configured, so the erasure list cannot hold the person: a "
                               "re-collection of a day would bring their statuses back; set DATALAKE_PSEUDONYM_KEY "
                               "(or run `make setup`) and rerun the erasure")
    elif dry_run:
        listed = person.digest in read_erasure_list(client, lake)["entries"]
        report.erasure_list = "already listed" if listed else "would be recorded"
    else:  # first, so that an interrupted erasure is still re-applied by the DAG
        report.erasure_list = record_in_list(client, lake, person.digest, completed=False)

    matcher = Matcher(person)
    scan_started = time.monotonic()
    _scan(client, lake, matcher, report, dry_run)
    report.scan_seconds = time.monotonic() - scan_started
    lines = sum(report.lines_scanned.values())
    log.info("erasure (%s): scanned %s line(s) in %d file(s) in %.1f s (%s lines/s), %d file(s) %s",
             person.label, f"{lines:,}", sum(report.files_scanned.values()), report.scan_seconds,
             f"{lines / report.scan_seconds:,.0f}" if report.scan_seconds > 0 else "-", report.files_rewritten,
             "to rewrite" if dry_run else "rewritten")
    if recompute:
        _recompute_and_reload(settings, client, lake, person, report, dry_run)
    elif any(change.zone == "curated" for change in report.changes):
        report.warnings.append("aggregates and HBase were not recomputed (recompute=False): rerun the erasure "
                               "without it to finish")
    if remember and person.digest is not None and not dry_run and recompute:
        record_in_list(client, lake, person.digest, completed=True)
    report.seconds = time.monotonic() - started
    if dry_run:
        log.info("erasure (%s) dry run done, nothing changed: would rewrite %d file(s), remove raw %s, quarantine %s, "
                 "curated %s, redact %d line(s), recompute days %s, reload %s; %d warning(s)", person.label,
                 report.files_rewritten, report.removed("raw"), report.removed("quarantine"), report.removed("curated"),
                 sum(report.redacted(zone) for zone in ZONES), report.days_recomputed or "none",
                 report.days_reloaded or "none", len(report.warnings))
    else:
        log.info("erasure (%s) done: %d file(s) rewritten; removed raw %s, quarantine %s, curated %s; %d line(s) "
                 "redacted; days recomputed %s, reloaded %s; HBase rows removed %s; %d warning(s)", person.label,
                 report.files_rewritten, report.removed("raw"), report.removed("quarantine"), report.removed("curated"),
                 sum(report.redacted(zone) for zone in ZONES), report.days_recomputed or "none",
                 report.days_reloaded or "none", report.hbase_rows_removed or "none", len(report.warnings))
    return report
