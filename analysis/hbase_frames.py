"""HBase tables → tidy pandas DataFrames: the only place the analysis talks to HBase.

Every table of DESIGN.md has two views:

* all-time: one row per row key with its ``data:`` cells
  (``count`` for the count tables; ``followers``, ``toots``, ``engagement_rate`` for users);
* per day: one row per (row key, day) from the ``daily:YYYY-MM-DD`` cells.

A missing or empty table gives empty frames with the same columns and dtypes, so the notebook
and the charts never have to special-case "no data" beyond checking ``.empty``. A cell that does
not follow docs/data-formats.md (not a number, not a date, bad JSON) is left out and described in
``LakeFrames.notes``: the analysis says what it dropped instead of failing or hiding it.

User rows keep only pseudonymous keys (16 lowercase hex characters, the default user key of
DESIGN.md); rows keyed by handles (data loaded with ``DATALAKE_PSEUDONYMIZE=0``) are counted in
a note and never read further, so no handle reaches a frame, a chart or the notebook.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field

import happybase
import pandas as pd

from datalake import hbase_connection
from datalake.errors import DatalakeError
from thriftpy2.thrift import TException
from thriftpy2.transport import TTransportException

log = logging.getLogger(__name__)

# table name → (name of the row-key column, what a row key is) for the tables of counts
COUNT_TABLES: dict[str, str] = {
    "language_table": "language",
    "tag_table": "tag",
    "url_table": "domain",
    "emoji_table": "emoji",
    "toot_with_media_table": "media",
    "croissance_table": "month",
    "app_table": "app",
    "hour_table": "hour",
    "toot_kind_table": "kind",
    "instance_table": "instance",
    "sentiment_table": "sentiment",
}
USER_TABLE = "user_table"
ALL_TABLES = (*COUNT_TABLES, USER_TABLE)
#: which days are whole (DESIGN.md): row key <dt>, data:complete "1" / "0". Built by the collection
#: side; without it (or without a day's row) a day's completeness is unknown and nothing is marked.
DAY_TABLE = "day_table"

USER_COLUMNS = ("followers", "toots", "engagement_rate")
USER_DAILY_COLUMNS = ("followers", "toots", "interactions", "engagement_rate")

PSEUDONYM = re.compile(r"[0-9a-f]{16}")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SCAN_BATCH_SIZE = 1000


class AnalysisError(DatalakeError):
    """The analysis could not read HBase or run; the message says what failed and what to do."""


@dataclass(frozen=True)
class TableFrames:
    """The two views of one count table."""

    table: str
    key: str  # name of the row-key column: language, tag, domain, emoji, media, month
    all_time: pd.DataFrame  # columns [key, "count"], biggest count first
    daily: pd.DataFrame  # columns [key, "day", "count"], by day then key
    exists: bool = True

    @property
    def empty(self) -> bool:
        return self.all_time.empty and self.daily.empty


@dataclass(frozen=True)
class UserFrames:
    """The two views of ``user_table``, pseudonymous rows only."""

    all_time: pd.DataFrame  # columns ["user", "followers", "toots", "engagement_rate"]
    daily: pd.DataFrame  # columns ["user", "day", "followers", "toots", "interactions", "engagement_rate"]
    exists: bool = True
    excluded_handles: int = 0  # rows whose key is not a pseudonym, left out

    table: str = USER_TABLE

    @property
    def empty(self) -> bool:
        return self.all_time.empty and self.daily.empty


@dataclass(frozen=True)
class LakeFrames:
    """Every table of the lake as DataFrames, plus what reading them found wrong."""

    languages: TableFrames
    tags: TableFrames
    domains: TableFrames
    emojis: TableFrames
    media: TableFrames
    growth: TableFrames
    users: UserFrames
    source: str = ""  # "HBase Thrift at host:port, table prefix 'p'"
    notes: tuple[str, ...] = field(default_factory=tuple)
    apps: TableFrames = field(default_factory=lambda: empty_count_frames("app_table", "app"))
    hours: TableFrames = field(default_factory=lambda: empty_count_frames("hour_table", "hour"))
    kinds: TableFrames = field(default_factory=lambda: empty_count_frames("toot_kind_table", "kind"))
    instances: TableFrames = field(default_factory=lambda: empty_count_frames("instance_table", "instance"))
    sentiment: TableFrames = field(default_factory=lambda: empty_count_frames("sentiment_table", "sentiment"))
    #: day_table as [day, complete] (bool); only the days that have a readable data:complete cell
    days: pd.DataFrame = field(default_factory=lambda: _days_frame([]))

    def tables(self) -> dict[str, TableFrames | UserFrames]:
        return {frames.table: frames for frames in
                (self.languages, self.tags, self.domains, self.emojis, self.media, self.growth, self.users,
                 self.apps, self.hours, self.kinds, self.instances, self.sentiment)}

    @property
    def incomplete_days(self) -> list[pd.Timestamp]:
        """The days day_table marks incomplete (data:complete = 0); a day it does not know is not one."""
        return sorted(self.days.loc[~self.days["complete"], "day"])

    @property
    def missing_tables(self) -> list[str]:
        return [name for name, frames in self.tables().items() if not frames.exists]

    @property
    def empty(self) -> bool:
        return all(frames.empty for frames in self.tables().values())


def describe_target(host: str, port: int, table_prefix: str) -> str:
    return hbase_connection.describe_target(host, port, table_prefix)


def connect(host: str, port: int, table_prefix: str = "", timeout_s: float = 60.0) -> happybase.Connection:
    """An open happybase connection, or an AnalysisError saying HBase is not reachable."""
    return hbase_connection.open_hbase(host, port, table_prefix, timeout_s, error=AnalysisError)


def load_frames(host: str, port: int, table_prefix: str = "", timeout_s: float = 60.0) -> LakeFrames:
    """Connect, read every table, close: what the notebook calls."""
    connection = connect(host, port, table_prefix, timeout_s)
    try:
        return read_frames(connection, source=describe_target(host, port, table_prefix))
    finally:
        connection.close()


def read_frames(connection: happybase.Connection, source: str = "") -> LakeFrames:
    """Every table through an open connection (its table_prefix decides which tables)."""
    notes: list[str] = []
    existing = _existing_tables(connection)
    count_frames = {}
    for table, key in COUNT_TABLES.items():
        count_frames[table] = read_count_table(connection, table, key, existing=existing, notes=notes)
    users = read_user_table(connection, existing=existing, notes=notes)
    days = read_day_table(connection, existing=existing, notes=notes)
    missing = [name for name in ALL_TABLES if name not in existing]
    if missing:
        notes.insert(0, f"table(s) not found in HBase: {', '.join(missing)} (has the loader run for any day?)")
    for note in notes:
        log.warning("%s", note)
    return LakeFrames(
        languages=count_frames["language_table"], tags=count_frames["tag_table"],
        domains=count_frames["url_table"], emojis=count_frames["emoji_table"],
        media=count_frames["toot_with_media_table"], growth=count_frames["croissance_table"],
        users=users, source=source, notes=tuple(notes), apps=count_frames["app_table"],
        hours=count_frames["hour_table"], kinds=count_frames["toot_kind_table"],
        instances=count_frames["instance_table"], sentiment=count_frames["sentiment_table"],
        days=days)


def _existing_tables(connection: happybase.Connection) -> set[str]:
    try:
        return {name.decode("utf-8") for name in connection.tables()}
    except (TTransportException, TException, OSError) as exc:
        raise AnalysisError(f"listing the HBase tables failed: {exc}") from exc


def _scan(connection: happybase.Connection, table: str):
    """(row key, {column: value}) of every row, decoded as UTF-8; raises AnalysisError on I/O failure."""
    try:
        for row_key, cells in connection.table(table).scan(batch_size=SCAN_BATCH_SIZE):
            yield row_key, {column.decode("utf-8", "replace"): value for column, value in cells.items()}
    except (TTransportException, TException, OSError) as exc:
        raise AnalysisError(f"scanning HBase table {table!r} failed: {exc.__class__.__name__}: {exc}") from exc


def _decode_key(table: str, row_key: bytes, notes: list[str]) -> str | None:
    try:
        return row_key.decode("utf-8")
    except UnicodeDecodeError:
        notes.append(f"{table}: row key {row_key!r} is not UTF-8; row left out")
        return None


def _day_of(table: str, key: str, column: str, notes: list[str]) -> str | None:
    day = column.split(":", 1)[1]
    if DAY.fullmatch(day):
        try:
            dt.date.fromisoformat(day)
            return day
        except ValueError:
            pass
    notes.append(f"{table}: row {key!r} has column {column!r} whose qualifier is not a YYYY-MM-DD day; left out")
    return None


def _int_cell(table: str, key: str, column: str, value: bytes, notes: list[str]) -> int | None:
    try:
        return int(value.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        notes.append(f"{table}: row {key!r} cell {column} = {value[:40]!r} is not an integer; left out")
        return None


def _float_cell(table: str, key: str, column: str, value: bytes, notes: list[str]) -> float | None:
    try:
        return float(value.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        notes.append(f"{table}: row {key!r} cell {column} = {value[:40]!r} is not a number; left out")
        return None


def empty_count_frames(table: str, key: str, exists: bool = False) -> TableFrames:
    return TableFrames(table, key, _count_all_time([], key), _count_daily([], key), exists=exists)


def read_count_table(connection: happybase.Connection, table: str, key: str,
                     existing: set[str] | None = None, notes: list[str] | None = None) -> TableFrames:
    """A count table (``data:count``, ``daily:<day>`` = decimal strings) as its two views."""
    notes = [] if notes is None else notes
    existing = _existing_tables(connection) if existing is None else existing
    if table not in existing:
        return empty_count_frames(table, key, exists=False)
    all_time: list[tuple[str, int]] = []
    daily: list[tuple[str, str, int]] = []
    for row_key, cells in _scan(connection, table):
        name = _decode_key(table, row_key, notes)
        if name is None:
            continue
        for column, value in cells.items():
            if column == "data:count":
                count = _int_cell(table, name, column, value, notes)
                if count is not None:
                    all_time.append((name, count))
            elif column.startswith("daily:"):
                day = _day_of(table, name, column, notes)
                count = _int_cell(table, name, column, value, notes) if day else None
                if count is not None:
                    daily.append((name, day, count))
            # other data: cells are not part of the contract for count tables: ignored
    return TableFrames(table, key, _count_all_time(all_time, key), _count_daily(daily, key), exists=True)


def _count_all_time(rows: list[tuple[str, int]], key: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[key, "count"]).astype({key: "str", "count": "int64"})
    return frame.sort_values(["count", key], ascending=[False, True], kind="stable").reset_index(drop=True)


def _count_daily(rows: list[tuple[str, str, int]], key: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[key, "day", "count"]).astype({key: "str", "count": "int64"})
    frame["day"] = _days(frame["day"])
    return frame.sort_values(["day", key], kind="stable").reset_index(drop=True)


def _days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("str"), format="%Y-%m-%d").astype("datetime64[ns]")


def empty_user_frames(exists: bool = False) -> UserFrames:
    return UserFrames(_user_all_time([]), _user_daily([]), exists=exists)


def read_user_table(connection: happybase.Connection, existing: set[str] | None = None,
                    notes: list[str] | None = None) -> UserFrames:
    """``user_table`` as its two views; only pseudonymous row keys are read."""
    notes = [] if notes is None else notes
    existing = _existing_tables(connection) if existing is None else existing
    if USER_TABLE not in existing:
        return empty_user_frames(exists=False)
    all_time: list[tuple] = []
    daily: list[tuple] = []
    excluded = 0
    for row_key, cells in _scan(connection, USER_TABLE):
        user = row_key.decode("utf-8", "replace")
        if not PSEUDONYM.fullmatch(user):
            excluded += 1  # a handle is personal data: not even quoted in the note
            continue
        present = [name for name in USER_COLUMNS if f"data:{name}" in cells]
        if present:
            values = {name: (_float_cell if name == "engagement_rate" else _int_cell)(
                USER_TABLE, user, f"data:{name}", cells[f"data:{name}"], notes) for name in present}
            absent = [f"data:{name}" for name in USER_COLUMNS if name not in present]
            if absent:
                notes.append(f"{USER_TABLE}: row {user!r} lacks {', '.join(absent)}; left out of the all-time view")
            elif all(value is not None for value in values.values()):
                all_time.append((user, values["followers"], values["toots"], values["engagement_rate"]))
        for column, value in cells.items():
            if not column.startswith("daily:"):
                continue
            day = _day_of(USER_TABLE, user, column, notes)
            if day is None:
                continue
            parsed = _user_day(user, column, value, notes)
            if parsed is not None:
                daily.append((user, day, *parsed))
    if excluded:
        notes.append(f"{USER_TABLE}: {excluded} row(s) keyed by a handle instead of a pseudonym "
                     "(data loaded with DATALAKE_PSEUDONYMIZE=0) were left out; handles are never shown")
    return UserFrames(_user_all_time(all_time), _user_daily(daily), exists=True, excluded_handles=excluded)


def _user_day(user: str, column: str, value: bytes, notes: list[str]) -> tuple | None:
    try:
        record = json.loads(value.decode("utf-8"))
        return (int(record["followers"]), int(record["toots"]), int(record["interactions"]),
                float(record["engagement_rate"]))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        notes.append(f"{USER_TABLE}: row {user!r} cell {column} is not the documented JSON "
                     f'{{"followers","toots","interactions","engagement_rate"}} ({exc.__class__.__name__}); left out')
        return None


def _user_all_time(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user", *USER_COLUMNS]).astype(
        {"user": "str", "followers": "int64", "toots": "int64", "engagement_rate": "float64"})
    return frame.sort_values("user", kind="stable").reset_index(drop=True)


def _user_daily(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user", "day", *USER_DAILY_COLUMNS]).astype(
        {"user": "str", "followers": "int64", "toots": "int64", "interactions": "int64",
         "engagement_rate": "float64"})
    frame["day"] = _days(frame["day"])
    return frame.sort_values(["day", "user"], kind="stable").reset_index(drop=True)


def read_day_table(connection: happybase.Connection, existing: set[str] | None = None,
                   notes: list[str] | None = None) -> pd.DataFrame:
    """``day_table`` as [day, complete]: row key ``<dt>``, ``data:complete`` ``1`` (whole) or ``0``.
    No table, a row without the cell, or another value: the day is not listed (its completeness unknown)."""
    notes = [] if notes is None else notes
    existing = _existing_tables(connection) if existing is None else existing
    if DAY_TABLE not in existing:
        return _days_frame([])
    rows = []
    for row_key, cells in _scan(connection, DAY_TABLE):
        day = row_key.decode("utf-8", "replace")
        value = cells.get("data:complete")
        if not DAY.fullmatch(day) or value is None:
            continue
        if value not in (b"0", b"1"):
            notes.append(f"{DAY_TABLE}: row {day!r} data:complete = {value[:20]!r} is neither 1 nor 0; day left unknown")
            continue
        rows.append((day, value == b"1"))
    return _days_frame(rows)


def _days_frame(rows: list[tuple[str, bool]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["day", "complete"]).astype({"complete": "bool"})
    frame["day"] = _days(frame["day"])
    return frame.sort_values("day", kind="stable").reset_index(drop=True)
