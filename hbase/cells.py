"""What the cells of each table hold (docs/data-formats.md, "HBase"): pure functions.

The loader writes a day's ``daily:<dt>`` cells from the aggregates, then recomputes the
all-time ``data:`` cells of every row it touched from the ``daily:`` cells stored in HBase, so
the all-time values never depend on the order or the number of loads.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Iterable, Mapping

from hbase.aggregates import UserDay

DAILY = b"daily:"
DATA = b"data:"
DATA_COUNT = b"data:count"
DATA_FOLLOWERS = b"data:followers"
DATA_TOOTS = b"data:toots"
DATA_ENGAGEMENT_RATE = b"data:engagement_rate"
DATA_NEW = b"data:new:"  # croissance_table: data:new:<dt> = accounts of the month first seen on dt
MEMBERSHIP_SEPARATOR = "#"
MEMBER = b"1"

_DAY = re.compile(rb"\d{4}-\d{2}-\d{2}")


class CellFormatError(ValueError):
    """A cell stored in HBase does not follow docs/data-formats.md."""


def daily_column(day: dt.date) -> bytes:
    return DAILY + day.isoformat().encode("ascii")


def new_column(day: str) -> bytes:
    return DATA_NEW + day.encode("ascii")


def day_of(column: bytes, prefix: bytes = DAILY) -> str:
    """``daily:2026-11-18`` -> ``"2026-11-18"``; CellFormatError for any other qualifier."""
    qualifier = column[len(prefix):]
    if column.startswith(prefix) and _DAY.fullmatch(qualifier):
        try:
            return dt.date.fromisoformat(qualifier.decode("ascii")).isoformat()
        except ValueError:
            pass
    raise CellFormatError(f"column {column.decode('utf-8', 'replace')!r} is not {prefix.decode()}YYYY-MM-DD")


def split_families(cells: Mapping[bytes, bytes]) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
    """A row's cells -> (daily cells, data cells)."""
    daily, data = {}, {}
    for column, value in cells.items():
        if column.startswith(DAILY):
            daily[column] = value
        elif column.startswith(DATA):
            data[column] = value
    return daily, data


def format_rate(rate: float) -> str:
    return format(rate, ".6f")


def engagement_rate(interactions: int, toots: int, followers: int) -> float:
    """interactions / (toots × max(followers, 1)); DESIGN.md's engagement rate."""
    if toots < 1:
        raise ValueError(f"engagement rate of {toots} toots is undefined")
    return interactions / (toots * max(followers, 1))


def _decimal(value: bytes, what: str) -> int:
    try:
        text = value.decode("ascii")
        if not text.isdigit():
            raise ValueError
        return int(text)
    except (UnicodeDecodeError, ValueError):
        raise CellFormatError(f"{what} = {value[:40]!r} is not a decimal integer") from None


# ---- count tables (language, tag, url, emoji, toot_with_media) and croissance daily cells

def count_value(count: int) -> bytes:
    return str(count).encode("ascii")


def count_all_time(daily: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """``data:count`` = the sum of the row's ``daily:*`` counts."""
    total = 0
    for column, value in daily.items():
        day_of(column)
        total += _decimal(value, column.decode("utf-8", "replace"))
    return {DATA_COUNT: count_value(total)}


# ---- user_table

def user_daily_value(user_day: UserDay) -> bytes:
    """``{"followers": f, "toots": t, "interactions": i, "engagement_rate": r}`` with r to 6 places."""
    rate = format_rate(engagement_rate(user_day.interactions, user_day.toots, user_day.followers))
    return (f'{{"followers": {user_day.followers}, "toots": {user_day.toots}, '
            f'"interactions": {user_day.interactions}, "engagement_rate": {rate}}}').encode("ascii")


def parse_user_daily(value: bytes, what: str = "daily cell") -> UserDay:
    try:
        record = json.loads(value.decode("utf-8"))
        user_day = UserDay(int(record["followers"]), int(record["toots"]), int(record["interactions"]))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise CellFormatError(f'{what} = {value[:80]!r} is not the JSON {{"followers", "toots", '
                              '"interactions", "engagement_rate"}') from None
    if user_day.toots < 1:
        raise CellFormatError(f"{what} has toots = {user_day.toots} (must be >= 1)")
    return user_day


def user_all_time(daily: Mapping[bytes, bytes]) -> dict[bytes, bytes]:
    """data:followers (latest day), data:toots (Σ), data:engagement_rate (Σi / (Σt × max(followers, 1)))."""
    days = sorted((day_of(column), column) for column in daily)
    toots = interactions = followers = 0
    for _, column in days:
        user_day = parse_user_daily(daily[column], column.decode("ascii"))
        toots += user_day.toots
        interactions += user_day.interactions
        followers = user_day.followers  # days are sorted: the last one wins
    return {DATA_FOLLOWERS: str(followers).encode("ascii"),
            DATA_TOOTS: str(toots).encode("ascii"),
            DATA_ENGAGEMENT_RATE: format_rate(engagement_rate(interactions, toots, followers)).encode("ascii")}


# ---- croissance_table + croissance_accounts_table

def membership_key(month: str, account: str) -> str:
    return f"{month}{MEMBERSHIP_SEPARATOR}{account}"


def month_of(membership: str) -> str:
    return membership.split(MEMBERSHIP_SEPARATOR, 1)[0]


def membership_days(daily: Mapping[bytes, bytes]) -> list[str]:
    """The sorted days of a membership row (``daily:<dt>`` = ``1``)."""
    return sorted(day_of(column) for column in daily)


def first_seen_counts(rows: Iterable[tuple[str, list[str]]]) -> Counter:
    """(month, days of one account) pairs -> Counter{(month, first day): accounts}."""
    counts: Counter = Counter()
    for month, days in rows:
        if days:
            counts[(month, min(days))] += 1
    return counts


def growth_all_time(new_by_day: Mapping[str, int]) -> dict[bytes, bytes]:
    """``data:new:<dt>`` (non-zero only) and ``data:count`` = Σ = distinct accounts ever seen."""
    cells = {new_column(day): count_value(count) for day, count in sorted(new_by_day.items()) if count}
    cells[DATA_COUNT] = count_value(sum(new_by_day.values()))
    return cells


def stored_new_counts(data: Mapping[bytes, bytes]) -> dict[str, int]:
    """The ``data:new:<dt>`` cells of a croissance row as {day: count}."""
    return {day_of(column, DATA_NEW): _decimal(value, column.decode("ascii"))
            for column, value in data.items() if column.startswith(DATA_NEW)}
