"""Before curate: every gzip part of a day's raw zone is read to its end; a damaged one is quarantined.

Hadoop's gzip codec fails the map task on a truncated part, or on bytes after a valid gzip
member that do not start another one, and the task fails the same way on every attempt: one
damaged file would keep the whole day out of the lake. So :func:`quarantine_damaged_parts`
decompresses each part of the day (what the map tasks will read, the same gzip rules: one or
more complete members, each CRC-checked) and, for a damaged one:

1. writes ``quarantine/raw-corrupt/dt=<day>/instance=<domain>.<part name without .gz>`` (write to a
   temporary name, then rename): a first record naming the damage, then one quarantine record per
   line that could still be read before it, so the erasure and the retention handle it like any
   quarantine file (docs/data-formats.md);
2. then deletes the part from the raw zone. A crash between the two leaves the part in place and
   the next run does both again, with the same result.

The damaged bytes themselves are not kept: nothing more can be read from them. The check costs
one read and one decompression of the day's raw zone by the client (measured in
docs/data-formats.md).
"""
from __future__ import annotations

import datetime as dt
import logging
import posixpath
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable

from hdfs import HdfsError

from datalake.lake import LakeError, LakeLayout, list_files, list_names, write_atomic
from mapreduce import records

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
GZIP_SUFFIX = ".gz"
QUARANTINE_STAGE = "raw-corrupt"
REASON = "corrupt_gzip"
READ_CHUNK = 1 << 20
#: bound of the decompressed bytes held at once, whatever the compression ratio (a gzip bomb)
_OUTPUT_CHUNK = 1 << 22
_PARALLEL_READS = 4


def gzip_damage(chunks: Iterable[bytes], on_data: Callable[[bytes], None] | None = None) -> str | None:
    """What is wrong with a gzip file given as ``chunks``, or None when it is one or more complete
    members (each CRC- and length-checked by zlib) and nothing else. ``on_data`` receives the
    decompressed bytes as they come, also those before the damage."""
    decompressor, pending, members, position = None, b"", 0, 0
    for chunk in chunks:
        data = pending + chunk
        pending = b""
        while True:
            if decompressor is None:  # between members: the next one must start here
                if len(data) < 2:
                    pending = data
                    break
                if data[:2] != GZIP_MAGIC:
                    where = "at the start of the file" if members == 0 else f"after {members} gzip member(s)"
                    return f"bytes that are not gzip data {where} (byte {position})"
                decompressor = zlib.decompressobj(31)
            try:
                output = decompressor.decompress(data, _OUTPUT_CHUNK)
            except zlib.error as error:
                return f"corrupt gzip data in member {members + 1} ({error})"
            if on_data is not None and output:
                on_data(output)
            if decompressor.eof:
                members += 1
                position += len(data) - len(decompressor.unused_data)
                data, decompressor = decompressor.unused_data, None
                continue
            position += len(data) - len(decompressor.unconsumed_tail)
            data = decompressor.unconsumed_tail
            if not data and len(output) < _OUTPUT_CHUNK:  # a full output may have more to give
                break
    if decompressor is not None or pending:
        return f"truncated: the file ends inside gzip member {members + 1} (after {position + len(pending)} bytes)"
    if members == 0:
        return "empty: no gzip member"
    return None


@dataclass(frozen=True)
class DamagedPart:
    """A raw part that could not be read to its end, and where its readable lines went."""

    path: str
    damage: str
    bytes: int
    lines_recovered: int
    quarantined_to: str

    def to_dict(self) -> dict:
        return {"path": self.path, "damage": self.damage, "bytes": self.bytes,
                "lines_recovered": self.lines_recovered, "quarantined_to": self.quarantined_to}


def quarantine_file_name(part_path: str) -> str:
    """``instance=<domain>.<part name without .gz>``: unique per raw part of a day."""
    instance = posixpath.basename(posixpath.dirname(posixpath.dirname(part_path)))
    name = posixpath.basename(part_path)
    return f"{instance}.{name[:-len(GZIP_SUFFIX)] if name.endswith(GZIP_SUFFIX) else name}"


def quarantine_lines(part_path: str, damage: str, size: int, content: bytes) -> tuple[list[bytes], int]:
    """The quarantine file of a damaged part: a record naming the damage (``line`` empty), then
    one record per line read before it (the last one possibly cut short). (lines, lines recovered)."""
    recovered = content.split(b"\n")
    if recovered and recovered[-1] == b"":
        recovered.pop()
    head = records.quarantine_record(REASON, part_path, b"")
    head.update(damage=damage, bytes=size, lines_recovered=len(recovered))
    lines = [records.encode_record(head)]
    lines += [records.encode_record(records.quarantine_record(REASON, part_path, line)) for line in recovered]
    return lines, len(recovered)


#: a read that fails before its first byte is tried this often, pausing READ_PAUSE s times the
#: attempt: after a NameNode restart a DataNode's first call through its old connection to the
#: NameNode fails (EOFException, as the NameNode restart test saw in a retry), and the next works
READ_ATTEMPTS, READ_PAUSE = 3, 2.0


def _read(client, path: str, on_data: Callable[[bytes], None] | None = None) -> tuple[str | None, int]:
    size = 0

    def chunks():
        nonlocal size
        with client.read(path, chunk_size=READ_CHUNK) as reader:
            for chunk in reader:
                size += len(chunk)
                yield chunk

    attempt = 1
    while True:
        try:
            return gzip_damage(chunks(), on_data), size
        except HdfsError as error:
            if size or attempt == READ_ATTEMPTS:  # a read cut in the middle is not tried again
                raise LakeError(f"reading the raw part {path} to check it failed: {error}") from error
            first_line = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            log.warning("reading the raw part %s failed before its first byte (%s): trying again in %.0f s",
                        path, first_line, READ_PAUSE * attempt)
            time.sleep(READ_PAUSE * attempt)
            attempt += 1


def check_part(client, lake: LakeLayout, day: dt.date, path: str) -> DamagedPart | None:
    """Read one raw part to its end; quarantine it when it is damaged (module docstring)."""
    damage, size = _read(client, path)
    if damage is None:
        return None
    content = bytearray()
    _read(client, path, content.extend)  # again, keeping what can be read this time (rare)
    lines, recovered = quarantine_lines(path, damage, size, bytes(content))
    target = posixpath.join(lake.quarantine(QUARANTINE_STAGE, day), quarantine_file_name(path))
    write_atomic(client, target, b"\n".join(lines) + b"\n")
    try:
        client.delete(path)
    except HdfsError as error:
        raise LakeError(f"the damaged raw part {path} is quarantined in {target} but could not be removed from "
                        f"the raw zone: {error}") from error
    log.warning("raw part %s is damaged (%s): quarantined in %s with the %d line(s) it still held, removed from "
                "the raw zone", path, damage, target, recovered)
    return DamagedPart(path, damage, size, recovered, target)


def quarantine_damaged_parts(client, lake: LakeLayout, day: dt.date) -> list[DamagedPart]:
    """Check every gzip part of ``day``'s raw zone (every instance); the damaged ones, quarantined."""
    parts = [path for instance in list_names(client, lake.raw_root) if instance.startswith("instance=")
             for path in list_files(client, lake.raw_partition(instance.split("=", 1)[1], day))
             if path.endswith(GZIP_SUFFIX)]
    with ThreadPoolExecutor(max_workers=_PARALLEL_READS, thread_name_prefix="rawcheck") as pool:
        damaged = [found for found in pool.map(lambda path: check_part(client, lake, day, path), parts) if found]
    return damaged
