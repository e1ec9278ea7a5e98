"""A person's rows in HBase: find them, delete them, and drop their key from the loader's manifests.

Used by the erasure (privacy/erasure.py, through ``hbase.person_in_hbase``). The normal way a person leaves HBase is a reload of
every day they appeared on, from aggregates recomputed without them: the loader then removes
their ``daily:<dt>`` cells (stale rows of the day's manifest) and, once a row has no ``daily:``
cell left, its ``data:`` cells, so the ``user_table`` row and the ``croissance_accounts_table``
membership rows ``<YYYY-MM>#<user key>`` disappear and every count is recomputed. What these
functions delete explicitly is only what a reload could not reach (a day whose curated partition
is gone); the erasure reports it.

Deletes name their columns: happybase's ``delete(row)`` without columns sends ``family:`` names,
which HBase 2's Thrift server takes for empty qualifiers (nothing is deleted).
"""
from __future__ import annotations

import datetime as dt
import re

import happybase

from hbase import manifest as manifests
from hbase.cells import MEMBERSHIP_SEPARATOR
from hbase.errors import LoadError
from hbase.tables import METRIC_TABLES, THRIFT_ERRORS

USER_TABLE = METRIC_TABLES["users"][0]
MEMBERS_TABLE = METRIC_TABLES["growth"][1]
_MONTH = re.compile(rb"^\d{4}-\d{2}$")
_DAY = re.compile(rb"^daily:(\d{4}-\d{2}-\d{2})$")

Rows = dict[str, dict[bytes, dict[bytes, bytes]]]  # table -> row key -> cells


def _existing_tables(connection: happybase.Connection) -> set[str]:
    # with a table prefix, happybase lists only the prefixed tables, prefix stripped
    return {name.decode("utf-8") for name in connection.tables()}


def _filter_literal(text: str) -> str:
    """A string literal of HBase's filter language (single quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def user_rows(connection: happybase.Connection, user_key: str) -> Rows:
    """The person's ``user_table`` row and ``croissance_accounts_table`` rows, with their cells.

    The membership rows are found by a server-side filtered scan of the membership table (the
    month, the first part of the row key, is not known): it reads the table's keys once, which
    an erasure, a rare operation, can afford.
    """
    key = user_key.encode("utf-8")
    found: Rows = {USER_TABLE: {}, MEMBERS_TABLE: {}}
    try:
        tables = _existing_tables(connection)
        if USER_TABLE in tables:
            cells = connection.table(USER_TABLE).row(key)
            if cells:
                found[USER_TABLE][key] = dict(cells)
        if MEMBERS_TABLE in tables:
            suffix = MEMBERSHIP_SEPARATOR.encode() + key
            scan_filter = f"RowFilter(=, {_filter_literal('substring:' + MEMBERSHIP_SEPARATOR + user_key)})"
            for row, cells in connection.table(MEMBERS_TABLE).scan(filter=scan_filter.encode("utf-8"),
                                                                   batch_size=1000):
                # the substring comparator ignores case and position: keep exact <YYYY-MM>#<key> only
                if row.endswith(suffix) and _MONTH.match(row[:-len(suffix)]):
                    found[MEMBERS_TABLE][row] = dict(cells)
    except THRIFT_ERRORS as exc:
        raise LoadError(f"HBase: reading the rows of a user key failed: {type(exc).__name__}: {exc}; "
                        "check HBase (`make status`) and rerun the erasure (it is idempotent)") from exc
    return found


def days_of(rows: Rows) -> set[str]:
    """The days (``daily:<dt>`` qualifiers) the rows hold cells for."""
    days = set()
    for table_rows in rows.values():
        for cells in table_rows.values():
            for column in cells:
                match = _DAY.match(column)
                if match:
                    days.add(match.group(1).decode("ascii"))
    return days


def delete_rows(connection: happybase.Connection, rows: Rows) -> dict[str, int]:
    """Delete every cell of the given rows (columns named); {table: rows deleted}."""
    deleted = {}
    for table, table_rows in rows.items():
        if not table_rows:
            continue
        try:
            with connection.table(table).batch() as batch:
                for row, cells in sorted(table_rows.items()):
                    batch.delete(row, list(cells))
        except THRIFT_ERRORS as exc:
            raise LoadError(f"HBase {table}: deleting {len(table_rows)} row(s) of a user key failed: "
                            f"{type(exc).__name__}: {exc}; rerun the erasure (it is idempotent)") from exc
        deleted[table] = len(table_rows)
    return deleted


def purge_deleted_cells(connection: happybase.Connection, tables=(USER_TABLE, MEMBERS_TABLE)) -> list[str]:
    """Ask HBase for a major compaction of the tables that hold rows per person; the tables asked.

    A delete only writes a tombstone: the deleted cells stay in the region's store files (and can
    be read by tools that read raw files or snapshots) until a major compaction rewrites them.
    The request is asynchronous; HBase runs it in the background (minutes on a large table).
    """
    requested = []
    try:
        existing = _existing_tables(connection)
        for table in tables:
            if table in existing:
                connection.compact_table(table, major=True)
                requested.append(table)
    except THRIFT_ERRORS as exc:
        raise LoadError(f"HBase: requesting a major compaction of {', '.join(tables)} failed: {type(exc).__name__}: "
                        f"{exc}; run it in the HBase shell (major_compact '<table>')") from exc
    return requested


def forget_in_manifests(client, lake, user_key: str, days: list[str]) -> list[str]:
    """Drop the user key from the loader manifests of ``days`` (users and growth); the paths rewritten.

    Only needed for the rows deleted by :func:`delete_rows`: a reload writes manifests without the
    key by itself. The manifest keeps its state; a ``loading`` one stays so (the next load of the
    day cleans up whatever it lists).
    """
    rewritten = []
    suffix = MEMBERSHIP_SEPARATOR + user_key
    for day in sorted(days):
        for metric in ("users", "growth"):
            path = lake.hbase_manifest(metric, dt.date.fromisoformat(day))
            manifest = manifests.read_manifest(client, path)
            if manifest is None:
                continue
            tables = {table: frozenset(key for key in keys if key != user_key and not key.endswith(suffix))
                      for table, keys in manifest.tables.items()}
            if tables != {table: frozenset(keys) for table, keys in manifest.tables.items()}:
                manifests.write_manifest(client, path, manifests.Manifest(manifest.metric, manifest.day,
                                                                          manifest.state, tables))
                rewritten.append(path)
    return rewritten


class PersonInHBase:
    """What the erasure (privacy/erasure.py) asks of HBase, over one connection: ``hbase.person_in_hbase``."""

    def __init__(self, settings):
        from datalake.lake import hdfs_client, layout
        from hbase.tables import connect

        self.connection = connect(settings)
        self.client, self.lake = hdfs_client(settings), layout(settings)

    def rows(self, user_key: str) -> Rows:
        return user_rows(self.connection, user_key)

    def delete(self, rows: Rows) -> dict[str, int]:
        return delete_rows(self.connection, rows)

    def purge(self) -> list[str]:
        return purge_deleted_cells(self.connection)

    def forget_in_manifests(self, user_key: str, days: list[str]) -> list[str]:
        return forget_in_manifests(self.client, self.lake, user_key, days)

    def loaded_days(self, days) -> set[str]:
        """Days that a load ever reached (a loader manifest exists for at least one metric)."""
        from datalake.lake import exists
        from hbase.tables import METRICS

        return {day for day in days
                if any(exists(self.client, self.lake.hbase_manifest(metric, dt.date.fromisoformat(day)))
                       for metric in METRICS)}

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "PersonInHBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
