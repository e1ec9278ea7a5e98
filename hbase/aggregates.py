"""Reading one day of the aggregates zone: ``<JSON key>\\t<JSON value>`` per line (docs/data-formats.md).

The parsing functions are pure (unit-tested); :func:`read_day` streams the part files of a
``/datalake/aggregates/<metric>/dt=<D>/`` directory line by line from WebHDFS. A line that does
not follow the format stops the load before anything is written, with the file, the line
number and the reason: the aggregates are our own jobs' output, so a bad line is a bug or a
damaged file, and loading around it would silently lose data.
"""
from __future__ import annotations

import codecs
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from hdfs import HdfsError

from datalake.lake import list_files
from hbase.errors import LoadError
from hbase.tables import COUNT_METRICS, METRICS

log = logging.getLogger(__name__)

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_ROW_KEY_BYTES = 32767  # HBase's limit (Short.MAX_VALUE)


class AggregateFormatError(ValueError):
    """One aggregate line does not follow docs/data-formats.md; the message says why."""


@dataclass(frozen=True)
class UserDay:
    """One user's figures for one day (the ``users`` value)."""

    followers: int
    toots: int
    interactions: int


@dataclass
class DayAggregates:
    """A metric's day: key -> value (int, UserDay, or a sorted tuple of account keys for growth)."""

    metric: str
    directory: str
    records: dict = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    lines: int = 0
    blank_lines: int = 0


def _int_field(value, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AggregateFormatError(f"{what} must be an integer, got {json.dumps(value)[:60]}")
    if value < minimum:
        raise AggregateFormatError(f"{what} must be >= {minimum}, got {value}")
    return value


def _row_key(key, metric: str) -> str:
    if not isinstance(key, str):
        raise AggregateFormatError(f"the key must be a JSON string, got {json.dumps(key)[:60]}")
    if key == "":
        raise AggregateFormatError("the key is an empty string")
    if len(key.encode("utf-8")) > MAX_ROW_KEY_BYTES:
        raise AggregateFormatError(f"the key is longer than HBase's row key limit ({MAX_ROW_KEY_BYTES} bytes)")
    if metric == "growth" and not MONTH.fullmatch(key):
        raise AggregateFormatError(f"the growth key must be an account creation month YYYY-MM, got {key!r}")
    return key


def parse_value(metric: str, value):
    """The validated value of a metric's line (already JSON-decoded)."""
    if metric in COUNT_METRICS:
        return _int_field(value, "the value (a count of statuses)", 0)
    if metric == "users":
        if not isinstance(value, dict):
            raise AggregateFormatError('the users value must be an object {"followers", "toots", "interactions"}')
        missing = [name for name in ("followers", "toots", "interactions") if name not in value]
        if missing:
            raise AggregateFormatError(f"the users value lacks {', '.join(missing)}")
        return UserDay(followers=_int_field(value["followers"], "followers", 0),
                       toots=_int_field(value["toots"], "toots", 1),
                       interactions=_int_field(value["interactions"], "interactions", 0))
    if metric == "growth":
        if not isinstance(value, dict) or not isinstance(value.get("accounts"), list):
            raise AggregateFormatError('the growth value must be an object {"accounts": [<user key>, ...]}')
        accounts = value["accounts"]
        for account in accounts:
            if not isinstance(account, str) or not account:
                raise AggregateFormatError(f"growth accounts must be non-empty strings, got {json.dumps(account)[:60]}")
        if len(set(accounts)) != len(accounts):
            raise AggregateFormatError("growth accounts are not distinct")
        if not accounts:
            raise AggregateFormatError("growth accounts list is empty (a month without accounts has no line)")
        return tuple(sorted(accounts))
    raise AggregateFormatError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}")


def parse_line(metric: str, line: str) -> tuple[str, object]:
    """``<JSON key>\\t<JSON value>`` -> (row key, validated value); AggregateFormatError if not."""
    text = line.rstrip("\r\n")
    key_text, tab, value_text = text.partition("\t")
    if not tab:
        raise AggregateFormatError("no tab between the JSON key and the JSON value")
    try:
        key = json.loads(key_text)
    except ValueError as exc:
        raise AggregateFormatError(f"the key is not JSON ({exc})") from None
    try:
        value = json.loads(value_text)
    except ValueError as exc:
        raise AggregateFormatError(f"the value is not JSON ({exc})") from None
    return _row_key(key, metric), parse_value(metric, value)


def parse_lines(metric: str, lines: Iterable[str], source: str = "<lines>",
                into: DayAggregates | None = None) -> DayAggregates:
    """Parse lines into ``into`` (a duplicate key is an error: reducer output has one line per key)."""
    day = into if into is not None else DayAggregates(metric, source)
    records = day.records
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            day.blank_lines += 1
            continue
        try:
            key, value = parse_line(metric, line)
        except AggregateFormatError as exc:
            raise LoadError(f"{source} line {number}: {exc}; line: {line.rstrip()[:200]!r}. The {metric} "
                            "job's output does not follow docs/data-formats.md: fix the job (or the file) and "
                            f"re-run the {metric} job for that day, then the load. Nothing was written to HBase "
                            "for this metric.") from None
        if key in records:
            raise LoadError(f"{source} line {number}: key {key!r} appears twice in the day's {metric} output "
                            f"(reducer output has one line per key); re-run the {metric} job for that day")
        records[key] = value
        day.lines += 1
    return day


def _lines_of(client, path: str, chunk_size: int = 1 << 20) -> Iterator[str]:
    """The text lines of one part file, streamed in chunks (gzip-compressed ``.gz`` parts too)."""
    gunzip = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32) if path.endswith(".gz") else None
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    with client.read(path, chunk_size=chunk_size) as chunks:
        for chunk in chunks:
            if gunzip is not None:
                data = gunzip.decompress(chunk)
                while gunzip.eof and gunzip.unused_data:  # concatenated gzip members
                    rest = gunzip.unused_data
                    gunzip = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)
                    data += gunzip.decompress(rest)
                chunk = data
            lines = (pending + decoder.decode(chunk)).split("\n")
            pending = lines.pop()
            for line in lines:
                yield line + "\n"
    pending += decoder.decode(gunzip.flush() if gunzip is not None else b"", final=True)
    if pending:
        yield pending


def read_day(client, directory: str, metric: str) -> DayAggregates:
    """Stream every finished part file of an aggregates partition into a :class:`DayAggregates`.

    A missing directory is a LoadError (the metric job has not run for the day); a directory
    with empty part files is a valid day without data.
    """
    try:
        status = client.status(directory, strict=False)
    except (HdfsError, OSError) as exc:
        raise LoadError(f"HDFS: checking {directory} failed: {exc}; is HDFS running (`make status`)?") from exc
    if status is None or status.get("type") != "DIRECTORY":
        raise LoadError(f"no aggregates at {directory}: the {metric} job has not written this day; "
                        "run that job for the day first (the DAG's task for it, or the mapreduce CLI), then the load")
    day = DayAggregates(metric, directory)
    for path in list_files(client, directory):
        day.files.append(path)
        try:
            parse_lines(metric, _lines_of(client, path), source=path, into=day)
        except UnicodeDecodeError as exc:
            raise LoadError(f"{path}: not UTF-8 text ({exc}); re-run the {metric} job for that day") from None
        except (HdfsError, OSError, EOFError, zlib.error) as exc:
            raise LoadError(f"HDFS: reading {path} failed: {type(exc).__name__}: {exc}; is HDFS running "
                            "(`make status`)? The load is safe to re-run.") from exc
    log.info("read %s: %d record(s) from %d file(s)%s", directory, len(day.records), len(day.files),
             f", {day.blank_lines} blank line(s) skipped" if day.blank_lines else "")
    return day
