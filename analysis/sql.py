"""``python -m analysis sql``: DuckDB over the Parquet copy of the curated zone, as the view ``statuses``.

The Parquet files (``curated/statuses_parquet/dt=<D>/part-*.parquet``, docs/data-formats.md) are
read where they are, through WebHDFS: fsspec's WebHDFS filesystem is registered with DuckDB, which
then reads only the row groups and columns a query needs. The view has the columns of the Parquet
schema plus ``dt`` (DATE), the partition's day. Timestamps are shown in UTC.

The same data in pandas (the one-liner README gives)::

    pd.read_parquet("webhdfs://localhost:9870/datalake/curated/statuses_parquet", storage_options={"user": "root"})
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from analysis.hbase_frames import AnalysisError
from datalake.lake import LakeError, hdfs_client, layout, list_files, list_names
from datalake.settings import Settings

VIEW = "statuses"
MAX_CELL_CHARS = 60


class QueryError(AnalysisError):
    """DuckDB refused or failed the query; the message is DuckDB's."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    partitions: list[str]   # the dt= partitions the view covers


def partitions(settings: Settings, first: dt.date | None = None, last: dt.date | None = None) -> dict[str, list[str]]:
    """The Parquet files of each day in [first, last] (either bound open): {"YYYY-MM-DD": [path, ...]}.
    AnalysisError when HDFS does not answer, or when no day of the range has a partition."""
    lake = layout(settings)
    root = lake.curated_parquet_root
    client = hdfs_client(settings, timeout=30)
    try:
        names = list_names(client, root)
        days = {}
        for name in names:
            day = _day_of(name)
            if day is None or (first and day < first) or (last and day > last):
                continue
            files = [path for path in list_files(client, posixpath.join(root, name)) if path.endswith(".parquet")]
            if files:
                days[day.isoformat()] = files
    except (LakeError, OSError) as error:
        raise AnalysisError(f"cannot read {root} through WebHDFS at {settings.webhdfs_url}: {error}. Is HDFS "
                            "running (`make status`)? DATALAKE_WEBHDFS_URL says where the NameNode is.") from error
    except Exception as error:  # requests' ConnectionError and friends, from deep inside the hdfs package
        if type(error).__module__.startswith(("requests", "urllib3", "hdfs")):
            raise AnalysisError(f"cannot reach WebHDFS at {settings.webhdfs_url}: {type(error).__name__}: {error}. "
                                "Is HDFS running (`make status`)? DATALAKE_WEBHDFS_URL says where the NameNode is."
                                ) from error
        raise
    if not days:
        span = _span(first, last)
        raise AnalysisError(f"no Parquet partition under {root} {span}: the MapReduce stage writes one per day it "
                            "processes (`python -m mapreduce run --date D`, or the DAG)")
    return dict(sorted(days.items()))


def _day_of(name: str) -> dt.date | None:
    if not name.startswith("dt="):
        return None
    try:
        return dt.date.fromisoformat(name[3:])
    except ValueError:
        return None


def _span(first: dt.date | None, last: dt.date | None) -> str:
    if first and last:
        return f"for {first}" if first == last else f"from {first} to {last}"
    if first:
        return f"from {first} on"
    return f"up to {last}" if last else "(none at all)"


def connect(settings: Settings, files: list[str]):
    """A DuckDB connection with WebHDFS registered and the view ``statuses`` over ``files``."""
    import duckdb
    import fsspec

    url = urlsplit(settings.webhdfs_url)
    filesystem = fsspec.filesystem("webhdfs", host=url.hostname, port=url.port or 9870, user=settings.hdfs_user,
                                   use_https=url.scheme == "https")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.register_filesystem(filesystem)
    listing = ", ".join("'webhdfs://" + path.replace("'", "''") + "'" for path in files)
    connection.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM read_parquet([{listing}], hive_partitioning = true)")
    return connection


def run_query(settings: Settings, sql: str, first: dt.date | None = None, last: dt.date | None = None) -> Result:
    """Run ``sql`` against the view ``statuses`` of the days [first, last]."""
    import duckdb

    days = partitions(settings, first, last)
    try:
        connection = connect(settings, [path for files in days.values() for path in files])
    except duckdb.Error as error:
        raise AnalysisError(f"reading the Parquet partitions through WebHDFS failed: {error}") from error
    try:
        relation = connection.sql(sql)
        if relation is None:  # a statement without a result (SET, CREATE ...)
            return Result([], [], [], list(days))
        # through Arrow: DuckDB's own fetchall() needs pytz for TIMESTAMP WITH TIME ZONE values
        table = relation.to_arrow_table()
        rows = list(zip(*(column.to_pylist() for column in table.columns)))  # by position: names may repeat
        return Result(list(relation.columns), [str(kind) for kind in relation.types], rows, list(days))
    except duckdb.Error as error:
        raise QueryError(f"{type(error).__name__}: {error}") from error
    finally:
        connection.close()


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def format_table(result: Result) -> str:
    """Aligned columns (numbers right, text left), a header with the types, and the row count."""
    if not result.columns:
        return "OK"
    cells = [[_shorten(_cell(value)) for value in row] for row in result.rows]
    numeric = [kind.split("(")[0] in _NUMERIC for kind in result.types]
    widths = [max([len(name), len(kind)] + [len(row[index]) for row in cells])
              for index, (name, kind) in enumerate(zip(result.columns, result.types))]

    def line(values, header=False):
        return "  ".join(value.rjust(width) if numeric[index] and not header else value.ljust(width)
                         for index, (value, width) in enumerate(zip(values, widths))).rstrip()

    lines = [line(result.columns, True), line([kind.lower() for kind in result.types], True),
             "  ".join("-" * width for width in widths)]
    lines += [line(row) for row in cells]
    count = len(result.rows)
    lines.append(f"({count:,} row{'s' if count != 1 else ''}; days {result.partitions[0]} to {result.partitions[-1]})"
                 if len(result.partitions) > 1 else f"({count:,} row{'s' if count != 1 else ''}; day {result.partitions[0]})")
    return "\n".join(lines)


_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "FLOAT", "DOUBLE", "DECIMAL"}


def _shorten(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


def format_csv(result: Result) -> str:
    """CSV with a header line; lists as JSON arrays, NULL as an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow(["" if value is None else _cell(value) for value in row])
    return buffer.getvalue()
