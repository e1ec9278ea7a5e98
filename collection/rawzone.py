"""The raw zone and the collector's state, as docs/data-formats.md fixes them.

Per instance (its own domain names the directories):

* ``raw/mastodon/instance=<d>/dt=<day>/part-<first_id>-<last_id>.jsonl.gz``: statuses exactly as
  the API returned them, one per line, ids ascending in a part; the day is the UTC date of each
  status's ``created_at``. Beside each part, its id index ``_ids.part-<first>-<last>.gz`` (the
  ids it holds, one per line; hidden from Hadoop's input by its ``_`` prefix), so that a re-read
  of old ids writes only statuses the zone does not hold yet, without reading the parts.
* ``state/mastodon/instance=<d>/checkpoint.json``: the high-water id: every status the
  collector saw with an id up to it is in a part.
* ``state/mastodon/instance=<d>/days/dt=<day>.json``: how far the instance's day was collected
  (complete, incomplete and why, failed), and how many statuses its partition holds.
* ``state/pipeline/pending/dt=<day>/<token>``: the day's raw partitions changed and the day must
  be recomputed (datalake/pending.py).

Everything is written under a ``_tmp.`` name and renamed into place. Order: a part, then its
index, then the checkpoint. A part without its index (a crash between the two) is indexed by
reading it (:meth:`RawZone.reconcile`); an index without its part is deleted.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import posixpath
import re
import zlib
from dataclasses import dataclass

from hdfs import InsecureClient

from collection.snowflake import format_timestamp
from datalake.lake import TMP_PREFIX, LakeLayout, list_names, read_bytes, read_json, write_atomic

PART_PREFIX = "part-"
PART_SUFFIX = ".jsonl.gz"
PART_NAME = re.compile(r"^part-(\d+)-(\d+)\.jsonl\.gz$")
INDEX_PREFIX = "_ids."
INDEX_SUFFIX = ".gz"
_ID_FIELD = re.compile(rb'"id"\s*:\s*"(\d+)"')
# Level 6 (zlib's default) costs ~3x the CPU of level 1 for ~15% smaller parts; the collector
# is CPU-bound on a fast instance, and raw parts are read once by the curate job.
COMPRESSION_LEVEL = 3

COMPLETE, INCOMPLETE, FAILED = "complete", "incomplete", "failed"


def part_name(first_id: int, last_id: int) -> str:
    if not 0 < first_id <= last_id:
        raise ValueError(f"a part spans ids first <= last, got {first_id}..{last_id}")
    return f"{PART_PREFIX}{first_id}-{last_id}{PART_SUFFIX}"


def parse_part_name(name: str) -> tuple[int, int] | None:
    """(first_id, last_id) of a finished part's file name; None for anything else."""
    match = PART_NAME.match(name)
    if not match:
        return None
    first_id, last_id = int(match.group(1)), int(match.group(2))
    return (first_id, last_id) if first_id <= last_id else None


def index_name(part: str) -> str:
    return INDEX_PREFIX + part.removesuffix(PART_SUFFIX) + INDEX_SUFFIX


def encode_index(ids) -> bytes:
    return gzip.compress(b"".join(b"%d\n" % status_id for status_id in sorted(ids)), compresslevel=COMPRESSION_LEVEL)


def decode_index(data: bytes) -> set[int]:
    return {int(line) for line in gzip.decompress(data).split() if line}


def ids_in_part(data: bytes) -> set[int]:
    """The status ids of a part's lines (the top-level ``id`` is the first ``"id"`` field Mastodon
    serializes; a line that has none is left out: curate quarantines it)."""
    ids = set()
    for line in zlib.decompress(data, wbits=47).splitlines():
        match = _ID_FIELD.search(line)
        if match:
            ids.add(int(match.group(1)))
    return ids


@dataclass(frozen=True)
class Checkpoint:
    instance: str
    base_url: str
    high_water_id: int
    updated_at: str

    def to_json(self) -> bytes:
        return json.dumps({"instance": self.instance, "base_url": self.base_url,
                           "high_water_id": str(self.high_water_id), "updated_at": self.updated_at},
                          indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> "Checkpoint":
        record = json.loads(data)
        return cls(instance=record["instance"], base_url=record.get("base_url", ""),
                   high_water_id=int(record["high_water_id"]), updated_at=record.get("updated_at", ""))


@dataclass(frozen=True)
class DayState:
    """How far one instance's day was collected (``state/mastodon/instance=<d>/days/dt=<day>.json``)."""

    instance: str
    base_url: str
    day: dt.date
    state: str  # complete | incomplete | failed
    reason: str = ""
    statuses: int = 0  # statuses the day's raw partition holds
    updated_at: str = ""

    def to_dict(self) -> dict:
        return {"instance": self.instance, "base_url": self.base_url, "day": self.day.isoformat(),
                "state": self.state, "reason": self.reason, "statuses": self.statuses, "updated_at": self.updated_at}

    @classmethod
    def from_dict(cls, record: dict) -> "DayState":
        return cls(instance=record["instance"], base_url=record.get("base_url", ""),
                   day=dt.date.fromisoformat(record["day"]), state=record["state"], reason=record.get("reason", ""),
                   statuses=int(record.get("statuses", 0)), updated_at=record.get("updated_at", ""))


class PartBuffer:
    """One part being filled: gzip-compressed JSONL kept in memory as the pages arrive.

    Memory is bounded by the compressed size of one part (a few MB), whatever a day holds.
    """

    def __init__(self, day: dt.date, level: int = COMPRESSION_LEVEL):
        self.day = day
        self.count = 0
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.ids: list[int] = []
        # wbits=31: a gzip member (header + trailer), what Hadoop's GzipCodec and gzip(1) read.
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._chunks: list[bytes] = []

    def add(self, status_id: int, line: bytes) -> None:
        if self.last_id is not None and status_id <= self.last_id:
            raise ValueError(f"status {status_id} does not follow {self.last_id}: parts are written in id order")
        if self.first_id is None:
            self.first_id = status_id
        self.last_id = status_id
        self.ids.append(status_id)
        self.count += 1
        chunk = self._compressor.compress(line + b"\n")
        if chunk:
            self._chunks.append(chunk)

    def name(self) -> str:
        return part_name(self.first_id, self.last_id)

    def finish(self) -> bytes:
        self._chunks.append(self._compressor.flush())
        data = b"".join(self._chunks)
        self._chunks = []
        return data


class PartitionIndex:
    """The ids one raw partition holds, loaded part by part only when an id falls in a part's range.

    A forward pass sees ids above every part's range and reads no index; a re-read of old ids
    reads the index of each part it overlaps once.
    """

    def __init__(self, zone: "RawZone", day: dt.date, parts: list[tuple[int, int, str]]):
        self.zone, self.day = zone, day
        self._unloaded = sorted(parts)  # (first, last, name)
        self._held: set[int] = set()
        self._bounds()

    def _bounds(self) -> None:
        self._lowest = min((part[0] for part in self._unloaded), default=None)
        self._highest = max((part[1] for part in self._unloaded), default=None)

    def holds(self, status_id: int) -> bool:
        if status_id in self._held:
            return True
        if self._highest is None or not self._lowest <= status_id <= self._highest:
            return False  # the common case of a forward pass: above every part
        hits = [part for part in self._unloaded if part[0] <= status_id <= part[1]]
        for part in hits:
            self._held |= self.zone.read_index(self.day, part[2])
            self._unloaded.remove(part)
        if hits:
            self._bounds()
        return status_id in self._held

    def add(self, ids) -> None:
        self._held.update(ids)

    def total(self) -> int:
        """Every id the partition holds (loads what is not loaded yet)."""
        for part in list(self._unloaded):
            self._held |= self.zone.read_index(self.day, part[2])
        self._unloaded.clear()
        self._bounds()
        return len(self._held)


class RawZone:
    """The raw partitions and the state files of one instance on HDFS."""

    def __init__(self, client: InsecureClient, layout: LakeLayout, domain: str):
        self.client = client
        self.layout = layout
        self.domain = domain

    def partition(self, day: dt.date) -> str:
        return self.layout.raw_partition(self.domain, day)

    @property
    def checkpoint_path(self) -> str:
        return self.layout.checkpoint(self.domain)

    # -- checkpoint
    def read_checkpoint(self) -> Checkpoint | None:
        data = read_bytes(self.client, self.checkpoint_path)
        if data is None:
            return None
        try:
            return Checkpoint.from_json(data)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"checkpoint {self.checkpoint_path} is not valid ({error}): fix it or delete it; "
                             "the next run then collects from the start of its lateness window") from None

    def write_checkpoint(self, base_url: str, high_water_id: int, now: dt.datetime) -> Checkpoint:
        checkpoint = Checkpoint(self.domain, base_url, high_water_id, format_timestamp(now))
        write_atomic(self.client, self.checkpoint_path, checkpoint.to_json())
        return checkpoint

    def remove_state_leftovers(self) -> list[str]:
        """Delete ``_tmp.`` files an interrupted run left beside the checkpoint and the day states."""
        removed = []
        state_dir = posixpath.dirname(self.checkpoint_path)
        for directory in (state_dir, posixpath.join(state_dir, "days")):
            for name in list_names(self.client, directory):
                if name.startswith(TMP_PREFIX):
                    self.client.delete(posixpath.join(directory, name), recursive=True)
                    removed.append(posixpath.join(directory, name))
        return removed

    # -- parts and their indexes
    def part_names(self, day: dt.date) -> list[str]:
        return [name for name in list_names(self.client, self.partition(day)) if parse_part_name(name)]

    def reconcile(self, day: dt.date) -> tuple[PartitionIndex, list[str]]:
        """Tidy one partition after any crash: delete ``_tmp.`` leftovers and indexes without their
        part, index parts without an index. Returns the partition's index and what was repaired."""
        directory = self.partition(day)
        names = list_names(self.client, directory)
        parts = {name: parse_part_name(name) for name in names if parse_part_name(name)}
        indexes = {name for name in names if name.startswith(INDEX_PREFIX)}
        repaired = []
        for name in names:
            if name.startswith(TMP_PREFIX):
                self.client.delete(posixpath.join(directory, name), recursive=True)
                repaired.append(f"removed {posixpath.join(directory, name)}, left over by an interrupted run")
        for name in sorted(indexes - {index_name(part) for part in parts}):
            self.client.delete(posixpath.join(directory, name))
            repaired.append(f"removed {posixpath.join(directory, name)}: its part is gone")
        for part in sorted(set(parts) - {name for name in parts if index_name(name) in indexes}):
            data = read_bytes(self.client, posixpath.join(directory, part)) or b""
            write_atomic(self.client, posixpath.join(directory, index_name(part)), encode_index(ids_in_part(data)))
            repaired.append(f"indexed {posixpath.join(directory, part)} (its index was missing)")
        return PartitionIndex(self, day, [(first, last, name) for name, (first, last) in parts.items()]), repaired

    def read_index(self, day: dt.date, part: str) -> set[int]:
        data = read_bytes(self.client, posixpath.join(self.partition(day), index_name(part)))
        if data is None:  # the index went missing since reconcile: read the part itself
            data_part = read_bytes(self.client, posixpath.join(self.partition(day), part)) or b""
            return ids_in_part(data_part)
        return decode_index(data)

    def write_part(self, buffer: PartBuffer) -> str:
        """The part, then its index: a crash between them leaves a part that reconcile indexes."""
        path = posixpath.join(self.partition(buffer.day), buffer.name())
        write_atomic(self.client, path, buffer.finish())
        write_atomic(self.client, posixpath.join(self.partition(buffer.day), index_name(buffer.name())),
                     encode_index(buffer.ids))
        return path

    # -- day states and pending days
    def day_state_path(self, day: dt.date) -> str:
        return self.layout.collection_day_state(self.domain, day)

    def read_day_state(self, day: dt.date) -> DayState | None:
        record = read_json(self.client, self.day_state_path(day))
        return DayState.from_dict(record) if isinstance(record, dict) else None

    def write_day_state(self, state: DayState) -> None:
        write_atomic(self.client, self.day_state_path(state.day),
                     json.dumps(state.to_dict(), indent=2).encode("utf-8") + b"\n")
