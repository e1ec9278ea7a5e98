"""The Parquet copy of a day's curated zone: ``curated/statuses_parquet/dt=<D>/part-*.parquet``.

One Parquet file per curated part file (``part-00000`` → ``part-00000.parquet``), with the
explicit schema :data:`SCHEMA` (docs/data-formats.md). The copy is made from the curated zone
itself, so it holds exactly the curated records, pseudonymized as they are, and it is rewritten
whenever the MapReduce stage runs for the day (after curate, and when an erasure recomputes the
day from its rewritten curated partition).

1. Read each curated part file over WebHDFS and parse it with pyarrow's JSON reader against
   :data:`SCHEMA` (a field the schema lacks, or a required field absent, is an error naming it).
2. Write the Parquet files into the run's work directory.
3. Move that directory into place (:func:`datalake.lake.replace_directory`): readers see the old
   or the new partition whole. A day without curated records gets one file with no rows, so that
   every partition carries the schema.
"""
from __future__ import annotations

import io
import json
import posixpath
from typing import NamedTuple

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from hdfs import HdfsError

from datalake.lake import LakeError, LakeLayout, list_files, replace_directory

_TEXT_LIST = pa.list_(pa.string())

#: the columns, in the curated record's order; ``uri``/``created_at``/``language``/``user`` are never null
SCHEMA = pa.schema([
    pa.field("uri", pa.string(), nullable=False),
    pa.field("created_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("language", pa.string(), nullable=False),
    pa.field("user", pa.string()),  # null: a handle left out by the bad-key rule
    pa.field("followers", pa.int64()),
    pa.field("account_month", pa.string()),
    pa.field("interactions", pa.int64()),
    pa.field("link_hosts", _TEXT_LIST),
    pa.field("media_types", _TEXT_LIST),
    pa.field("tags", _TEXT_LIST),
    pa.field("emojis", _TEXT_LIST),
    pa.field("application", pa.string()),
    pa.field("author_host", pa.string()),
    pa.field("reply", pa.bool_()),
    pa.field("sensitive", pa.bool_()),
    pa.field("content_warning", pa.bool_()),
    pa.field("poll", pa.bool_()),
    pa.field("bot", pa.bool_()),
    pa.field("edited", pa.bool_()),
    pa.field("sentiment", pa.string()),
    pa.field("sentiment_score", pa.float64()),
])
COMPRESSION = "zstd"
SUFFIX = ".parquet"


class ParquetCopy(NamedTuple):
    files: int
    rows: int
    bytes: int


def curated_table(lines: bytes, source: str = "<curated lines>") -> pa.Table:
    """Curated JSON lines → an Arrow table of :data:`SCHEMA`; LakeError naming the file and the
    field when a line does not fit the schema."""
    if not lines.strip():
        return SCHEMA.empty_table()
    options = pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="error")
    try:
        table = pa_json.read_json(io.BytesIO(lines), parse_options=options)
    except pa.ArrowInvalid as error:
        raise LakeError(f"{source}: the curated records do not fit the Parquet schema "
                        f"(mapreduce/parquet.py SCHEMA, docs/data-formats.md): {error}{_schema_drift(lines)}") from None
    return table.select(SCHEMA.names).cast(SCHEMA)


def _schema_drift(lines: bytes) -> str:
    try:
        names = set(json.loads(lines.split(b"\n", 1)[0]))
    except ValueError:
        return ""
    extra, absent = sorted(names - set(SCHEMA.names)), sorted(set(SCHEMA.names) - names)
    return "".join([f"; fields not in the schema: {', '.join(extra)}" if extra else "",
                    f"; schema fields absent: {', '.join(absent)}" if absent else ""])


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression=COMPRESSION)
    return sink.getvalue()


def copy_day(client, lake: LakeLayout, day, work: str) -> ParquetCopy:
    """Rewrite the day's Parquet partition from its curated partition (see the module docstring)."""
    curated, zone = lake.curated(day), lake.curated_parquet(day)
    scratch = posixpath.join(work, "parquet")
    written, rows, size = 0, 0, 0
    try:
        client.makedirs(scratch)
        sources = list_files(client, curated)
        for source in sources or [None]:
            if source is None:
                table, name = SCHEMA.empty_table(), "part-00000"
            else:
                with client.read(source) as reader:
                    table = curated_table(reader.read(), source)
                name = posixpath.basename(source)
            data = parquet_bytes(table)
            client.write(posixpath.join(scratch, name + SUFFIX), data=data, overwrite=True)
            written, rows, size = written + 1, rows + table.num_rows, size + len(data)
    except HdfsError as error:
        raise LakeError(f"writing the Parquet copy of {curated} failed: {error}") from error
    replace_directory(client, scratch, zone)
    return ParquetCopy(written, rows, size)
