"""Re-applying the erasure list to the raw zone of the days a run processes (the DAG's task)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from datalake import pseudonyms
from datalake.lake import hdfs_client, layout
from datalake.settings import Settings
from privacy.erasure import ErasureReport, erase_handle
from privacy.erasure_list import read_erasure_list
from privacy.errors import ErasureError
from privacy.redaction import _json_object
from privacy.zones import decode_file, read_file, split_lines, zone_files

log = logging.getLogger(__name__)


@dataclass
class ReapplyReport:
    days: list[dt.date]
    entries: int = 0                    # people in the erasure list
    lines_scanned: int = 0
    found: list[ErasureReport] = field(default_factory=list)
    incomplete: int = 0                 # entries whose erasure never completed

    def format(self) -> str:
        days = ", ".join(day.isoformat() for day in self.days)
        if not self.entries:
            return f"erasure list empty: nothing to re-apply to {days}"
        lines = [f"erasure list ({self.entries} entr{'y' if self.entries == 1 else 'ies'}) re-applied to {days}: "
                 f"{self.lines_scanned:,} raw line(s) checked, {len(self.found)} listed person(s) found again"]
        for report in self.found:
            lines.append(f"  {report.label}: raw {report.removed('raw')}, curated {report.removed('curated')} removed; "
                         f"days recomputed {', '.join(report.days_recomputed) or 'none'}")
        if self.incomplete:
            lines.append(f"  WARNING: {self.incomplete} erasure(s) never completed: rerun `python -m privacy erase` "
                         "for them (the DPO's request log has the handles)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"days": [day.isoformat() for day in self.days], "entries": self.entries, "lines_scanned": self.lines_scanned,
                "found": [report.to_dict(show_handle=False) for report in self.found], "incomplete": self.incomplete}


def listed_handles_in_line(line: bytes, instance_domain: str | None, key: bytes, entries: dict,
                           cache: dict[str, bool]) -> set[str]:
    """The handles of a raw line (author, boosted author, quoted author, mentions) that are in the list."""
    status = _json_object(line)
    if status is None:
        return set()
    quote = status.get("quote")
    nested = [status.get("reblog"), quote.get("quoted_status") if isinstance(quote, dict) else None]
    mentions = status.get("mentions") if isinstance(status.get("mentions"), list) else []
    candidates = [pseudonyms.status_handle(holder, instance_domain) for holder in [status] + nested]
    candidates += [pseudonyms.status_handle({"account": mention}, instance_domain) for mention in mentions]
    found = set()
    for handle in candidates:
        if handle is None:
            continue
        if handle not in cache:
            cache[handle] = pseudonyms.erasure_digest(handle, key) in entries
        if cache[handle]:
            found.add(handle)
    return found


def reapply_erasures(settings: Settings, days, dry_run: bool = False) -> ReapplyReport:
    """Erase again, on ``days``, everyone in the erasure list whose statuses (or mentions) are there.

    Costs one read of the day's raw partitions when the list is not empty, nothing otherwise.
    A person is recognised by the keyed digest of the handles in the day's statuses; their
    handle, read from the data, then drives a normal erasure restricted to the day.
    """
    client, lake = hdfs_client(settings), layout(settings)
    days = sorted(set(days))
    report = ReapplyReport(days)
    entries = read_erasure_list(client, lake)["entries"]
    report.entries = len(entries)
    report.incomplete = sum(1 for entry in entries.values() if not entry.get("completed_at"))
    if not entries:
        log.info("erasure list empty: nothing to re-apply to %s", ", ".join(map(str, days)))
        return report
    key = settings.pseudonym_key.reveal()
    if not key:
        raise ErasureError("the erasure list holds entries but no pseudonym key is configured to recognise them: "
                           "set DATALAKE_PSEUDONYM_KEY or DATALAKE_PSEUDONYM_KEY_FILE (the key the erasures used)",
                           permanent=True)
    key_bytes = key.encode("utf-8")
    cache: dict[str, bool] = {}
    handles: set[str] = set()
    for zone_file in zone_files(client, lake, [day.isoformat() for day in days]):
        if zone_file.zone != "raw":
            continue
        content, _ = decode_file(read_file(client, zone_file.path))
        lines, _ = split_lines(content)
        report.lines_scanned += len(lines)
        for line in lines:
            handles |= listed_handles_in_line(line, zone_file.instance_domain, key_bytes, entries, cache)
    log.info("erasure list (%d entries) re-applied to %s: %d raw line(s) checked, %d listed person(s) found",
             len(entries), ", ".join(map(str, days)), report.lines_scanned, len(handles))
    for handle in sorted(handles):
        report.found.append(erase_handle(settings, handle, dry_run, days=days, remember=False))
    if report.incomplete:
        log.warning("%d erasure(s) of the list never completed: rerun `python -m privacy erase` for them",
                    report.incomplete)
    return report
