"""analysis.views, analysis.charts, analysis.fonts, analysis.summary, analysis.report on in-memory frames."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from analysis import charts, views
from analysis.charts import NoData
from analysis.fonts import base_coverage, detect_coverage, emoji_name
from analysis.hbase_frames import COUNT_TABLES, LakeFrames, TableFrames, UserFrames, empty_count_frames, \
    empty_user_frames
from analysis.report import ChartOutput
from analysis.summary import summarize

REPO = Path(__file__).resolve().parents[2]


def count_frames(table: str, cells: dict[tuple[str, str], int]) -> TableFrames:
    """The two views of a count table whose data:count is the sum of its daily cells."""
    key = COUNT_TABLES[table]
    daily = pd.DataFrame([(name, pd.Timestamp(day), count) for (name, day), count in cells.items()],
                         columns=[key, "day", "count"]).astype({key: "str", "day": "datetime64[ns]", "count": "int64"})
    all_time = (daily.groupby(key, as_index=False)["count"].sum()
                .sort_values(["count", key], ascending=[False, True]).reset_index(drop=True))
    return TableFrames(table, key, all_time.astype({key: "str", "count": "int64"}),
                       daily.sort_values(["day", key]).reset_index(drop=True))


def users_frame(rows: list[tuple[str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user", "followers", "toots", "engagement_rate"]).astype(
        {"user": "str", "followers": "int64", "toots": "int64", "engagement_rate": "float64"})


LANGUAGES = {("en", "2026-11-16"): 60, ("de", "2026-11-16"): 30, ("und", "2026-11-16"): 10,
             ("en", "2026-11-18"): 40, ("fr", "2026-11-18"): 45, ("ja", "2026-11-18"): 15}
NO_FONT_SEARCH = base_coverage(search_system_fonts=False)  # as on a machine with DejaVu Sans only


def render_without_tofu(build, tmp_path: Path) -> charts.Chart:
    """Build the chart and save it; fail if matplotlib had to draw any glyph as an empty box
    (it warns "Glyph … missing from font(s)" when it does)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        chart = build()
        png = chart.save_png(tmp_path / "chart.png")
    missing = [str(warning.message) for warning in caught if "missing from font" in str(warning.message)]
    assert not missing, missing
    assert png.stat().st_size > 5000
    return chart


def test_the_tofu_check_catches_a_glyph_no_font_has(tmp_path):
    lying = base_coverage(search_system_fonts=False)
    lying.codepoints |= {0x65E5, 0x672C}  # claims DejaVu Sans draws 日本: it does not
    tags = count_frames("tag_table", {("日本", "2026-11-18"): 3})
    with pytest.raises(AssertionError, match="missing from font"):
        render_without_tofu(lambda: charts.top_tags(tags.all_time, coverage=lying), tmp_path)


def test_statuses_per_day_sums_languages_and_hatches_the_missing_day(tmp_path):
    chart = render_without_tofu(lambda: charts.statuses_per_day(count_frames("language_table", LANGUAGES).daily),
                                tmp_path)
    assert chart.data.to_dict() == {pd.Timestamp("2026-11-16"): 100, pd.Timestamp("2026-11-18"): 100}
    heights = [patch.get_height() for patch in chart.axes.patches if patch.get_height() > 0 and not patch.get_hatch()]
    assert heights == [100, 100]
    assert any(patch.get_hatch() for patch in chart.axes.patches)  # 2026-11-17 has no data
    assert chart.axes.get_legend().get_texts()[0].get_text() == charts.MISSING_LABEL
    assert chart.axes.get_xlabel() == "Day (UTC)" and chart.axes.get_ylabel() == "Statuses"


def test_top_languages_puts_the_biggest_on_top_and_names_und():
    frames = count_frames("language_table", LANGUAGES)
    chart = charts.top_languages(frames.all_time, top_n=3)
    labels = [label.get_text() for label in chart.axes.get_yticklabels()]
    assert labels == ["en", "fr", "de"]  # en 100, fr 45, de 30; ja and und cut by top_n
    assert [patch.get_width() for patch in chart.axes.patches] == [100, 45, 30]
    assert chart.axes.get_title(loc="left") == "Top 3 languages, all days"
    all_languages = charts.top_languages(frames.all_time, top_n=10)
    assert "und (unknown)" in [label.get_text() for label in all_languages.axes.get_yticklabels()]


def test_language_share_by_day_sums_to_one_with_other():
    shares = charts.language_share_by_day(count_frames("language_table", LANGUAGES).daily, top_n=2).data
    assert list(shares.columns) == ["en", "fr", views.OTHER]
    assert shares.sum(axis=1).round(9).tolist() == [1.0, 1.0]
    assert shares.loc[pd.Timestamp("2026-11-16"), views.OTHER] == pytest.approx(0.4)


def test_top_tags_and_domains_label_what_no_font_draws(tmp_path):
    tags = count_frames("tag_table", {("python", "2026-11-18"): 9, ("日本", "2026-11-18"): 5, ("café", "2026-11-18"): 2})
    chart = render_without_tofu(lambda: charts.top_tags(tags.all_time, coverage=NO_FONT_SEARCH), tmp_path)
    labels = [label.get_text() for label in chart.axes.get_yticklabels()]
    assert labels == ["#python", "#[U+65E5 U+672C]", "#café"]
    domains = count_frames("url_table", {("github.com", "2026-11-18"): 3, ("x" * 60 + ".example", "2026-11-18"): 1})
    chart = charts.top_link_domains(domains.all_time, coverage=NO_FONT_SEARCH)
    labels = [label.get_text() for label in chart.axes.get_yticklabels()]
    assert labels[0] == "github.com" and labels[1].endswith("…") and len(labels[1]) == charts.MAX_LABEL_CHARS


EMOJI_CELLS = {("👍🏽", "2026-11-18"): 9, (":blobcat:", "2026-11-18"): 7, ("😀", "2026-11-18"): 5,
               ("👨\u200d👩\u200d👧", "2026-11-18"): 3, ("🇫🇷", "2026-11-18"): 2, ("❤️", "2026-11-18"): 1}


def test_top_emojis_fall_back_to_names_without_an_emoji_font(tmp_path):
    emojis = count_frames("emoji_table", EMOJI_CELLS)
    chart = render_without_tofu(lambda: charts.top_emojis(emojis.all_time, coverage=NO_FONT_SEARCH), tmp_path)
    labels = [label.get_text() for label in chart.axes.get_yticklabels()]
    # DejaVu Sans draws 😀 and ❤ itself; the others have no glyph there and are named
    assert labels == ["thumbs up medium skin tone", ":blobcat:", "😀  grinning face", "family man woman girl",
                      "flag: France", "❤  red heart"]
    assert list(chart.data["emoji"]) == [key for key, _ in EMOJI_CELLS]


def test_top_emojis_with_the_fonts_of_this_machine_show_no_tofu(tmp_path):
    emojis = count_frames("emoji_table", EMOJI_CELLS)
    chart = render_without_tofu(lambda: charts.top_emojis(emojis.all_time, coverage=detect_coverage()), tmp_path)
    coverage = detect_coverage()
    top_label = chart.axes.get_yticklabels()[0].get_text()
    if coverage.has_emoji_font():
        assert top_label.startswith("👍")
    else:
        assert top_label == "thumbs up medium skin tone"


def test_emoji_names():
    assert emoji_name("😀") == "grinning face"
    assert emoji_name("🇫🇷") == "flag: France"
    assert emoji_name("\U000E0001") == "U+E0001"  # not an emoji the package knows


def test_media_charts():
    media = count_frames("toot_with_media_table", {
        ("toot_with_media", "2026-11-16"): 25, ("type:image", "2026-11-16"): 20, ("type:video", "2026-11-16"): 6,
        ("toot_with_media", "2026-11-18"): 10, ("type:image", "2026-11-18"): 10})
    languages = count_frames("language_table", LANGUAGES)
    share = charts.media_share_by_day(media.daily, languages.daily).data
    assert share["share"].tolist() == [0.25, 0.10]
    types = charts.media_types(media.all_time)
    assert [label.get_text() for label in types.axes.get_yticklabels()] == ["image", "video"]
    assert types.data.to_dict("list") == {"type": ["image", "video"], "count": [30, 6]}


def test_accounts_by_creation_month():
    growth = TableFrames("croissance_table", "month",
                         pd.DataFrame({"month": ["2024-05", "2016-11", "2026-10"], "count": [7, 2, 12]}),
                         pd.DataFrame(columns=["month", "day", "count"]))
    chart = charts.accounts_by_creation_month(growth.all_time)
    drawn = dict(zip(chart.data["month"], chart.data["accounts"]))
    assert len(drawn) == 2 + 12 * 9 + 10  # 2016-11 .. 2026-10, months without accounts as zeros
    assert {month: count for month, count in drawn.items() if count} == {"2016-11": 2, "2024-05": 7, "2026-10": 12}
    assert sorted(patch.get_height() for patch in chart.axes.patches if patch.get_height()) == [2, 7, 12]
    few = charts.accounts_by_creation_month(pd.DataFrame({"month": ["2026-09", "2026-11"], "count": [3, 25]}))
    assert [label.get_text() for label in few.axes.get_xticklabels()] == ["2026-09", "2026-10", "2026-11"]
    assert [patch.get_height() for patch in few.axes.patches] == [3, 0, 25]


def test_distributions_count_every_account_once():
    users = users_frame([(f"{n:016x}", followers, 3, rate) for n, (followers, rate) in
                         enumerate([(0, 0.0), (5, 0.0004), (50, 0.02), (120, 0.02), (4000, 0.5)])])
    engagement = charts.engagement_rate_distribution(users).data
    assert engagement.to_dict("list") == {"bucket": ["0", "under 0.001", "0.001–0.01", "0.01–0.1", "0.1–1"],
                                          "accounts": [1, 1, 0, 2, 1]}
    followers = charts.followers_distribution(users).data
    assert followers.to_dict("list") == {"bucket": ["0", "1–9", "10–99", "100–999", "1,000–9,999"],
                                         "accounts": [1, 1, 1, 1, 1]}
    assert views.decade_buckets(pd.Series([20, 30]), 0, integer=True).to_dict() == {"10–99": 2}


@pytest.mark.parametrize("chart_function, frame, table", [
    (charts.statuses_per_day, "languages.daily", "language_table"),
    (charts.top_languages, "languages.all_time", "language_table"),
    (charts.language_share_by_day, "languages.daily", "language_table"),
    (charts.top_tags, "tags.all_time", "tag_table"),
    (charts.top_link_domains, "domains.all_time", "url_table"),
    (charts.media_types, "media.all_time", "toot_with_media_table"),
    (charts.top_emojis, "emojis.all_time", "emoji_table"),
    (charts.accounts_by_creation_month, "growth.all_time", "croissance_table"),
    (charts.engagement_rate_distribution, "users.all_time", "user_table"),
    (charts.followers_distribution, "users.all_time", "user_table"),
])
def test_empty_frames_raise_no_data_naming_the_table(chart_function, frame, table):
    frames = empty_lake()
    attribute, view = frame.split(".")
    with pytest.raises(NoData, match=table):
        chart_function(getattr(getattr(frames, attribute), view))


def test_media_share_without_statuses_of_those_days_says_why():
    media = count_frames("toot_with_media_table", {("toot_with_media", "2026-11-01"): 3})
    with pytest.raises(NoData, match="languages job"):
        charts.media_share_by_day(media.daily, count_frames("language_table", LANGUAGES).daily)
    with pytest.raises(NoData, match="toot_with_media_table"):
        charts.media_share_by_day(empty_count_frames("toot_with_media_table", "media").daily,
                                  count_frames("language_table", LANGUAGES).daily)


def empty_lake(**tables) -> LakeFrames:
    frames = {name: empty_count_frames(table, key, exists=True) for name, table, key in (
        ("languages", "language_table", "language"), ("tags", "tag_table", "tag"),
        ("domains", "url_table", "domain"), ("emojis", "emoji_table", "emoji"),
        ("media", "toot_with_media_table", "media"), ("growth", "croissance_table", "month"))}
    frames.update(tables)
    return LakeFrames(users=tables.get("users", empty_user_frames(exists=True)), **{
        name: value for name, value in frames.items() if name != "users"}, source="test")


def test_summary_of_an_empty_lake_explains_what_to_do():
    text = summarize(empty_lake())
    assert "No data yet" in text and "python -m analysis run" in text


def test_summary_names_days_and_the_latest_day_leaders():
    lake = empty_lake(languages=count_frames("language_table", LANGUAGES),
                      domains=count_frames("url_table", {("github.com", "2026-11-18"): 4,
                                                         ("example.org", "2026-11-16"): 9}))
    text = summarize(lake)
    assert "2026-11-16 to 2026-11-18 (2 days with data; no data for 2026-11-17)" in text
    assert "### Latest day: 2026-11-18" in text
    assert "Top language: fr (45 statuses, 45% of the day)" in text
    assert "Top hashtag: none on 2026-11-18 (tag_table has no cell for that day)" in text
    assert "Top external link domain: github.com (4 statuses" in text
    assert "Tables that exist but hold no cell: tag_table, emoji_table, toot_with_media_table" in text


def test_summary_escapes_data_in_markdown_only():
    lake = empty_lake(languages=count_frames("language_table", LANGUAGES),
                      tags=count_frames("tag_table", {("my_tag", "2026-11-18"): 4}))
    assert "Top hashtag: \\#my\\_tag (4 statuses, 4% of the day)" in summarize(lake)
    assert "Top hashtag: #my_tag (4 statuses, 4% of the day)" in summarize(lake, markdown=False)


def test_chart_output_writes_png_and_manifest_and_clears_stale_charts(tmp_path):
    (tmp_path / "04_top_tags.png").write_bytes(b"an old chart")
    output = ChartOutput(tmp_path, notes=["a note"])
    assert not (tmp_path / "04_top_tags.png").exists()
    output.show("02_top_languages", charts.top_languages, count_frames("language_table", LANGUAGES).all_time, 5)
    output.show("04_top_tags", charts.top_tags, empty_count_frames("tag_table", "tag").all_time)
    manifest = json.loads((tmp_path / "charts.json").read_text())
    assert manifest["charts"]["02_top_languages"]["png"] == "02_top_languages.png"
    assert "tag_table" in manifest["charts"]["04_top_tags"]["no_data"]
    assert manifest["notes"] == ["a note"]
    assert (tmp_path / "02_top_languages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "04_top_tags.png").exists()
    with pytest.raises(ValueError, match="unknown chart"):
        output.show("99_nothing", charts.top_tags, None)


def test_the_notebook_is_thin_and_draws_every_chart_once():
    notebook = json.loads((REPO / "analysis" / "mastodon_analysis.ipynb").read_text())
    code = [("".join(cell["source"]), cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert "parameters" in code[0][1]["metadata"].get("tags", [])
    assert all(not cell.get("outputs") and cell.get("execution_count") is None for _, cell in code)
    source = "\n".join(text for text, _ in code)
    for stem in charts.CHART_FILES:
        assert source.count(f'out.show("{stem}"') == 1, stem
    assert "happybase" not in source and "import matplotlib" not in source
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_figures_are_not_pyplot_figures():
    chart = charts.top_languages(count_frames("language_table", LANGUAGES).all_time)
    assert isinstance(chart.figure, Figure)
    import matplotlib.pyplot as plt
    assert plt.get_fignums() == []
