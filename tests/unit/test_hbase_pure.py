"""The pure parts of the HBase loader: aggregate lines, cell values, engagement rates, manifests."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from hbase.aggregates import AggregateFormatError, UserDay, parse_line, parse_lines
from hbase.cells import (CellFormatError, count_all_time, day_of, engagement_rate, first_seen_counts,
                         format_rate, growth_all_time, membership_key, month_of, parse_user_daily,
                         split_families, stored_new_counts, user_all_time, user_daily_value)
from hbase.errors import LoadError
from hbase.loader import LoadReport, MetricReport, TableReport, check_metrics
from hbase.manifest import LOADED, LOADING, Manifest, loaded, pending, stale_keys

D1 = dt.date(2026, 11, 17)


# ---- aggregate lines

def test_parse_count_line_with_unicode_key():
    assert parse_line("emojis", '"😀"\t3\n') == ("😀", 3)
    assert parse_line("tags", '"caf\\u00e9"\t1') == ("café", 1)


def test_parse_users_and_growth_values():
    assert parse_line("users", '"3f9a0c1d2e4b5a69"\t{"followers": 12, "toots": 3, "interactions": 7}') == (
        "3f9a0c1d2e4b5a69", UserDay(followers=12, toots=3, interactions=7))
    assert parse_line("growth", '"2024-05"\t{"accounts": ["b", "a"]}') == ("2024-05", ("a", "b"))


@pytest.mark.parametrize("metric, line, reason", [
    ("languages", '"en" 3', "no tab"),
    ("languages", '{"en"\t3', "key is not JSON"),
    ("languages", '"en"\t3x', "value is not JSON"),
    ("languages", '""\t3', "empty string"),
    ("languages", 'null\t3', "must be a JSON string"),
    ("languages", '"en"\t-1', ">= 0"),
    ("languages", '"en"\t2.5', "must be an integer"),
    ("languages", '"en"\ttrue', "must be an integer"),
    ("users", '"u"\t{"followers": 1, "toots": 0, "interactions": 0}', "toots must be >= 1"),
    ("users", '"u"\t{"followers": 1, "toots": 2}', "lacks interactions"),
    ("users", '"u"\t[1, 2, 3]', "must be an object"),
    ("growth", '"2024-13"\t{"accounts": ["a"]}', "YYYY-MM"),
    ("growth", 'null\t{"accounts": ["a"]}', "JSON string"),
    ("growth", '"2024-05"\t{"accounts": ["a", "a"]}', "not distinct"),
    ("growth", '"2024-05"\t{"accounts": []}', "empty"),
    ("growth", '"2024-05"\t{"accounts": [1]}', "non-empty strings"),
    ("growth", '"2024-05"\t3', "must be an object"),
])
def test_parse_line_rejects_what_the_format_does_not_allow(metric, line, reason):
    with pytest.raises(AggregateFormatError, match=reason):
        parse_line(metric, line)


def test_parse_lines_names_file_and_line_and_skips_blank_lines():
    day = parse_lines("languages", ['"en"\t2\n', "\n", '"fr"\t1\n'], source="/a/part-00000")
    assert day.records == {"en": 2, "fr": 1}
    assert (day.lines, day.blank_lines) == (2, 1)
    with pytest.raises(LoadError, match=r"/a/part-00001 line 2: no tab .* re-run the languages job"):
        parse_lines("languages", ['"en"\t2\n', '"fr" 1\n'], source="/a/part-00001")


def test_parse_lines_rejects_a_key_twice_even_across_files():
    day = parse_lines("tags", ['"python"\t2\n'], source="part-00000")
    with pytest.raises(LoadError, match="key 'python' appears twice"):
        parse_lines("tags", ['"python"\t1\n'], source="part-00001", into=day)


# ---- cells

def test_engagement_rate_math_and_six_places():
    assert engagement_rate(interactions=6, toots=2, followers=10) == 0.3
    assert engagement_rate(interactions=3, toots=1, followers=0) == 3.0  # max(followers, 1)
    assert format_rate(engagement_rate(5, 1, 6)) == "0.833333"
    assert format_rate(engagement_rate(7, 4, 6)) == "0.291667"
    assert format_rate(engagement_rate(2, 3, 3)) == "0.222222"
    assert format_rate(0.0) == "0.000000"
    with pytest.raises(ValueError):
        engagement_rate(1, 0, 1)


def test_user_daily_value_is_the_documented_json():
    value = user_daily_value(UserDay(followers=6, toots=1, interactions=5))
    assert value == b'{"followers": 6, "toots": 1, "interactions": 5, "engagement_rate": 0.833333}'
    assert json.loads(value) == {"followers": 6, "toots": 1, "interactions": 5, "engagement_rate": 0.833333}
    assert parse_user_daily(value) == UserDay(6, 1, 5)


def test_user_all_time_takes_followers_of_the_latest_day_whatever_the_order():
    daily = {b"daily:2026-11-18": user_daily_value(UserDay(6, 1, 5)),
             b"daily:2026-11-17": user_daily_value(UserDay(3, 3, 2))}
    assert user_all_time(daily) == {b"data:followers": b"6", b"data:toots": b"4",
                                    b"data:engagement_rate": b"0.291667"}  # 7 / (4 × 6)


def test_user_all_time_rejects_a_foreign_cell():
    with pytest.raises(CellFormatError, match="not the JSON"):
        user_all_time({b"daily:2026-11-17": b"12"})


def test_count_all_time_sums_the_days():
    assert count_all_time({b"daily:2026-11-17": b"5", b"daily:2026-11-18": b"3"}) == {b"data:count": b"8"}
    with pytest.raises(CellFormatError, match="not a decimal integer"):
        count_all_time({b"daily:2026-11-17": b"5.0"})
    with pytest.raises(CellFormatError, match="not daily:YYYY-MM-DD"):
        count_all_time({b"daily:yesterday": b"5"})


def test_day_of_and_split_families():
    assert day_of(b"daily:2026-11-18") == "2026-11-18"
    with pytest.raises(CellFormatError):
        day_of(b"daily:2026-02-30")
    assert split_families({b"daily:2026-11-18": b"1", b"data:count": b"2", b"other:x": b"3"}) == (
        {b"daily:2026-11-18": b"1"}, {b"data:count": b"2"})


def test_growth_first_seen_and_all_time():
    assert membership_key("2024-05", "u1") == "2024-05#u1"
    assert month_of("2024-05#user@host") == "2024-05"
    counts = first_seen_counts([("2024-05", ["2026-11-17", "2026-11-18"]), ("2024-05", ["2026-11-18"]),
                                ("2024-05", ["2026-11-17"]), ("2023-12", [])])
    assert counts == {("2024-05", "2026-11-17"): 2, ("2024-05", "2026-11-18"): 1}
    cells = growth_all_time({"2026-11-17": 2, "2026-11-18": 1, "2026-11-19": 0})
    assert cells == {b"data:new:2026-11-17": b"2", b"data:new:2026-11-18": b"1", b"data:count": b"3"}
    assert stored_new_counts({**cells, b"data:count": b"3"}) == {"2026-11-17": 2, "2026-11-18": 1}


# ---- manifests

def test_manifest_diff_pending_and_loaded():
    previous = loaded("languages", D1, {"language_table": {"en", "fr", "de"}})
    current = {"language_table": {"en", "es"}}
    assert stale_keys(previous, current) == {"language_table": {"fr", "de"}}
    assert stale_keys(None, current) == {"language_table": set()}
    intent = pending(previous, "languages", D1, current)
    assert intent.state == LOADING
    assert intent.keys("language_table") == {"en", "fr", "de", "es"}
    assert loaded("languages", D1, current).state == LOADED


def test_manifest_json_round_trip_and_damage():
    manifest = loaded("growth", D1, {"croissance_table": {"2024-05"}, "croissance_accounts_table": {"2024-05#ü"}})
    again = Manifest.from_json(manifest.to_json())
    assert (again.metric, again.day, again.state) == ("growth", D1, LOADED)
    assert again.tables == manifest.tables
    assert json.loads(manifest.to_json())["rows"] == {"croissance_accounts_table": 1, "croissance_table": 1}
    with pytest.raises(LoadError, match="is not a loader manifest"):
        Manifest.from_json(b'{"metric": "growth"}', source="/state/x.json")


def test_check_metrics_and_report_summary():
    assert check_metrics(None)[0] == "languages"
    assert check_metrics(["users", "users", "tags"]) == ["users", "tags"]
    with pytest.raises(LoadError, match="unknown metric"):
        check_metrics(["hashtags"])
    report = LoadReport(D1, [MetricReport("languages", "/x", 2, 1, [TableReport("language_table", rows=2,
                                                                                daily_cells=2, data_cells=2)],
                                          seconds=0.5)], seconds=1.0)
    assert report.cells == 4 and report.cells_per_second == 4.0
    assert "language_table" in report.summary() and "4 cells" in report.summary()
