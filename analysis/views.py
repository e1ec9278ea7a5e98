"""Derived views over the tidy frames of :mod:`analysis.hbase_frames`: plain pandas, no I/O.

The charts and the text summary share these, so a number in the summary is the number in the
chart. Statuses per day come from ``language_table``: every curated status has exactly one
language (``und`` when unknown), so a day's language counts add up to that day's statuses.
"""
from __future__ import annotations

import math

import pandas as pd

MEDIA_ANY = "toot_with_media"
MEDIA_TYPE_PREFIX = "type:"
OTHER = "other"


def statuses_per_day(languages_daily: pd.DataFrame) -> pd.Series:
    """Statuses per day (index: day, ascending), from the per-day language counts."""
    if languages_daily.empty:
        return pd.Series([], index=pd.DatetimeIndex([], name="day"), name="statuses", dtype="int64")
    return languages_daily.groupby("day")["count"].sum().rename("statuses").sort_index()


def missing_days(days: pd.Series | pd.Index) -> list[pd.Timestamp]:
    """Days between the first and the last day present that have no data."""
    present = pd.DatetimeIndex(pd.unique(pd.Series(days))).sort_values()
    if len(present) < 2:
        return []
    expected = pd.date_range(present[0], present[-1], freq="D")
    return list(expected.difference(present))


def days_covered(*daily_frames: pd.DataFrame) -> pd.DatetimeIndex:
    """Every day that has at least one daily cell in any of the frames, ascending."""
    days = [frame["day"] for frame in daily_frames if not frame.empty]
    if not days:
        return pd.DatetimeIndex([], name="day")
    return pd.DatetimeIndex(pd.unique(pd.concat(days))).sort_values().rename("day")


def top(all_time: pd.DataFrame, key: str, n: int) -> pd.DataFrame:
    """The n keys with the biggest all-time count (ties by key), as [key, count]."""
    return (all_time.sort_values(["count", key], ascending=[False, True], kind="stable")
            .head(n).reset_index(drop=True)[[key, "count"]])


def top_of_day(daily: pd.DataFrame, key: str, day: pd.Timestamp, n: int = 1) -> pd.DataFrame:
    """The n keys with the biggest count on one day (empty if the day has none)."""
    of_day = daily[daily["day"] == day]
    return top(of_day[[key, "count"]], key, n)


def share_by_day(daily: pd.DataFrame, key: str, n: int) -> pd.DataFrame:
    """Share (0..1) of each day's total per key: the n biggest keys over the period, the rest as 'other'.

    Rows: days ascending; columns: the n keys by total count, then 'other' when anything is left.
    """
    if daily.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"))
    totals = daily.groupby(key)["count"].sum().reset_index()
    leaders = list(top(totals, key, n)[key])
    labelled = daily.assign(**{key: daily[key].where(daily[key].isin(leaders), OTHER)})
    table = labelled.pivot_table(index="day", columns=key, values="count", aggfunc="sum", fill_value=0)
    columns = leaders + ([OTHER] if OTHER in table.columns and OTHER not in leaders else [])
    table = table.reindex(columns=columns, fill_value=0)
    return table.div(table.sum(axis=1), axis=0).sort_index()


def media_share_by_day(media_daily: pd.DataFrame, languages_daily: pd.DataFrame) -> pd.DataFrame:
    """Per day: statuses, statuses with ≥1 attachment, and their share, for days that have both."""
    with_media = (media_daily[media_daily["media"] == MEDIA_ANY].groupby("day")["count"].sum()
                  .rename("with_media"))
    statuses = statuses_per_day(languages_daily)
    frame = pd.concat([statuses, with_media], axis=1, join="inner")
    frame = frame[frame["statuses"] > 0]
    frame["share"] = frame["with_media"] / frame["statuses"]
    frame.index.name = "day"
    return frame.sort_index()


def media_types(media_all_time: pd.DataFrame) -> pd.DataFrame:
    """All-time statuses per attachment type, as [type, count], biggest first."""
    types = media_all_time[media_all_time["media"].str.startswith(MEDIA_TYPE_PREFIX)]
    frame = types.assign(type=types["media"].str.slice(len(MEDIA_TYPE_PREFIX)))[["type", "count"]]
    return frame.sort_values(["count", "type"], ascending=[False, True], kind="stable").reset_index(drop=True)


def media_total(media_all_time: pd.DataFrame) -> int | None:
    """All-time statuses with ≥1 attachment (``data:count`` of row ``toot_with_media``), if loaded."""
    row = media_all_time[media_all_time["media"] == MEDIA_ANY]
    return int(row["count"].iloc[0]) if not row.empty else None


def accounts_by_month(growth_all_time: pd.DataFrame) -> pd.Series:
    """Distinct accounts seen, by account creation month (index: first day of the month)."""
    if growth_all_time.empty:
        return pd.Series([], index=pd.DatetimeIndex([], name="month"), name="accounts", dtype="int64")
    months = pd.to_datetime(growth_all_time["month"], format="%Y-%m", errors="coerce")
    frame = pd.DataFrame({"month": months, "accounts": growth_all_time["count"]}).dropna(subset=["month"])
    return frame.groupby("month")["accounts"].sum().sort_index()


def decade_buckets(values: pd.Series, smallest_exponent: int, integer: bool) -> pd.Series:
    """Counts of values in powers-of-ten buckets, readable as labels: '0', '1–9', '10–99', ….

    Integer buckets are closed ('10–99'); real-valued ones include their lower edge only
    ('0.01–0.1' holds 0.01 ≤ x < 0.1).

    ``smallest_exponent`` is the lower edge of the first bucket above zero (10**e); values
    below it, but above zero, go into an 'under …' bucket. Only buckets between the smallest and
    the biggest non-empty one are returned, so the chart has no empty tails.
    """
    values = values.dropna()
    if values.empty:
        return pd.Series([], dtype="int64", name="accounts")
    top_exponent = max(smallest_exponent, math.floor(math.log10(values.max())) if values.max() > 0 else 0)
    labels: list[str] = ["0"]
    counts: list[int] = [int((values == 0).sum())]
    if not integer:
        labels.append(f"under {_number(10 ** smallest_exponent)}")
        counts.append(int(((values > 0) & (values < 10 ** smallest_exponent)).sum()))
    for exponent in range(smallest_exponent, top_exponent + 1):
        low, high = 10 ** exponent, 10 ** (exponent + 1)
        if integer:
            label = f"{low:,}–{high - 1:,}"
        else:
            label = f"{_number(low)}–{_number(high)}"
        labels.append(label)
        counts.append(int(((values >= low) & (values < high)).sum()))
    series = pd.Series(counts, index=labels, name="accounts", dtype="int64")
    non_empty = [i for i, count in enumerate(counts) if count > 0]
    return series.iloc[non_empty[0]:non_empty[-1] + 1]


def _number(value: float) -> str:
    """1000 → '1k', 0.001 → '0.001': short labels for bucket edges."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
