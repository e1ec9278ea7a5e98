"""The raw zone and the collector's checkpoint, as docs/data-formats.md fixes them.

``raw/mastodon/instance=<domain>/dt=<day>/part-<first_id>-<last_id>.jsonl.gz`` holds statuses
exactly as the API returned them, one per line; ``state/mastodon/instance=<domain>/checkpoint.json``
the instance's high-water id. Both are written under a ``_tmp.`` name and renamed into place.

Exactly-once after a crash rests on two facts: parts are written in id order, each covering
every status after the previous part up to its ``last_id``; and a part's name says how far it
reaches. So the parts on HDFS are the truth of what a data interval already holds, and the
checkpoint is moved only after the part it points into is in place (see :func:`resume_point`).
"""
from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import zlib
from dataclasses import dataclass

from hdfs import InsecureClient

from datalake.lake import TMP_PREFIX, LakeLayout, write_atomic
from collection.snowflake import format_timestamp

PART_PREFIX = "part-"
PART_SUFFIX = ".jsonl.gz"
PART_NAME = re.compile(r"^part-(\d+)-(\d+)\.jsonl\.gz$")
# Level 6 (zlib's default) costs ~3x the CPU of level 1 for ~15% smaller parts; the collector
# is CPU-bound on a fast instance, and raw parts are read once by the curate job.
COMPRESSION_LEVEL = 3


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


def resume_point(interval_ids: tuple[int, int], high_water_id: int | None,
                 part_ranges: list[tuple[int, int]]) -> int:
    """The exclusive lower bound (a ``min_id``) from which a run collects its data interval.

    ``interval_ids`` is (first id of the interval, first id after it). The interval already
    holds every status up to the last id of its parts (parts are contiguous), and up to the
    checkpoint when the checkpoint points inside it. A checkpoint past the interval end says
    nothing about this interval: a later day ran, this one may have crashed before it, so
    its own parts decide. Parts outside the interval (a neighbouring day's run) are ignored.
    """
    first_id, after_id = interval_ids
    candidates = [first_id - 1]
    if high_water_id is not None and high_water_id < after_id:
        candidates.append(high_water_id)
    candidates.extend(last for _, last in part_ranges if first_id <= last < after_id)
    return max(candidates)


class PartBuffer:
    """One part being filled: gzip-compressed JSONL kept in memory as the pages arrive.

    Memory is bounded by the compressed size of one part (a few MB), whatever a day holds.
    """

    def __init__(self, day: dt.date, level: int = COMPRESSION_LEVEL):
        self.day = day
        self.count = 0
        self.first_id: int | None = None
        self.last_id: int | None = None
        # wbits=31: a gzip member (header + trailer), what Hadoop's GzipCodec and gzip(1) read.
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._chunks: list[bytes] = []

    def add(self, status_id: int, line: bytes) -> None:
        if self.last_id is not None and status_id <= self.last_id:
            raise ValueError(f"status {status_id} does not follow {self.last_id}: parts are written in id order")
        if self.first_id is None:
            self.first_id = status_id
        self.last_id = status_id
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


class RawZone:
    """The raw partitions and the checkpoint of one instance on HDFS."""

    def __init__(self, client: InsecureClient, layout: LakeLayout, domain: str):
        self.client = client
        self.layout = layout
        self.domain = domain

    def partition(self, day: dt.date) -> str:
        return self.layout.raw_partition(self.domain, day)

    @property
    def checkpoint_path(self) -> str:
        return self.layout.checkpoint(self.domain)

    def read_checkpoint(self) -> Checkpoint | None:
        if self.client.status(self.checkpoint_path, strict=False) is None:
            return None
        with self.client.read(self.checkpoint_path) as reader:
            data = reader.read()
        try:
            return Checkpoint.from_json(data)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"checkpoint {self.checkpoint_path} is not valid ({error}): fix it or delete it; "
                             "the next run then resumes from the parts already in the raw zone") from None

    def write_checkpoint(self, base_url: str, high_water_id: int, now: dt.datetime) -> Checkpoint:
        checkpoint = Checkpoint(self.domain, base_url, high_water_id, format_timestamp(now))
        write_atomic(self.client, self.checkpoint_path, checkpoint.to_json())
        return checkpoint

    def list_names(self, directory: str) -> list[str]:
        if self.client.status(directory, strict=False) is None:
            return []
        return sorted(self.client.list(directory))

    def part_ranges(self, day: dt.date) -> list[tuple[int, int]]:
        ranges = (parse_part_name(name) for name in self.list_names(self.partition(day)))
        return [found for found in ranges if found]

    def remove_temporary_files(self, days: list[dt.date]) -> list[str]:
        """Delete ``_tmp.`` leftovers of an interrupted run (parts and checkpoint); their paths."""
        removed = []
        directories = [self.partition(day) for day in days] + [posixpath.dirname(self.checkpoint_path)]
        for directory in directories:
            for name in self.list_names(directory):
                if name.startswith(TMP_PREFIX):
                    path = posixpath.join(directory, name)
                    self.client.delete(path, recursive=True)
                    removed.append(path)
        return removed

    def write_part(self, buffer: PartBuffer) -> str:
        path = posixpath.join(self.partition(buffer.day), buffer.name())
        write_atomic(self.client, path, buffer.finish())
        return path
