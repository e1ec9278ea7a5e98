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


# ------------------------------------------------------------------------------ second wave

SENTIMENT_ORDER = ("positive", "neutral", "negative")
KIND_ORDER = ("reply", "with_link", "sensitive", "content_warning", "poll", "bot", "edited")
ALL_KIND = "all"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def sentiment_share_by_day(sentiment_daily: pd.DataFrame) -> pd.DataFrame:
    """Share (0..1) of each day's scored (English) statuses per label, columns positive, neutral, negative."""
    if sentiment_daily.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"), columns=list(SENTIMENT_ORDER), dtype="float64")
    table = sentiment_daily.pivot_table(index="day", columns="sentiment", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(SENTIMENT_ORDER), fill_value=0)
    return table.div(table.sum(axis=1), axis=0).sort_index()


def kind_share_by_day(kinds_daily: pd.DataFrame) -> pd.DataFrame:
    """Per day, the share of the day's statuses (row ``all``) of each kind; kinds overlap (a reply
    with a link counts in both), so the shares do not add up to one. Days without ``all`` are left out."""
    if kinds_daily.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"), columns=list(KIND_ORDER), dtype="float64")
    table = kinds_daily.pivot_table(index="day", columns="kind", values="count", aggfunc="sum", fill_value=0)
    if ALL_KIND not in table.columns:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"), columns=list(KIND_ORDER), dtype="float64")
    table = table[table[ALL_KIND] > 0]
    shares = table.reindex(columns=list(KIND_ORDER), fill_value=0).div(table[ALL_KIND], axis=0)
    return shares.sort_index()


def weekday_hour(hours_daily: pd.DataFrame) -> pd.DataFrame:
    """Mean statuses per UTC hour for each weekday (rows Mon..Sun, columns 0..23), over the days that
    have hour cells; NaN for a weekday without such a day. ``days`` (attribute) counts days per weekday."""
    grid = pd.DataFrame(float("nan"), index=list(WEEKDAYS), columns=list(range(24)))
    grid.attrs["days"] = {weekday: 0 for weekday in WEEKDAYS}
    if hours_daily.empty:
        return grid
    frame = hours_daily.assign(hour=pd.to_numeric(hours_daily["hour"], errors="coerce")).dropna(subset=["hour"])
    frame = frame[(frame["hour"] >= 0) & (frame["hour"] <= 23)]
    per_day = frame.pivot_table(index="day", columns="hour", values="count", aggfunc="sum", fill_value=0)
    per_day = per_day.reindex(columns=range(24), fill_value=0)
    weekday = per_day.index.dayofweek
    for number, name in enumerate(WEEKDAYS):
        days = per_day[weekday == number]
        grid.attrs["days"][name] = len(days)
        if len(days):
            grid.loc[name] = days.mean().values
    return grid


def lorenz(counts: pd.Series) -> tuple[list[float], list[float]]:
    """The Lorenz curve of counts: (cumulative share of keys, cumulative share of the total), from (0, 0),
    keys from the smallest to the biggest."""
    values = sorted(float(value) for value in counts if value > 0)
    total = sum(values)
    xs, ys, running = [0.0], [0.0], 0.0
    for index, value in enumerate(values, start=1):
        running += value
        xs.append(index / len(values))
        ys.append(running / total)
    return xs, ys


def gini(counts: pd.Series) -> float:
    """Gini coefficient of counts (0: every key the same, towards 1: one key holds everything)."""
    values = sorted(float(value) for value in counts if value > 0)
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((index + 1) * value for index, value in enumerate(values))
    return (2 * weighted) / (n * total) - (n + 1) / n


def trending(daily: pd.DataFrame, key: str, window: int = 7) -> pd.DataFrame:
    """Keys whose count on the last day rose most above their trailing mean: the mean of their
    counts over the ``window`` days before it (days without a cell for the key count 0; only days
    the table has any cell for count as days). Columns [key, count, mean, rise], biggest rise
    first, rises > 0 only; ``attrs``: ``day`` (the last day) and ``days`` (days in the mean)."""
    columns = [key, "count", "mean", "rise"]
    empty = pd.DataFrame(columns=columns).astype({key: "str", "count": "int64", "mean": "float64", "rise": "float64"})
    days = sorted(pd.unique(daily["day"])) if not daily.empty else []
    if len(days) < 2:
        empty.attrs.update(day=days[-1] if days else None, days=0)
        return empty
    last, previous = days[-1], days[-1 - window:-1] if len(days) > window else days[:-1]
    table = daily.pivot_table(index=key, columns="day", values="count", aggfunc="sum", fill_value=0)
    mean = table.reindex(columns=previous, fill_value=0).mean(axis=1)
    frame = pd.DataFrame({key: table.index.astype("str"), "count": table[last].astype("int64").values,
                          "mean": mean.values})
    frame["rise"] = frame["count"] - frame["mean"]
    frame = frame[frame["rise"] > 0].sort_values(["rise", "count", key], ascending=[False, False, True],
                                                 kind="stable").reset_index(drop=True)
    frame.attrs.update(day=pd.Timestamp(last), days=len(previous))
    return frame
