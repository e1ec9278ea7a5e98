"""`python -m analysis run` against the real HBase: the notebook executes headless, writes the executed
notebook, the HTML report and one PNG per chart, and each chart shows the data this test loaded."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from PIL import Image

from analysis import charts, views
from analysis.fonts import detect_coverage
from analysis.hbase_frames import load_frames
from tests.integration.test_analysis_hbase import DAYS, HANDLES, create_tables, write_sample_lake

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=600)


def executed_outputs(notebook_path: Path) -> tuple[list, str]:
    """Every output of the executed notebook, and all their text joined."""
    notebook = nbformat.read(notebook_path, as_version=4)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "\n".join(output.get("text", "") + "".join(
        value for mime, value in output.get("data", {}).items() if mime.startswith("text/")) for output in outputs)
    return outputs, text


@pytest.fixture(scope="module")
def loaded_run(hbase_connection, settings, tmp_path_factory):
    prefix = "annotebook"
    lake = write_sample_lake(hbase_connection, prefix, DAYS, seed=11)
    output_dir = tmp_path_factory.mktemp("analysis")
    result = run_cli("run", "--output-dir", str(output_dir), "--host", settings.hbase_host,
                     "--port", str(settings.hbase_port), "--table-prefix", f"{settings.table_prefix}_{prefix}")
    return lake, output_dir, result, f"{settings.table_prefix}_{prefix}"


def test_run_writes_notebook_html_and_every_png(loaded_run):
    _, output_dir, result, _ = loaded_run
    assert result.returncode == 0, result.stderr
    assert f"executed notebook  {output_dir / 'mastodon_analysis.ipynb'}" in result.stdout
    assert f"HTML report        {output_dir / 'mastodon_analysis.html'}" in result.stdout
    assert f"charts ({len(charts.CHART_FILES)} PNG)" in result.stdout
    for stem in charts.CHART_FILES:
        png = output_dir / f"{stem}.png"
        assert str(png) in result.stdout
        with Image.open(png) as image:
            width, height = image.size
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert 1000 <= width <= 1300 and 300 <= height <= 1200, (stem, image.size)
        assert colours is None or len(colours) > 20, stem  # more than a blank canvas
    assert "Traceback" not in result.stderr


def test_executed_notebook_has_no_error_and_embeds_the_pngs(loaded_run):
    lake, output_dir, _, _ = loaded_run
    outputs, text = executed_outputs(output_dir / "mastodon_analysis.ipynb")
    assert not [output for output in outputs if output.output_type == "error"]
    assert not [output for output in outputs if output.get("name") == "stderr"]
    images = [base64.b64decode(output.data["image/png"]) for output in outputs if "image/png" in output.get("data", {})]
    assert images == [(output_dir / f"{stem}.png").read_bytes() for stem in charts.CHART_FILES]
    latest = DAYS[-1]
    top_language = max(((key, count) for (key, day), count in lake.daily["language_table"].items() if day == latest),
                       key=lambda item: (item[1], item[0]))[0]
    assert f"Top language: {top_language} (" in text
    assert f"Statuses: {lake.statuses_per_day()[latest]:,}" in text
    assert f"Top hashtag: none on {latest} (tag_table has no cell for that day)" in text
    assert "no data for 2026-11-15" in text
    assert "No chart" not in text


def test_html_report_shows_every_chart_and_no_handle(loaded_run):
    _, output_dir, _, _ = loaded_run
    html = (output_dir / "mastodon_analysis.html").read_text(encoding="utf-8")
    for title in charts.CHART_FILES.values():
        assert f'alt="Chart: {title}"' in html
    notebook = (output_dir / "mastodon_analysis.ipynb").read_text(encoding="utf-8")
    for handle in HANDLES:
        assert handle not in html and handle not in notebook
    assert "Traceback" not in html


def test_each_chart_shows_the_loaded_data(loaded_run, settings):
    lake, _, _, prefix = loaded_run
    frames = load_frames(settings.hbase_host, settings.hbase_port, prefix)
    coverage = detect_coverage()

    def top_label(chart: charts.Chart) -> str:
        return chart.axes.get_yticklabels()[0].get_text()

    per_day = charts.statuses_per_day(frames.languages.daily).data
    assert {day.strftime("%Y-%m-%d"): count for day, count in per_day.items()} == lake.statuses_per_day()
    assert top_label(charts.top_languages(frames.languages.all_time)) == lake.top("language_table")
    share = charts.language_share_by_day(frames.languages.daily).data
    assert share.columns[0] == lake.top("language_table")
    assert top_label(charts.top_tags(frames.tags.all_time)) == coverage.label("#" + lake.top("tag_table"))
    assert top_label(charts.top_link_domains(frames.domains.all_time)) == lake.top("url_table")
    media = charts.media_share_by_day(frames.media.daily, frames.languages.daily).data
    for day, row in media.iterrows():
        key = day.strftime("%Y-%m-%d")
        assert row["with_media"] == lake.daily["toot_with_media_table"][("toot_with_media", key)]
        assert row["statuses"] == lake.statuses_per_day()[key]
    types = {key: count for key, count in lake.counts["toot_with_media_table"].items() if key.startswith("type:")}
    assert top_label(charts.media_types(frames.media.all_time)) == max(types, key=types.get).split(":", 1)[1]
    assert top_label(charts.top_emojis(frames.emojis.all_time)) == coverage.emoji_label(lake.top("emoji_table"))
    growth = charts.accounts_by_creation_month(frames.growth.all_time).data
    drawn = dict(zip(growth["month"], growth["accounts"]))
    assert {month: accounts for month, accounts in drawn.items() if accounts} == lake.counts["croissance_table"]
    assert len(drawn) == (2026 - 2016) * 12 + 11  # every month of the range, 2016-01 to 2026-11
    for chart in (charts.engagement_rate_distribution(frames.users.all_time),
                  charts.followers_distribution(frames.users.all_time)):
        assert chart.data["accounts"].sum() == len(lake.users)  # every pseudonymous account, no handle
    zero_followers = sum(1 for followers, _, _ in lake.users.values() if followers == 0)
    assert views.decade_buckets(frames.users.all_time["followers"], 0, integer=True)["0"] == zero_followers


def test_second_wave_charts_show_the_loaded_data(loaded_run, settings):
    lake, _, _, prefix = loaded_run
    frames = load_frames(settings.hbase_host, settings.hbase_port, prefix)
    latest = pd.Timestamp(DAYS[-1])
    assert frames.incomplete_days == [latest]

    apps = charts.top_apps(frames.apps.all_time)
    assert apps.axes.get_yticklabels()[0].get_text() == lake.top("app_table")
    assert "unknown (no application shown)" in [label.get_text() for label in apps.axes.get_yticklabels()]

    sentiment = charts.sentiment_share_by_day(frames.sentiment.daily, incomplete=frames.incomplete_days).data
    for day in DAYS:
        english = sum(lake.daily["sentiment_table"][(label, day)] for label in ("positive", "neutral", "negative"))
        assert sentiment.loc[pd.Timestamp(day), "negative"] == pytest.approx(
            lake.daily["sentiment_table"][("negative", day)] / english)

    heatmap = charts.weekday_hour_heatmap(frames.hours.daily).data
    tuesdays = [day for day in DAYS if pd.Timestamp(day).dayofweek == 1]
    assert heatmap.loc["Tue", 7] == pytest.approx(
        sum(lake.daily["hour_table"][("07", day)] for day in tuesdays) / len(tuesdays))
    assert heatmap.attrs["days"]["Sun"] == sum(1 for day in DAYS if pd.Timestamp(day).dayofweek == 6)

    kinds = charts.kind_share_by_day(frames.kinds.daily, incomplete=frames.incomplete_days).data
    assert kinds.loc[latest, "reply"] == pytest.approx(
        lake.daily["toot_kind_table"][("reply", DAYS[-1])] / lake.daily["toot_kind_table"][("all", DAYS[-1])])

    concentration = charts.instance_concentration(frames.instances.all_time)
    counts = sorted(lake.counts["instance_table"].values(), reverse=True)
    assert concentration.data.attrs["top_share"] == pytest.approx(sum(counts[:5]) / sum(counts))
    ascending = counts[::-1]  # Gini from its textbook form: mean absolute difference / (2 × mean)
    mean_difference = sum(abs(a - b) for a in ascending for b in ascending) / len(ascending) ** 2
    assert concentration.data.attrs["gini"] == pytest.approx(mean_difference / (2 * sum(counts) / len(counts)))

    trending = charts.trending_tags(frames.tags.daily).data
    tag_days = sorted({day for (_, day) in lake.daily["tag_table"]})
    last, before = tag_days[-1], tag_days[-8:-1]
    rises = {tag: lake.daily["tag_table"].get((tag, last), 0)
             - sum(lake.daily["tag_table"].get((tag, day), 0) for day in before) / len(before)
             for tag in lake.counts["tag_table"]}
    assert trending.iloc[0]["tag"] == max(rises, key=lambda tag: (rises[tag], -len(tag)))
    assert trending.iloc[0]["rise"] == pytest.approx(max(rises.values()))

    per_day = charts.statuses_per_day(frames.languages.daily, incomplete=frames.incomplete_days)
    assert charts.INCOMPLETE_LABEL in per_day.axes.get_legend_handles_labels()[1]
    assert f"incomplete ({DAYS[-1]})" in "".join(text.get_text() for text in per_day.axes.texts)


@pytest.mark.parametrize("scenario", ["empty", "missing"])
def test_empty_or_missing_tables_give_messages_not_tracebacks(scenario, hbase_connection, settings, tmp_path):
    prefix = f"annb{scenario}"
    if scenario == "empty":
        create_tables(hbase_connection, prefix)
    result = run_cli("run", "--output-dir", str(tmp_path), "--table-prefix", f"{settings.table_prefix}_{prefix}",
                     env={"HBASE_THRIFT_HOST": settings.hbase_host, "HBASE_THRIFT_PORT": str(settings.hbase_port)})
    assert result.returncode == 0, result.stderr
    assert "charts (0 PNG)" in result.stdout
    assert result.stdout.count("  no chart: ") == len(charts.CHART_FILES)
    assert list(tmp_path.glob("*.png")) == []
    outputs, text = executed_outputs(tmp_path / "mastodon_analysis.ipynb")
    assert not [output for output in outputs if output.output_type == "error"]
    assert "No data yet" in text
    assert text.count("No chart — ") == len(charts.CHART_FILES)
    if scenario == "missing":
        assert "table(s) not found in HBase" in text
    html = (tmp_path / "mastodon_analysis.html").read_text(encoding="utf-8")
    assert "No data yet" in html and "Traceback" not in html


def test_unreachable_hbase_exits_non_zero_with_what_to_do(tmp_path):
    result = run_cli("run", "--output-dir", str(tmp_path), env={"HBASE_THRIFT_HOST": "127.0.0.1",
                                                                "HBASE_THRIFT_PORT": "1"})
    assert result.returncode == 2
    assert "cannot reach the HBase Thrift server 127.0.0.1:1" in result.stderr and "make start" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "mastodon_analysis.ipynb").exists()


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0 and "run" in result.stdout and "summary" in result.stdout
    result = run_cli("run", "--help")
    assert "--output-dir" in result.stdout and "out/analysis" in result.stdout
