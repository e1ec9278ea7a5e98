"""The files of the zones that hold personal data, read and rewritten whole (privacy/erasure.py).

Every file that changes is rewritten under a temporary name in its own directory and renamed over
the old one (datalake.lake.write_atomic): a reader sees the old or the new file, never a partial
one. Raw parts keep their names (the collector's part names and id indexes stay true: an erased
status is not collected again).
"""
from __future__ import annotations

import gzip
import posixpath
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from datalake.lake import (TMP_PREFIX, LakeError, LakeLayout, list_files, list_names, partition_name_day, read_bytes,
                           write_atomic)
from privacy.errors import ErasureError
from privacy.redaction import REDACT, REMOVE, LineResult

GZIP_MAGIC = b"\x1f\x8b"
RAW_GZIP_LEVEL = 3  # the collector's level (collection/rawzone.py)
ZONES = ("raw", "quarantine", "curated")


def split_lines(data: bytes) -> tuple[list[bytes], bool]:
    """(lines, whether the data ended with a newline)."""
    if not data:
        return [], False
    lines = data.split(b"\n")
    if lines[-1] == b"":
        return lines[:-1], True
    return lines, False


def join_lines(lines: list[bytes], final_newline: bool = True) -> bytes:
    if not lines:
        return b""
    return b"\n".join(lines) + (b"\n" if final_newline else b"")


def decode_file(data: bytes) -> tuple[bytes, bool]:
    """(content, was gzip): gzip detected by its magic bytes, whatever the file's name."""
    if data[:2] == GZIP_MAGIC:
        return gzip.decompress(data), True
    return data, False


def encode_file(content: bytes, compressed: bool) -> bytes:
    if not compressed:
        return content
    compressor = zlib.compressobj(RAW_GZIP_LEVEL, zlib.DEFLATED, 31)  # one gzip member, as the collector writes
    return compressor.compress(content) + compressor.flush()


@dataclass
class FileChange:
    zone: str
    path: str
    day: str | None
    lines: int
    removed: int = 0
    redacted: int = 0
    reasons: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        return {"zone": self.zone, "path": self.path, "day": self.day, "lines": self.lines, "removed": self.removed,
                "redacted": self.redacted, "reasons": dict(self.reasons)}


@dataclass(frozen=True)
class ZoneFile:
    zone: str
    path: str
    day: str | None
    instance_domain: str | None




def _partitions(client, parent: str, days: set[str] | None) -> list[tuple[str, str]]:
    found = []
    for name in list_names(client, parent):
        day = partition_name_day(name)  # a leftover copy of a partition too: it holds the same people
        if day is not None and (days is None or day.isoformat() in days):
            found.append((day.isoformat(), posixpath.join(parent, name)))
    return found


def zone_files(client, lake: LakeLayout, days: Iterable[str] | None = None,
               temp_files: list[str] | None = None) -> list[ZoneFile]:
    """The finished files of the raw, quarantine and curated zones (of ``days`` when given);
    temporary leftovers (``_tmp.``) are appended to ``temp_files``."""
    wanted = set(days) if days is not None else None
    files: list[ZoneFile] = []

    def add(zone: str, day: str, partition: str, domain: str | None) -> None:
        for path in list_files(client, partition):
            files.append(ZoneFile(zone, path, day, domain))
        if temp_files is not None:
            temp_files.extend(posixpath.join(partition, name) for name in list_names(client, partition)
                              if name.startswith(TMP_PREFIX))

    for instance in list_names(client, lake.raw_root):
        if instance.startswith("instance="):
            domain = instance.split("=", 1)[1].lower()
            for day, partition in _partitions(client, posixpath.join(lake.raw_root, instance), wanted):
                add("raw", day, partition, domain)
    for stage in list_names(client, lake.quarantine_root):
        if not stage.startswith(("_", ".")):
            for day, partition in _partitions(client, posixpath.join(lake.quarantine_root, stage), wanted):
                add("quarantine", day, partition, None)
    for day, partition in _partitions(client, lake.curated_root, wanted):
        add("curated", day, partition, None)
    return files


def read_file(client, path: str) -> bytes:
    data = read_bytes(client, path)
    if data is None:
        raise LakeError(f"{path} disappeared while the erasure read the zone (a concurrent run?); rerun the erasure")
    return data


def erase_in_file(client, zone_file: ZoneFile, line_action: Callable[[bytes], LineResult],
                  dry_run: bool) -> FileChange | None:
    """Apply ``line_action`` to every line of one file; rewrite it atomically when it changes."""
    data = read_file(client, zone_file.path)
    try:
        content, compressed = decode_file(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ErasureError(f"{zone_file.path} is not readable gzip ({error}): it cannot be checked for the "
                           "person's data; inspect it, repair or delete it, then rerun the erasure") from None
    lines, final_newline = split_lines(content)
    change = FileChange(zone_file.zone, zone_file.path, zone_file.day, len(lines))
    kept = []
    for line in lines:
        result = line_action(line)
        if result.action == REMOVE:
            change.removed += 1
            change.reasons[result.reason] += 1
        elif result.action == REDACT:
            change.redacted += 1
            change.reasons[f"redacted:{result.reason}"] += 1
            kept.append(result.line)
        else:
            kept.append(line)
    if not change.removed and not change.redacted:
        return None
    if not dry_run:
        write_atomic(client, zone_file.path, encode_file(join_lines(kept, final_newline), compressed))
    return change
