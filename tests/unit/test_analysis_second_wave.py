"""The second wave's views and charts on small frames whose expected values are worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from analysis import charts, views
from analysis.hbase_frames import LakeFrames, _days_frame, empty_count_frames, empty_user_frames


def _daily(key: str, cells: list[tuple[str, str, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(cells, columns=[key, "day", "count"])
    frame["day"] = pd.to_datetime(frame["day"]).astype("datetime64[ns]")
    return frame


TAGS = _daily("tag", [("python", "2026-11-15", 4), ("python", "2026-11-16", 2), ("python", "2026-11-17", 6),
                      ("rust", "2026-11-17", 3), ("art", "2026-11-15", 9), ("art", "2026-11-17", 1),
                      ("cats", "2026-11-16", 1), ("cats", "2026-11-17", 1)])


def test_trending_is_the_last_day_minus_the_trailing_mean_with_absent_days_as_zero():
    rising = views.trending(TAGS, "tag", window=7)
    # python: 6 - (4 + 2) / 2 = 3; rust: 3 - 0 = 3; cats: 1 - (0 + 1) / 2 = 0.5; art: 1 - 4.5 < 0, left out
    assert rising.to_dict("records") == [
        {"tag": "python", "count": 6, "mean": 3.0, "rise": 3.0},   # ties: the bigger count first
        {"tag": "rust", "count": 3, "mean": 0.0, "rise": 3.0},
        {"tag": "cats", "count": 1, "mean": 0.5, "rise": 0.5}]
    assert rising.attrs == {"day": pd.Timestamp("2026-11-17"), "days": 2}


def test_trending_window_takes_only_the_days_just_before():
    rising = views.trending(TAGS, "tag", window=1)  # only 2026-11-16 counts: python 6 - 2, rust 3, art 1, cats 0
    assert list(zip(rising["tag"], rising["rise"])) == [("python", 4.0), ("rust", 3.0), ("art", 1.0)]


def test_trending_needs_two_days():
    one_day = TAGS[TAGS["day"] == "2026-11-17"]
    assert views.trending(one_day, "tag").empty
    with pytest.raises(charts.NoData, match="at least two days"):
        charts.trending_tags(one_day)


def test_trending_chart_states_the_rule_and_marks_an_incomplete_last_day():
    chart = charts.trending_tags(TAGS, incomplete=[pd.Timestamp("2026-11-17")])
    subtitle = " ".join(text.get_text() for text in chart.axes.texts).replace("\n", " ")
    assert "minus its mean over the 2 days before" in subtitle and "2026-11-17 is incomplete" in subtitle
    assert [label.get_text() for label in chart.axes.get_yticklabels()] == ["#python", "#rust", "#cats"]


def test_gini_and_lorenz():
    assert views.gini(pd.Series([5, 5, 5, 5])) == pytest.approx(0.0)
    # [1, 2, 3, 4]: mean absolute difference 1.25, mean 2.5: 1.25 / (2 × 2.5) = 0.25
    assert views.gini(pd.Series([4, 1, 3, 2])) == pytest.approx(0.25)
    # one big instance and three of one status: mean absolute difference 2·3·7 / 16 = 42/16, mean 11/4
    assert views.gini(pd.Series([1, 1, 1, 8])) == pytest.approx((42 / 16) / (2 * 11 / 4))
    assert views.lorenz(pd.Series([3, 1])) == ([0.0, 0.5, 1.0], [0.0, 0.25, 1.0])


def test_instance_concentration_top_share():
    instances = pd.DataFrame({"instance": ["a.example", "b.example", "c.example"], "count": [6, 3, 1]})
    chart = charts.instance_concentration(instances, top_n=2)
    assert chart.data.attrs["top_share"] == pytest.approx(0.9)
    # [1, 3, 6]: mean absolute difference (2·2 + 2·5 + 2·3) / 9 = 20/9, mean 10/3: (20/9) / (20/3) = 1/3
    assert chart.data.attrs["gini"] == pytest.approx(1 / 3)


def test_weekday_hour_means_over_the_days_of_each_weekday():
    hours = _daily("hour", [("09", "2026-11-16", 10), ("09", "2026-11-23", 20), ("10", "2026-11-16", 4),
                            ("23", "2026-11-17", 7)])  # two Mondays, one Tuesday
    grid = views.weekday_hour(hours)
    assert grid.loc["Mon", 9] == 15 and grid.loc["Mon", 10] == 2 and grid.loc["Mon", 23] == 0
    assert grid.loc["Tue", 23] == 7 and grid.loc["Tue", 9] == 0
    assert grid.loc["Sun"].isna().all()
    assert grid.attrs["days"] == {"Mon": 2, "Tue": 1, "Wed": 0, "Thu": 0, "Fri": 0, "Sat": 0, "Sun": 0}


def test_kind_shares_are_of_the_days_statuses_and_overlap():
    kinds = _daily("kind", [("all", "2026-11-17", 10), ("reply", "2026-11-17", 4), ("with_link", "2026-11-17", 5),
                            ("all", "2026-11-18", 4), ("poll", "2026-11-18", 1)])
    shares = views.kind_share_by_day(kinds)
    assert shares.loc[pd.Timestamp("2026-11-17"), "reply"] == 0.4
    assert shares.loc[pd.Timestamp("2026-11-17"), "with_link"] == 0.5  # 0.4 + 0.5: kinds overlap
    assert shares.loc[pd.Timestamp("2026-11-18")].to_dict() == {
        "reply": 0.0, "with_link": 0.0, "sensitive": 0.0, "content_warning": 0.0, "poll": 0.25, "bot": 0.0,
        "edited": 0.0}


def test_sentiment_shares_sum_to_one_per_day():
    sentiment = _daily("sentiment", [("positive", "2026-11-17", 3), ("negative", "2026-11-17", 1)])
    shares = views.sentiment_share_by_day(sentiment)
    assert shares.loc[pd.Timestamp("2026-11-17")].to_dict() == {"positive": 0.75, "neutral": 0.0, "negative": 0.25}


@pytest.mark.parametrize("chart_function, key, table", [
    (charts.top_apps, "app", "app_table"), (charts.sentiment_share_by_day, "sentiment", "sentiment_table"),
    (charts.weekday_hour_heatmap, "hour", "hour_table"), (charts.kind_share_by_day, "kind", "toot_kind_table"),
    (charts.instance_concentration, "instance", "instance_table")])
def test_empty_second_wave_tables_raise_no_data_naming_the_table(chart_function, key, table):
    frames = empty_count_frames(table, key)
    frame = frames.all_time if chart_function in (charts.top_apps, charts.instance_concentration) else frames.daily
    with pytest.raises(charts.NoData, match=table):
        chart_function(frame)


def test_incomplete_days_come_from_day_table_and_unknown_days_are_not_marked():
    frames = LakeFrames(*(empty_count_frames(table, key) for table, key in (
        ("language_table", "language"), ("tag_table", "tag"), ("url_table", "domain"), ("emoji_table", "emoji"),
        ("toot_with_media_table", "media"), ("croissance_table", "month"))), users=empty_user_frames(),
        days=_days_frame([("2026-11-16", True), ("2026-11-17", False)]))
    assert frames.incomplete_days == [pd.Timestamp("2026-11-17")]
    languages = _daily("language", [("en", day, 5) for day in ("2026-11-15", "2026-11-16", "2026-11-17")])
    chart = charts.statuses_per_day(languages, incomplete=frames.incomplete_days)
    shaded = [patch for patch in chart.axes.patches if patch.get_label() == charts.INCOMPLETE_LABEL]
    assert len(shaded) == 1  # 2026-11-15 has no day_table row: unknown, not shaded
    assert "shaded: incomplete (2026-11-17)" in " ".join(text.get_text() for text in chart.axes.texts).replace("\n", " ")
    assert charts.INCOMPLETE_LABEL not in charts.statuses_per_day(languages).axes.get_legend_handles_labels()[1]
