"""Reading the tables back for people: the top rows of a table, and whole-table dumps for tests."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import heapq
import json
from dataclasses import dataclass

import happybase

from hbase.cells import DATA_COUNT, DATA_ENGAGEMENT_RATE, DATA_FOLLOWERS, DATA_TOOTS, daily_column
from hbase.errors import LoadError
from hbase.tables import ALL_TABLES, DAY_TABLE, THRIFT_ERRORS

SCAN_BATCH = 1000


@dataclass(frozen=True)
class TopRows:
    table: str
    ordered_by: str
    columns: tuple[str, ...]  # names of the value columns, after the row key
    rows: list[tuple[str, tuple]]  # (row key, values), best first
    scanned: int  # rows that had the ordering cell

    def format(self) -> str:
        header = ("#", "row key", *self.columns)
        lines = [header] + [(str(rank), key, *(str(value) for value in values))
                            for rank, (key, values) in enumerate(self.rows, start=1)]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        body = "\n".join("  ".join(cell.ljust(widths[i]) if i == 1 else cell.rjust(widths[i])
                                   for i, cell in enumerate(line)).rstrip() for line in lines)
        return (f"{self.table}: top {len(self.rows)} of {self.scanned:,} row(s) by {self.ordered_by}\n{body}"
                if self.rows else f"{self.table}: no row has {self.ordered_by}")


def _scan(connection: happybase.Connection, table: str, columns: list[bytes] | None):
    try:
        yield from connection.table(table).scan(columns=columns, batch_size=SCAN_BATCH)
    except THRIFT_ERRORS as exc:
        raise LoadError(f"table {table}: scanning it failed: {type(exc).__name__}: {exc}; does the table exist "
                        "(`python -m hbase create-tables`) and does HBase answer (`make status`)?") from exc


def top_rows(connection: happybase.Connection, table: str, limit: int = 10, day: dt.date | None = None) -> TopRows:
    """The ``limit`` biggest rows: by data:count (or data:toots for users, days seen for accounts),
    or by the day's ``daily:<day>`` value with ``day``. Scans the table (an inspection tool)."""
    if table not in ALL_TABLES:
        raise LoadError(f"unknown table {table!r}; the tables are {', '.join(ALL_TABLES)}")
    if table not in {name.decode() for name in connection.tables()}:
        raise LoadError(f"table {table} does not exist (prefix {connection.table_prefix!r}); "
                        "create it with `python -m hbase create-tables` or load a day")
    column = daily_column(day) if day else None
    scored: list[tuple[tuple, str, tuple]] = []
    if table == "user_table":
        columns = ("toots", "followers", "interactions", "engagement_rate") if day else (
            "toots", "followers", "engagement_rate")
        wanted = [column] if day else [DATA_TOOTS, DATA_FOLLOWERS, DATA_ENGAGEMENT_RATE]
        for row, cells in _scan(connection, table, wanted):
            if day:
                record = json.loads(cells[column])
                values = (record["toots"], record["followers"], record["interactions"],
                          f'{record["engagement_rate"]:.6f}')
            elif DATA_TOOTS in cells:
                values = (int(cells[DATA_TOOTS]), int(cells.get(DATA_FOLLOWERS, b"0")),
                          cells.get(DATA_ENGAGEMENT_RATE, b"").decode())
            else:
                continue
            scored.append(((values[0], float(values[-1] or 0)), row.decode("utf-8", "replace"), values))
        ordered_by = f"daily:{day} toots" if day else "data:toots"
    elif table == DAY_TABLE:  # the latest days first, each whole or not and why
        columns = ("complete", "statuses", "instances not complete")
        for row, cells in _scan(connection, table, None):
            instances = json.loads(cells.get(b"data:instances", b"{}"))
            why = "; ".join(f"{name} {entry['state']}" for name, entry in sorted(instances.items())
                            if entry.get("state") != "complete")
            values = (cells.get(b"data:complete", b"?").decode(), int(cells.get(b"data:statuses", b"0")), why or "-")
            scored.append(((dt.date.fromisoformat(row.decode()).toordinal(),), row.decode(), values))
        ordered_by = "day, latest first"
    elif table == "croissance_accounts_table":
        columns = ("days seen",)
        for row, cells in _scan(connection, table, [column] if day else [b"daily"]):
            scored.append(((len(cells),), row.decode("utf-8", "replace"), (len(cells),)))
        ordered_by = f"daily:{day}" if day else "days seen"
    else:
        columns = (f"daily:{day}",) if day else ("data:count",)
        for row, cells in _scan(connection, table, [column or DATA_COUNT]):
            value = int(cells[column or DATA_COUNT])
            scored.append(((value,), row.decode("utf-8", "replace"), (value,)))
        ordered_by = columns[0]
    best = heapq.nsmallest(limit, scored, key=lambda item: (tuple(-score for score in item[0]), item[1]))
    return TopRows(table, ordered_by, columns, [(key, values) for _, key, values in best], len(scored))


def dump_table(connection: happybase.Connection, table: str) -> dict[bytes, dict[bytes, bytes]]:
    """Every cell of a table: {row: {column: value}} (tests compare whole tables with it)."""
    return {row: dict(cells) for row, cells in _scan(connection, table, None)}


#: tables dropped at once: a drop is mostly the master's disable and delete procedures waiting
#: on each other, not work, so several connections side by side take a fraction of the time
DROP_WORKERS = 4


def drop_tables(host: str, port: int, table_prefix: str) -> list[str]:
    """Delete every table of ``table_prefix`` (a test's or a benchmark's own); the names deleted."""
    connection = happybase.Connection(host, port, table_prefix=table_prefix)
    try:
        names = [name.decode() for name in connection.tables()]
    finally:
        connection.close()

    def drop(share: list[str]) -> None:
        own = happybase.Connection(host, port, table_prefix=table_prefix)  # one per thread
        try:
            for name in share:
                own.delete_table(name, disable=True)
        finally:
            own.close()

    shares = [names[i::DROP_WORKERS] for i in range(DROP_WORKERS) if names[i::DROP_WORKERS]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=DROP_WORKERS) as pool:
        for done in [pool.submit(drop, share) for share in shares]:
            done.result()
    return names


def dump_tables(connection: happybase.Connection, tables=ALL_TABLES) -> dict[str, dict[bytes, dict[bytes, bytes]]]:
    existing = {name.decode() for name in connection.tables()}
    return {table: dump_table(connection, table) if table in existing else {} for table in tables}
