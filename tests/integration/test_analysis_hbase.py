"""analysis.hbase_frames against the real HBase: the frames equal the cells this test writes.

The cells are written here with happybase in the layout of docs/data-formats.md (the loader is
another stage); each scenario uses its own sub-prefix under the session's prefix, so the session
fixture drops its tables at the end.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field

import happybase
import pandas as pd
import pytest

from analysis import hbase_frames
from analysis.hbase_frames import AnalysisError, load_frames

FAMILIES = {name: dict(max_versions=1, bloom_filter_type="ROW", compression="GZ") for name in ("data", "daily")}

LANGUAGE_WEIGHTS = {"en": 46, "de": 14, "fr": 9, "ja": 8, "es": 6, "und": 4, "pt": 3, "nl": 3, "it": 2,
                    "pl": 1.5, "sv": 1.2, "fi": 1, "uk": 0.8, "ko": 0.5, "zh": 0.4, "eo": 0.2}
TAGS = {"fediverse": 60, "python": 45, "caturday": 40, "photography": 30, "mastodon": 28, "opensource": 22,
        "日本": 18, "café": 15, "music": 14, "science": 12, "climate": 11, "art": 10, "linux": 9, "books": 8,
        "gardening": 7, "a_very_long_hashtag_that_goes_on_and_on_forever": 6, "rust": 5, "news": 4}
DOMAINS = {"youtube.com": 50, "github.com": 40, "theguardian.com": 25, "en.wikipedia.org": 22,
           "xn--bcher-kva.example": 12, "bbc.co.uk": 11, "nytimes.com": 10, "arxiv.org": 9,
           "a-really-quite-long-subdomain.of-some-news-site.example.org": 8, "spiegel.de": 7, "lemonde.fr": 6,
           "flickr.com": 5, "bandcamp.com": 4, "peertube.example": 3, "codeberg.org": 2, "ft.com": 1}
EMOJIS = {"❤️": 40, "😂": 33, "🎉": 30, ":blobcat:": 28, "👍🏽": 22, "🔥": 20, "😀": 18, ":mastodon:": 15,
          "🇫🇷": 12, "✨": 10, "🙏": 9, "👨\u200d👩\u200d👧": 7, "😭": 6, "🤔": 5, "🥳": 4, "🐘": 3}
MEDIA_TYPES = {"image": 0.17, "video": 0.03, "gifv": 0.015, "audio": 0.004, "unknown": 0.001}
HANDLES = ("ann@alpha.example", "bob@beta.example")  # rows keyed by handles: must never show
APPS = {"Web": 60, "Mastodon for Android": 25, "Ivory": 14, "unknown": 12, "Tusky": 10, "Elk": 6, "Moshidon": 3}
INSTANCES = {"mastodon.social": 120, "alpha.example": 30, "fosstodon.org": 25, "beta.example": 12,
             "hachyderm.io": 9, "delta.example": 4, "tiny.example": 1}
KIND_SHARES = {"reply": 0.3, "with_link": 0.22, "sensitive": 0.07, "content_warning": 0.05, "poll": 0.03,
               "bot": 0.05, "edited": 0.04}


@dataclass
class SampleLake:
    """What a test wrote: per table, all-time and per-day cells, as plain values."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # table → key → data:count
    daily: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # table → (key, day) → count
    users: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # user → followers, toots, rate
    users_daily: dict[tuple[str, str], dict] = field(default_factory=dict)  # (user, day) → JSON record
    days: list[str] = field(default_factory=list)
    complete: dict[str, bool] = field(default_factory=dict)  # day_table: day → data:complete

    def top(self, table: str) -> str:
        return sorted(self.counts[table].items(), key=lambda item: (-item[1], item[0]))[0][0]

    def statuses_per_day(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (_, day), count in self.daily["language_table"].items():
            totals[day] = totals.get(day, 0) + count
        return totals


def pseudonym(number: int) -> str:
    return hashlib.sha256(f"user-{number}".encode()).hexdigest()[:16]


def create_tables(connection: happybase.Connection, prefix: str) -> None:
    existing = {name.decode() for name in connection.tables()}
    for table in hbase_frames.ALL_TABLES:
        if f"{prefix}_{table}" not in existing:
            connection.create_table(f"{prefix}_{table}", FAMILIES)


def write_sample_lake(connection: happybase.Connection, prefix: str, days: list[str], seed: int = 8) -> SampleLake:
    """A week of plausible data in every table, written cell by cell in the documented layout."""
    rng = random.Random(seed)
    create_tables(connection, prefix)
    lake = SampleLake(days=list(days))

    def count_table(table: str, daily_counts: dict[tuple[str, str], int]) -> None:
        lake.daily[table] = daily_counts
        totals: dict[str, int] = {}
        for (key, _), count in daily_counts.items():
            totals[key] = totals.get(key, 0) + count
        lake.counts[table] = totals
        with connection.table(f"{prefix}_{table}").batch(batch_size=500) as batch:
            for key, total in totals.items():
                cells = {b"data:count": str(total).encode()}
                for (row, day), count in daily_counts.items():
                    if row == key:
                        cells[f"daily:{day}".encode()] = str(count).encode()
                batch.put(key.encode("utf-8"), cells)

    statuses = {day: rng.randint(700, 1300) for day in days}
    languages = {}
    for day, total in statuses.items():
        weights = {code: weight * rng.uniform(0.8, 1.2) for code, weight in LANGUAGE_WEIGHTS.items()}
        scale = total / sum(weights.values())
        for code, weight in weights.items():
            if round(weight * scale) > 0:
                languages[(code, day)] = round(weight * scale)
    count_table("language_table", languages)
    statuses = lake.statuses_per_day()

    def spread(weights: dict[str, float], skip_last_day: bool = False) -> dict[tuple[str, str], int]:
        cells = {}
        for day in days[:-1] if skip_last_day else days:
            for key, weight in weights.items():
                count = max(0, round(weight * rng.uniform(0.6, 1.4) / len(days) * 3))
                if count:
                    cells[(key, day)] = count
        return cells

    count_table("tag_table", spread(TAGS, skip_last_day=True))  # the latest day has no hashtag
    count_table("url_table", spread(DOMAINS))
    count_table("emoji_table", spread(EMOJIS))
    media = {}
    for day, total in statuses.items():
        with_types = {media_type: round(total * share * rng.uniform(0.8, 1.2)) for media_type, share in MEDIA_TYPES.items()}
        media[("toot_with_media", day)] = round(sum(with_types.values()) * 0.95)
        media.update({(f"type:{media_type}", day): count for media_type, count in with_types.items() if count})
    count_table("toot_with_media_table", media)

    # the second wave's tables, and day_table (the first day has no row: its completeness is unknown)
    count_table("app_table", spread(APPS))
    count_table("instance_table", spread(INSTANCES))
    hours, kinds, sentiment = {}, {}, {}
    for day, total in statuses.items():
        for hour in range(24):
            hours[(f"{hour:02d}", day)] = max(1, round(total / 24 * (1 + 0.8 * math.sin((hour - 6) / 24 * 2 * math.pi))))
        kinds[("all", day)] = total
        kinds.update({(kind, day): round(total * share * rng.uniform(0.7, 1.3)) for kind, share in KIND_SHARES.items()})
        english = languages.get(("en", day), 0)
        positive, negative = round(english * rng.uniform(0.4, 0.6)), round(english * rng.uniform(0.1, 0.25))
        sentiment.update({("positive", day): positive, ("negative", day): negative,
                          ("neutral", day): english - positive - negative})
    count_table("hour_table", hours)
    count_table("toot_kind_table", kinds)
    count_table("sentiment_table", sentiment)
    lake.complete = {day: day != days[-1] for day in days[1:]}
    if f"{prefix}_{hbase_frames.DAY_TABLE}" not in {name.decode() for name in connection.tables()}:
        connection.create_table(f"{prefix}_{hbase_frames.DAY_TABLE}", FAMILIES)
    with connection.table(f"{prefix}_{hbase_frames.DAY_TABLE}").batch() as batch:
        for day, complete in lake.complete.items():
            batch.put(day.encode(), {b"data:complete": b"1" if complete else b"0", b"data:statuses": b"1"})

    # croissance_table: data:count is distinct accounts ever seen (not the sum of the days)
    growth_daily, growth_total = {}, {}
    for year in range(2016, 2027):
        for month in range(1, 13):
            if (year, month) > (2026, 11):
                break
            key = f"{year}-{month:02d}"
            base = 3 + (year - 2016) * 2 + (40 if (year, month) in ((2022, 11), (2022, 12)) else 0)
            total = max(1, round(base * rng.uniform(0.5, 1.5)))
            growth_total[key] = total
            for day in days:
                growth_daily[(key, day)] = max(0, min(total, round(total * rng.uniform(0.1, 0.5))))
    growth_daily = {cell: count for cell, count in growth_daily.items() if count}
    lake.daily["croissance_table"] = growth_daily
    lake.counts["croissance_table"] = growth_total
    with connection.table(f"{prefix}_croissance_table").batch(batch_size=500) as batch:
        for key, total in growth_total.items():
            cells = {b"data:count": str(total).encode()}
            cells.update({f"daily:{day}".encode(): str(count).encode()
                          for (row, day), count in growth_daily.items() if row == key})
            batch.put(key.encode(), cells)

    with connection.table(f"{prefix}_user_table").batch(batch_size=500) as batch:
        for number in range(300):
            user = pseudonym(number)
            followers_now = int(rng.lognormvariate(4, 1.8)) if number % 17 else 0
            cells, toots_sum, interactions_sum = {}, 0, 0
            for day in rng.sample(days, rng.randint(1, len(days))):
                toots = rng.randint(1, 8)
                interactions = 0 if number % 5 == 0 else int(rng.expovariate(1 / (1 + followers_now * 0.02 * toots)))
                rate = interactions / (toots * max(followers_now, 1))
                record = {"followers": followers_now, "toots": toots, "interactions": interactions,
                          "engagement_rate": float(format(rate, ".6f"))}
                lake.users_daily[(user, day)] = record
                cells[f"daily:{day}".encode()] = json.dumps(record).encode()
                toots_sum += toots
                interactions_sum += interactions
            rate = float(format(interactions_sum / (toots_sum * max(followers_now, 1)), ".6f"))
            lake.users[user] = (followers_now, toots_sum, rate)
            cells.update({b"data:followers": str(followers_now).encode(), b"data:toots": str(toots_sum).encode(),
                          b"data:engagement_rate": format(rate, ".6f").encode()})
            batch.put(user.encode(), cells)
        for handle in HANDLES:
            batch.put(handle.encode(), {b"data:followers": b"5", b"data:toots": b"2",
                                        b"data:engagement_rate": b"0.100000",
                                        f"daily:{days[0]}".encode(): json.dumps(
                                            {"followers": 5, "toots": 2, "interactions": 1,
                                             "engagement_rate": 0.1}).encode()})
    return lake


def expected_count_frames(lake: SampleLake, table: str, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    all_time = pd.DataFrame(sorted(lake.counts[table].items(), key=lambda item: (-item[1], item[0])),
                            columns=[key, "count"]).astype({key: "str", "count": "int64"})
    daily = pd.DataFrame([(name, pd.Timestamp(day), count) for (name, day), count in lake.daily[table].items()],
                         columns=[key, "day", "count"]).astype({key: "str", "day": "datetime64[ns]", "count": "int64"})
    return all_time, daily.sort_values(["day", key]).reset_index(drop=True)


DAYS = ["2026-11-12", "2026-11-13", "2026-11-14", "2026-11-16", "2026-11-17", "2026-11-18"]  # 11-15 missing


@pytest.fixture(scope="module")
def loaded(hbase_connection, settings):
    prefix = "anframes"
    lake = write_sample_lake(hbase_connection, prefix, DAYS)
    frames = load_frames(settings.hbase_host, settings.hbase_port, f"{settings.table_prefix}_{prefix}")
    return lake, frames


@pytest.mark.parametrize("table", list(hbase_frames.COUNT_TABLES))
def test_count_table_frames_equal_the_cells(loaded, table):
    lake, frames = loaded
    table_frames = frames.tables()[table]
    key = hbase_frames.COUNT_TABLES[table]
    expected_all_time, expected_daily = expected_count_frames(lake, table, key)
    assert table_frames.exists and len(table_frames.all_time) >= 3 and len(table_frames.daily) > 10
    pd.testing.assert_frame_equal(table_frames.all_time, expected_all_time)
    pd.testing.assert_frame_equal(table_frames.daily, expected_daily)


def test_user_frames_equal_the_cells_and_leave_handles_out(loaded):
    lake, frames = loaded
    expected = pd.DataFrame([(user, *values) for user, values in sorted(lake.users.items())],
                            columns=["user", "followers", "toots", "engagement_rate"]).astype(
        {"user": "str", "followers": "int64", "toots": "int64", "engagement_rate": "float64"})
    pd.testing.assert_frame_equal(frames.users.all_time, expected)
    expected_daily = pd.DataFrame(
        [(user, pd.Timestamp(day), r["followers"], r["toots"], r["interactions"], r["engagement_rate"])
         for (user, day), r in lake.users_daily.items()],
        columns=["user", "day", "followers", "toots", "interactions", "engagement_rate"]).astype(
        {"user": "str", "day": "datetime64[ns]", "followers": "int64", "toots": "int64", "interactions": "int64",
         "engagement_rate": "float64"}).sort_values(["day", "user"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(frames.users.daily, expected_daily)
    assert frames.users.excluded_handles == len(HANDLES)
    shown = " ".join(frames.notes) + frames.users.all_time.to_string() + frames.users.daily.to_string()
    for handle in HANDLES:
        assert handle not in shown and handle.split("@")[0] not in shown
    assert any("2 row(s) keyed by a handle" in note for note in frames.notes)


def test_unicode_row_keys_round_trip(loaded):
    _, frames = loaded
    emojis = set(frames.emojis.all_time["emoji"])
    assert {"❤️", "👍🏽", "👨\u200d👩\u200d👧", ":blobcat:"} <= emojis
    assert "日本" in set(frames.tags.all_time["tag"])


def test_missing_tables_give_empty_frames_with_columns(hbase_connection, settings):
    frames = load_frames(settings.hbase_host, settings.hbase_port, f"{settings.table_prefix}_annone")
    assert frames.empty
    assert sorted(frames.missing_tables) == sorted(hbase_frames.ALL_TABLES)
    assert list(frames.languages.all_time.columns) == ["language", "count"]
    assert list(frames.languages.daily.columns) == ["language", "day", "count"]
    assert str(frames.languages.daily["day"].dtype) == "datetime64[ns]"
    assert list(frames.users.all_time.columns) == ["user", "followers", "toots", "engagement_rate"]
    assert list(frames.users.daily.columns) == ["user", "day", "followers", "toots", "interactions",
                                                "engagement_rate"]
    assert "table(s) not found" in frames.notes[0]


def test_empty_tables_give_empty_frames(hbase_connection, settings):
    create_tables(hbase_connection, "anempty")
    frames = load_frames(settings.hbase_host, settings.hbase_port, f"{settings.table_prefix}_anempty")
    assert frames.empty and frames.missing_tables == [] and frames.notes == ()
    for table_frames in frames.tables().values():
        assert table_frames.exists and table_frames.all_time.empty and table_frames.daily.empty


def test_cells_off_the_contract_are_left_out_and_named(hbase_connection, settings):
    create_tables(hbase_connection, "anbad")
    hbase_connection.table("anbad_language_table").put(b"en", {
        b"data:count": b"7", b"daily:2026-11-18": b"4", b"daily:2026-11-17": b"three", b"daily:yesterday": b"1"})
    hbase_connection.table("anbad_user_table").put(pseudonym(1).encode(), {
        b"data:followers": b"10", b"data:toots": b"2", b"data:engagement_rate": b"0.050000",
        b"daily:2026-11-18": b'{"followers": 10}', b"daily:2026-11-17": b"not json"})
    frames = load_frames(settings.hbase_host, settings.hbase_port, f"{settings.table_prefix}_anbad")
    assert frames.languages.all_time.to_dict("records") == [{"language": "en", "count": 7}]
    assert frames.languages.daily["count"].tolist() == [4]
    assert len(frames.users.all_time) == 1 and frames.users.daily.empty
    notes = "\n".join(frames.notes)
    assert "'three' is not an integer" in notes
    assert "'daily:yesterday'" in notes
    assert notes.count("is not the documented JSON") == 2


def test_unreachable_hbase_is_a_clear_error():
    with pytest.raises(AnalysisError, match=r"cannot reach the HBase Thrift server localhost:1 .*make start"):
        load_frames("localhost", 1, "")


def test_day_table_gives_the_incomplete_days_and_unknown_days_are_not_marked(loaded):
    lake, frames = loaded
    assert {day.strftime("%Y-%m-%d"): complete for day, complete in zip(frames.days["day"], frames.days["complete"])} \
        == lake.complete
    assert frames.incomplete_days == [pd.Timestamp(DAYS[-1])]
    assert pd.Timestamp(DAYS[0]) not in set(frames.days["day"])  # no row: unknown, not incomplete
