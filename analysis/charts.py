"""The charts of the analysis notebook: tidy frames in, a :class:`Chart` out.

Each function takes the frames of :mod:`analysis.hbase_frames` (through
:mod:`analysis.views`), and returns a Chart holding the matplotlib Figure and the exact data it
draws, so that tests can check a chart against HBase without reading pixels. A chart with
nothing to draw raises :class:`NoData` whose message says why and what to do; the notebook
shows that message instead of a chart.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``), not pyplot: no
global state, nothing shown twice in the notebook, nothing leaked between charts.

Longer than ~400 lines because it holds one small function per chart of the notebook, sharing
one style; each is independent of the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import textwrap

import matplotlib
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import ScaledTranslation
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter

from analysis import views
from analysis.fonts import BASE_FAMILY, FontCoverage, detect_coverage

WIDTH_IN = 10.0
DPI = 110
BAR_COLOR = "#3b6ea5"
ACCENT_COLOR = "#d9822b"
MISSING_COLOR = "#d9d9d9"
MAX_LABEL_CHARS = 42
MAX_SHARE_SERIES = 8  # more stacked colours than this cannot be told apart
#: colours of the series of a chart: tab10 without its grey, which is kept for 'other'
SERIES_COLORS = [color for index, color in enumerate(matplotlib.colormaps["tab10"].colors) if index != 7]
LANGUAGE_NAMES = {"und": "und (unknown)"}
MEDIA_TYPE_NAMES = {"gifv": "gifv (animated GIF)", "unknown": "unknown type"}


class NoData(Exception):
    """Nothing to draw; the message says which table lacks what and what to do."""


@dataclass
class Chart:
    title: str
    figure: Figure
    data: pd.DataFrame | pd.Series

    @property
    def axes(self):
        return self.figure.axes[0]

    def save_png(self, path: Path) -> Path:
        """Write the chart as PNG through a temporary name, so no reader sees half a file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        self.figure.savefig(tmp, format="png", dpi=DPI, facecolor="white")
        tmp.replace(path)
        return path


def _figure(height_in: float, coverage: FontCoverage | None = None) -> tuple[Figure, matplotlib.axes.Axes]:
    families = (coverage or detect_coverage()).families
    with matplotlib.rc_context({"font.family": families, "font.size": 11, "axes.titlesize": 14,
                                "axes.titleweight": "bold", "axes.labelsize": 11}):
        figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)  # a renderer to measure text with before saving
        axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _text_style(coverage: FontCoverage | None) -> dict:
    """Font keywords for every text of a chart: DejaVu Sans, then the fallback fonts found."""
    return {"fontfamily": (coverage or detect_coverage()).families}


def _shorten(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def _title(axes, title: str, subtitle: str | None, coverage: FontCoverage | None) -> None:
    """Bold title and a grey subtitle, both flush with the left edge of the plot.

    Call it last: it lays the figure out once to measure the room right of the plot's left edge,
    and wraps the subtitle to that width (so it is never cut off nor squeezes the plot).
    """
    # titles hold no data labels, so no fallback font: a bold request to an emoji font only warns
    style = {"fontfamily": BASE_FAMILY}
    figure = axes.figure
    if not subtitle:
        axes.set_title(title, loc="left", pad=8, fontsize=14, fontweight="bold", **style)
        return
    sub = axes.text(0.0, 1.0, subtitle, transform=axes.transAxes, ha="left", va="bottom", fontsize=10,
                    color="#555555", **style)
    sub.set_in_layout(False)  # its width is fitted below; its height is reserved by the title's pad
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    room = (axes.bbox.x1 if figure.legends else figure.bbox.x1) - axes.bbox.x0 - 6
    width = sub.get_window_extent(renderer).width
    if width > room:
        characters = max(20, int(len(subtitle) * room / width) - 1)
        sub.set_text(textwrap.fill(subtitle, characters))
        while characters > 20 and sub.get_window_extent(renderer).width > room:  # wide letters on a line
            characters -= 2
            sub.set_text(textwrap.fill(subtitle, characters))
    lines = sub.get_text().count("\n") + 1
    sub.set_position((0.0, 1.0))
    sub.set_transform(axes.transAxes + ScaledTranslation(0, 4 / 72, figure.dpi_scale_trans))
    axes.set_title(title, loc="left", pad=4 + 4 + lines * 10 * 1.25, fontsize=14, fontweight="bold", **style)


def _percent(share: float) -> str:
    """0.004 → '<1%': a small share that is not zero does not read as 0 %."""
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def _ranked_bars(labels: list[str], values: list[float], title: str, subtitle: str | None,
                 xlabel: str, ylabel: str, coverage: FontCoverage | None,
                 value_format=lambda value: f"{value:,.0f}", color: str = BAR_COLOR,
                 value_labels: list[str] | None = None) -> tuple[Figure, object]:
    """Horizontal bars, biggest on top, each with its value (or its ``value_labels`` entry) at its end."""
    height = max(3.2, 0.42 * len(labels) + 1.9)
    figure, axes = _figure(height, coverage)
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=color, height=0.7)
    style = _text_style(coverage)
    axes.set_yticks(positions, [_shorten(label) for label in labels], **style)
    axes.invert_yaxis()
    axes.bar_label(bars, labels=value_labels or [value_format(value) for value in values], padding=4, fontsize=10)
    axes.set_xlim(0, max(values) * 1.15 if max(values) > 0 else 1)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_xlabel(xlabel, **style)
    axes.set_ylabel(ylabel, **style)
    axes.grid(axis="x", color="#eeeeee")
    axes.set_axisbelow(True)
    _title(axes, title, subtitle, coverage)
    return figure, axes


def _day_axis(axes, days: pd.DatetimeIndex) -> None:
    """Dates on x: every day named for a week or less, else a concise month/day axis."""
    first, last = days.min(), days.max()
    span = (last - first).days + 1
    if span == 1:  # one bar in a three-day wide window, one tick: no neighbour day looks "empty"
        axes.set_xlim(first - pd.Timedelta(days=1.5), first + pd.Timedelta(days=1.5))
        axes.xaxis.set_major_locator(FixedLocator([mdates.date2num(first)]))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%b %d"))
        return
    axes.set_xlim(first - pd.Timedelta(hours=14), last + pd.Timedelta(hours=14))
    if span <= 8:
        axes.xaxis.set_major_locator(mdates.DayLocator())
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%b %d"))
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def _day_bar_width(days: pd.DatetimeIndex) -> float:
    """Bar width in days: gaps between bars while they are few, nearly touching when they are many."""
    return 0.75 if (days.max() - days.min()).days < 45 else 0.95


def _period(days: pd.DatetimeIndex) -> str:
    first, last = _as_day(days.min()), _as_day(days.max())
    return f"on {first}" if first == last else f"{first} to {last}"


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    """'1 day', '6 days', '1,234 statuses'."""
    return f"{count:,} {word}" if count == 1 else f"{count:,} {plural_word or word + 's'}"


MISSING_LABEL = "no data loaded for the day"


def _mark_missing_days(axes, missing: list[pd.Timestamp], legend: bool = True) -> None:
    """Hatch the days inside the period that have no data, so a gap does not read as zero."""
    for index, day in enumerate(missing):
        axes.axvspan(day - pd.Timedelta(hours=10), day + pd.Timedelta(hours=10), color=MISSING_COLOR,
                     hatch="//", fill=False, linewidth=0, label=MISSING_LABEL if index == 0 else None)
    if missing and legend:
        axes.legend(loc="upper left", frameon=False, fontsize=9)


INCOMPLETE_COLOR = "#c0392b"
INCOMPLETE_LABEL = "incomplete day (day_table)"


def _mark_incomplete_days(axes, days: pd.DatetimeIndex, incomplete, legend: bool = True) -> list[pd.Timestamp]:
    """Shade the shown days that day_table marks incomplete (data:complete = 0), so a low bar does not
    read as a quiet day; returns them. Days day_table does not know are left unmarked."""
    shown = sorted(day for day in pd.DatetimeIndex(list(incomplete)) if days.min() <= day <= days.max()) \
        if len(days) else []
    for index, day in enumerate(shown):
        axes.axvspan(day - pd.Timedelta(hours=12), day + pd.Timedelta(hours=12), color=INCOMPLETE_COLOR, alpha=0.12,
                     linewidth=0, zorder=0, label=INCOMPLETE_LABEL if index == 0 else None)
    if shown and legend:
        axes.legend(loc="upper left", frameon=False, fontsize=9)
    return shown


def _incomplete_note(shown: list[pd.Timestamp]) -> str:
    if not shown:
        return ""
    return f"; shaded: incomplete ({', '.join(_as_day(day) for day in shown)}), counts may grow"


def _share_day_axes(axes, days: pd.DatetimeIndex, incomplete, ylabel: str, top: float = 100) -> list[pd.Timestamp]:
    """Days on x (missing ones hatched, incomplete ones shaded, no legend: the caller builds it),
    shares in percent on y up to ``top``; returns the incomplete days shown."""
    _day_axis(axes, days)
    _mark_missing_days(axes, views.missing_days(days.to_series()), legend=False)
    shown = _mark_incomplete_days(axes, days, incomplete, legend=False)
    axes.set_ylim(0, top)
    axes.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    axes.set_xlabel("Day (UTC)")
    axes.set_ylabel(ylabel)
    return shown


def _as_day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------------------------- charts

def statuses_per_day(languages_daily: pd.DataFrame, coverage: FontCoverage | None = None,
                     incomplete=()) -> Chart:
    """Bars: statuses per day (sum of the day's language counts); days without data hatched, days
    ``incomplete`` (day_table) shaded."""
    per_day = views.statuses_per_day(languages_daily)
    if per_day.empty:
        raise NoData("language_table has no daily cells, so there are no statuses per day to show: "
                     "run the DAG (or the HBase loader) for at least one day.")
    missing = views.missing_days(per_day.index.to_series())
    figure, axes = _figure(5.2, coverage)
    bars = axes.bar(per_day.index, per_day.values, width=_day_bar_width(per_day.index), color=BAR_COLOR)
    if len(per_day) <= 31:
        axes.bar_label(bars, labels=[f"{value:,}" for value in per_day.values], padding=3, fontsize=10)
    _day_axis(axes, per_day.index)
    _mark_missing_days(axes, missing)
    shown = _mark_incomplete_days(axes, per_day.index, incomplete)
    axes.set_ylim(0, per_day.max() * 1.18)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.set_xlabel("Day (UTC)")
    axes.set_ylabel("Statuses")
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    subtitle = f"{plural(per_day.sum(), 'status', 'statuses')} over {plural(len(per_day), 'day')}, {_period(per_day.index)}"
    if missing:
        subtitle += f"; {plural(len(missing), 'day')} without data"
    subtitle += _incomplete_note(shown)
    _title(axes, "Statuses per day", subtitle, coverage)
    return Chart("Statuses per day", figure, per_day)


def top_languages(languages_all_time: pd.DataFrame, top_n: int = 15,
                  coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: the languages with the most statuses over all days."""
    if languages_all_time.empty:
        raise NoData("language_table has no data:count cells: no language to rank yet.")
    ranked = views.top(languages_all_time, "language", top_n)
    total = int(languages_all_time["count"].sum())
    labels = [LANGUAGE_NAMES.get(code, code) for code in ranked["language"]]
    figure, _ = _ranked_bars(
        labels, list(ranked["count"]), f"Top {len(ranked)} languages, all days",
        f"statuses by language code (ISO 639); {total:,} statuses in {len(languages_all_time)} languages",
        "Statuses", "Language", coverage)
    return Chart("Top languages", figure, ranked)


def language_share_by_day(languages_daily: pd.DataFrame, top_n: int = MAX_SHARE_SERIES,
                          coverage: FontCoverage | None = None, incomplete=()) -> Chart:
    """100 % stacked bars: each day's statuses split by language (the leading ones, then 'other')."""
    series = min(top_n, MAX_SHARE_SERIES)
    shares = views.share_by_day(languages_daily, "language", series)
    if shares.empty:
        raise NoData("language_table has no daily cells: no language share per day to show.")
    figure, axes = _figure(5.6, coverage)
    colors = SERIES_COLORS
    bottom = pd.Series(0.0, index=shares.index)
    for index, language in enumerate(shares.columns):
        color = "#b0b0b0" if language == views.OTHER else colors[index % len(colors)]
        axes.bar(shares.index, shares[language] * 100, bottom=bottom * 100, width=_day_bar_width(shares.index),
                 color=color, label=LANGUAGE_NAMES.get(language, language), edgecolor="white",
                 linewidth=0.5 if len(shares) <= 45 else 0)
        bottom = bottom + shares[language]
    shown = _share_day_axes(axes, shares.index, incomplete, "Share of the day's statuses")
    handles, labels = axes.get_legend_handles_labels()
    marks = (MISSING_LABEL, INCOMPLETE_LABEL)
    languages = [(handle, label) for handle, label in zip(handles, labels) if label not in marks][::-1]
    missing = [(handle, label) for handle, label in zip(handles, labels) if label in marks]
    # top to bottom in the same order as the stack
    figure.legend(*zip(*(languages + missing)), loc="outside right upper", title="Language", frameon=False)
    named = len(shares.columns) - (views.OTHER in shares.columns)
    which = (f"the {named} most used languages of the period, the rest as 'other'"
             if views.OTHER in shares.columns else f"all {plural(named, 'language')}")
    _title(axes, "Language share per day", f"{which}; {_period(shares.index)}{_incomplete_note(shown)}", coverage)
    return Chart("Language share per day", figure, shares)


def top_tags(tags_all_time: pd.DataFrame, top_n: int = 15, coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: the hashtags used by the most statuses over all days."""
    if tags_all_time.empty:
        raise NoData("tag_table has no data:count cells: no status with a hashtag has been loaded yet.")
    coverage = coverage or detect_coverage()
    ranked = views.top(tags_all_time, "tag", top_n)
    labels = [coverage.label(f"#{tag}") for tag in ranked["tag"]]
    figure, _ = _ranked_bars(
        labels, list(ranked["count"]), f"Top {len(ranked)} hashtags, all days",
        f"statuses using the tag (once per status); {len(tags_all_time):,} distinct tags",
        "Statuses", "Hashtag", coverage)
    return Chart("Top hashtags", figure, ranked)


def top_link_domains(domains_all_time: pd.DataFrame, top_n: int = 15,
                     coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: the external link hosts (mentions and hashtags excluded) linked by most statuses."""
    if domains_all_time.empty:
        raise NoData("url_table has no data:count cells: no status with an external link has been loaded yet.")
    coverage = coverage or detect_coverage()
    ranked = views.top(domains_all_time, "domain", top_n)
    labels = [coverage.label(domain) for domain in ranked["domain"]]
    figure, _ = _ranked_bars(
        labels, list(ranked["count"]), f"Top {len(ranked)} external link domains, all days",
        f"statuses linking the host (www. removed; mentions and hashtags not counted); "
        f"{len(domains_all_time):,} distinct hosts",
        "Statuses", "Domain", coverage)
    return Chart("Top external link domains", figure, ranked)


def media_share_by_day(media_daily: pd.DataFrame, languages_daily: pd.DataFrame,
                       coverage: FontCoverage | None = None, incomplete=()) -> Chart:
    """Bars: share of each day's statuses that carry at least one attachment."""
    if media_daily.empty or not (media_daily["media"] == views.MEDIA_ANY).any():
        raise NoData("toot_with_media_table has no daily cells for row 'toot_with_media': "
                     "no status with an attachment has been loaded yet (or the media job has not run).")
    shares = views.media_share_by_day(media_daily, languages_daily)
    if shares.empty:
        raise NoData("the days with media counts have no statuses in language_table, so no share can be "
                     "computed: check that the languages job ran for the same days.")
    figure, axes = _figure(5.2, coverage)
    bars = axes.bar(shares.index, shares["share"] * 100, width=_day_bar_width(shares.index), color=ACCENT_COLOR)
    if len(shares) <= 31:
        axes.bar_label(bars, labels=[f"{_percent(share)}\n{with_media:,} of {statuses:,}" if len(shares) <= 10
                                     else _percent(share) for share, with_media, statuses in
                                     zip(shares["share"], shares["with_media"], shares["statuses"])],
                       padding=3, fontsize=9)
    _day_axis(axes, shares.index)
    _mark_missing_days(axes, views.missing_days(shares.index.to_series()))
    shown = _mark_incomplete_days(axes, shares.index, incomplete)
    axes.set_ylim(0, min(100, max(shares["share"].max() * 100 * 1.3, 5)))
    axes.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    axes.set_xlabel("Day (UTC)")
    axes.set_ylabel("Statuses with ≥ 1 attachment")
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    overall = shares["with_media"].sum() / shares["statuses"].sum()
    _title(axes, "Share of statuses with media, per day",
           f"image, video, GIF or audio attachments; {overall:.1%} over {plural(len(shares), 'day')}, "
           f"{_period(shares.index)}{_incomplete_note(shown)}", coverage)
    return Chart("Share of statuses with media", figure, shares)


def media_types(media_all_time: pd.DataFrame, coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: statuses with at least one attachment of each type, all days."""
    types = views.media_types(media_all_time)
    if types.empty:
        raise NoData("toot_with_media_table has no 'type:<type>' rows: no attachment has been loaded yet.")
    total = views.media_total(media_all_time)
    labels = [MEDIA_TYPE_NAMES.get(media_type, media_type) for media_type in types["type"]]
    subtitle = "a status with attachments of several types counts once for each type"
    if total:
        shares = types["count"] / total
        value_labels = {value: f"{value:,}  ({_percent(share)} of statuses with media)"
                        for value, share in zip(types["count"], shares)}
        subtitle = f"{total:,} statuses with media; " + subtitle
    else:
        value_labels = {value: f"{value:,}" for value in types["count"]}
    figure, _ = _ranked_bars(labels, list(types["count"]), "Statuses with media, by attachment type, all days",
                             subtitle, "Statuses with ≥ 1 attachment of the type", "Attachment type", coverage,
                             value_format=lambda value: value_labels.get(value, f"{value:,}"), color=ACCENT_COLOR)
    figure.axes[0].set_xlim(0, types["count"].max() * 1.45)
    return Chart("Statuses by media type", figure, types)


def top_emojis(emojis_all_time: pd.DataFrame, top_n: int = 15, coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: custom (:shortcode:) and Unicode emojis used by the most statuses.

    A Unicode emoji is drawn with its name when an installed font has its glyphs, and by its
    name alone otherwise (no empty boxes).
    """
    if emojis_all_time.empty:
        raise NoData("emoji_table has no data:count cells: no status with an emoji has been loaded yet.")
    coverage = coverage or detect_coverage()
    ranked = views.top(emojis_all_time, "emoji", top_n)
    labels = [coverage.emoji_label(key) for key in ranked["emoji"]]
    data = ranked.assign(label=labels)
    note = "" if coverage.has_emoji_font() else "; no emoji font installed: emojis it lacks are named"
    figure, _ = _ranked_bars(
        labels, list(ranked["count"]), f"Top {len(ranked)} emojis, all days",
        f"statuses using the emoji (once per status), custom :shortcodes: and Unicode emojis{note}",
        "Statuses", "Emoji", coverage)
    return Chart("Top emojis", figure, data)


def accounts_by_creation_month(growth_all_time: pd.DataFrame, coverage: FontCoverage | None = None) -> Chart:
    """Bars: distinct accounts seen posting, by the month the account was created."""
    per_month = views.accounts_by_month(growth_all_time)
    if per_month.empty:
        raise NoData("croissance_table has no data:count cells: no account creation month has been loaded yet.")
    # every month of the range, so that a month without accounts shows as a zero, not as no month
    per_month = per_month.reindex(pd.date_range(per_month.index.min(), per_month.index.max(), freq="MS"),
                                  fill_value=0).rename_axis("month")
    months = len(per_month)
    figure, axes = _figure(5.2, coverage)
    if months <= 24:
        positions = list(range(months))
        bars = axes.bar(positions, per_month.values, width=0.75, color=BAR_COLOR)
        tilted = months > 8
        axes.set_xticks(positions, [f"{month:%Y-%m}" for month in per_month.index], rotation=45 if tilted else 0,
                        ha="right" if tilted else "center", rotation_mode="anchor" if tilted else "default")
        _center_slots(axes, months)
    else:
        bars = axes.bar(per_month.index + pd.Timedelta(days=15), per_month.values, width=26, color=BAR_COLOR)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
        axes.set_xlim(per_month.index.min() - pd.Timedelta(days=20),
                      per_month.index.max() + pd.Timedelta(days=50))
    if months <= 12:
        axes.bar_label(bars, labels=[f"{value:,}" for value in per_month.values], padding=3, fontsize=10)
    axes.set_ylim(0, per_month.max() * 1.18)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Month the account was created")
    axes.set_ylabel("Distinct accounts seen posting")
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    recent = per_month[per_month.index >= per_month.index.max() - pd.DateOffset(months=11)].sum()
    _title(axes, "Accounts by creation month",
           f"{plural(per_month.sum(), 'distinct account')}; {recent:,} created in the 12 months up to "
           f"{per_month.index.max():%Y-%m}", coverage)
    data = per_month.rename_axis("month").reset_index()
    data["month"] = data["month"].dt.strftime("%Y-%m")
    return Chart("Accounts by creation month", figure, data)


def engagement_rate_distribution(users_all_time: pd.DataFrame, coverage: FontCoverage | None = None) -> Chart:
    """Bars: pseudonymous accounts by engagement rate, in powers-of-ten buckets."""
    if users_all_time.empty:
        raise NoData("user_table has no pseudonymous rows with data:engagement_rate: no account to show yet.")
    buckets = views.decade_buckets(users_all_time["engagement_rate"], smallest_exponent=-3, integer=False)
    median = users_all_time["engagement_rate"].median()
    figure, axes = _distribution(buckets, "Engagement rate of accounts, all days",
                                 f"interactions per toot per follower; "
                                 f"{plural(len(users_all_time), 'pseudonymous account')}; median {median:.4f}",
                                 "Engagement rate (bucket includes its lower edge)", coverage)
    return Chart("Engagement rate distribution", figure, buckets.rename_axis("bucket").reset_index())


def followers_distribution(users_all_time: pd.DataFrame, coverage: FontCoverage | None = None) -> Chart:
    """Bars: pseudonymous accounts by follower count (latest value), in powers-of-ten buckets."""
    if users_all_time.empty:
        raise NoData("user_table has no pseudonymous rows with data:followers: no account to show yet.")
    buckets = views.decade_buckets(users_all_time["followers"], smallest_exponent=0, integer=True)
    median = users_all_time["followers"].median()
    figure, axes = _distribution(buckets, "Followers of accounts",
                                 f"followers at the account's latest status; "
                                 f"{plural(len(users_all_time), 'pseudonymous account')}; median {median:,.0f}",
                                 "Followers", coverage)
    return Chart("Followers distribution", figure, buckets.rename_axis("bucket").reset_index())


def _center_slots(axes, count: int, minimum: int = 5) -> None:
    """Categorical bars keep their width when they are few: the axis always has room for ``minimum``."""
    pad = max(0.0, (minimum - count) / 2)
    axes.set_xlim(-0.6 - pad, count - 0.4 + pad)


def _distribution(buckets: pd.Series, title: str, subtitle: str, xlabel: str,
                  coverage: FontCoverage | None) -> tuple[Figure, object]:
    figure, axes = _figure(5.2, coverage)
    positions = list(range(len(buckets)))
    bars = axes.bar(positions, buckets.values, width=0.75, color=BAR_COLOR)
    total = buckets.sum()
    axes.bar_label(bars, labels=[f"{count:,}\n{_percent(count / total)}" if total else f"{count:,}"
                                 for count in buckets.values], padding=3, fontsize=9)
    axes.set_xticks(positions, list(buckets.index))
    _center_slots(axes, len(buckets))
    axes.set_ylim(0, buckets.max() * 1.25 if buckets.max() else 1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(xlabel)
    axes.set_ylabel("Accounts")
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    _title(axes, title, subtitle, coverage)
    return figure, axes


# ------------------------------------------------------------------------------ second wave

SENTIMENT_COLORS = {"positive": "#2e8b57", "neutral": "#b0b0b0", "negative": "#c0392b"}
KIND_NAMES = {"reply": "replies", "with_link": "with an external link", "sensitive": "marked sensitive",
              "content_warning": "with a content warning", "poll": "with a poll", "bot": "by bot accounts",
              "edited": "edited"}
APP_NAMES = {"unknown": "unknown (no application shown)"}


def top_apps(apps_all_time: pd.DataFrame, top_n: int = 15, coverage: FontCoverage | None = None) -> Chart:
    """Ranked bars: the posting applications (clients) with the most statuses over all days."""
    if apps_all_time.empty:
        raise NoData("app_table has no data:count cells: the apps job has not been loaded for any day yet.")
    coverage = coverage or detect_coverage()
    ranked = views.top(apps_all_time, "app", top_n)
    total = int(apps_all_time["count"].sum())
    unknown = int(apps_all_time.loc[apps_all_time["app"] == "unknown", "count"].sum())
    labels = [coverage.label(APP_NAMES.get(app, app)) for app in ranked["app"]]
    figure, axes = _ranked_bars(
        labels, list(ranked["count"]), f"Top {len(ranked)} posting apps, all days",
        f"statuses by application name (trimmed), which Mastodon shows only on the copy of the author's "
        f"home instance: 'unknown' = no application, or the home instance not collected "
        f"({_percent(unknown / total)} of {total:,} statuses)", "Statuses", "Application", coverage,
        value_labels=[f"{count:,}  ({_percent(count / total)})" for count in ranked["count"]])
    axes.set_xlim(0, ranked["count"].max() * 1.3)
    return Chart("Top posting apps", figure, ranked)


def sentiment_share_by_day(sentiment_daily: pd.DataFrame, coverage: FontCoverage | None = None,
                           incomplete=()) -> Chart:
    """100 % stacked bars: each day's English statuses split by VADER label."""
    shares = views.sentiment_share_by_day(sentiment_daily)
    if shares.empty:
        raise NoData("sentiment_table has no daily cells: no English status has been scored and loaded yet.")
    totals = sentiment_daily.groupby("day")["count"].sum().reindex(shares.index)
    figure, axes = _figure(5.4, coverage)
    bottom = pd.Series(0.0, index=shares.index)
    width = _day_bar_width(shares.index)
    for label in views.SENTIMENT_ORDER:
        bars = axes.bar(shares.index, shares[label] * 100, bottom=bottom * 100, width=width,
                        color=SENTIMENT_COLORS[label], label=label, edgecolor="white", linewidth=0.5)
        if len(shares) <= 14:
            axes.bar_label(bars, labels=[_percent(share) if share >= 0.04 else "" for share in shares[label]],
                           label_type="center", fontsize=9, color="white" if label != "neutral" else "#333333")
        bottom = bottom + shares[label]
    shown = _share_day_axes(axes, shares.index, incomplete, "Share of the day's English statuses")
    handles, labels = axes.get_legend_handles_labels()
    order = [labels.index(name) for name in views.SENTIMENT_ORDER[::-1]] + [
        index for index, label in enumerate(labels) if label in (MISSING_LABEL, INCOMPLETE_LABEL)]
    figure.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right upper",
                  title="VADER label", frameon=False)
    _title(axes, "Sentiment of English statuses per day",
           f"statuses in en or en-*, VADER compound score of the text: ≥ 0.05 positive, ≤ −0.05 negative, "
           f"else neutral; {int(totals.sum()):,} statuses, {_period(shares.index)}{_incomplete_note(shown)}", coverage)
    return Chart("Sentiment share per day", figure, shares)


def weekday_hour_heatmap(hours_daily: pd.DataFrame, coverage: FontCoverage | None = None, incomplete=()) -> Chart:
    """Heatmap: mean statuses per UTC hour for each weekday, from hour_table's daily cells."""
    grid = views.weekday_hour(hours_daily)
    if grid.isna().all().all():
        raise NoData("hour_table has no daily cells: the hours job has not been loaded for any day yet.")
    days = grid.attrs["days"]
    figure, axes = _figure(4.6, coverage)
    image = axes.imshow(grid.values.astype(float), aspect="auto", cmap="YlOrRd", interpolation="nearest",
                        vmin=0)
    axes.set_xticks(range(24), [f"{hour:02d}" for hour in range(24)], fontsize=9)
    axes.set_yticks(range(7), [f"{name} ({days[name]} d)" if days[name] else f"{name} (no day)"
                               for name in grid.index])
    axes.set_xlabel("Hour of the day (UTC) the status was created")
    axes.spines[["left", "bottom"]].set_visible(False)
    axes.tick_params(length=0)
    colorbar = figure.colorbar(image, ax=axes, pad=0.01, fraction=0.04)
    colorbar.set_label("Mean statuses per day")
    covered = pd.DatetimeIndex(pd.unique(hours_daily["day"]))
    shown = [day for day in pd.DatetimeIndex(list(incomplete)) if day in covered]
    note = f"; includes {plural(len(shown), 'incomplete day')} ({', '.join(_as_day(day) for day in shown)})" \
        if shown else ""
    _title(axes, "When statuses are posted: weekday × hour (UTC)",
           f"mean statuses per day in each hour, over the {plural(len(covered), 'day')} of each weekday "
           f"({_period(covered)}); blank rows: weekdays without data{note}", coverage)
    return Chart("Weekday × hour heatmap", figure, grid)


def kind_share_by_day(kinds_daily: pd.DataFrame, coverage: FontCoverage | None = None, incomplete=()) -> Chart:
    """Lines: the share of each day's statuses that are replies, have a link, a content warning, …"""
    shares = views.kind_share_by_day(kinds_daily)
    if shares.empty:
        raise NoData("toot_kind_table has no daily cells for row 'all': the kinds job has not been loaded yet.")
    figure, axes = _figure(5.6, coverage)
    colors = SERIES_COLORS
    # every day of the period: a day without data breaks the lines instead of being bridged
    plotted = shares.reindex(pd.date_range(shares.index.min(), shares.index.max(), freq="D"))
    for index, kind in enumerate(shares.columns):
        axes.plot(plotted.index, plotted[kind] * 100, marker="o", color=colors[index % len(colors)], linewidth=2,
                  label=f"{KIND_NAMES.get(kind, kind)} ({_percent(shares[kind].mean())})")
    shown = _share_day_axes(axes, shares.index, incomplete, "Share of the day's statuses",
                            top=max(5, shares.max().max() * 100 * 1.15))
    axes.grid(axis="y", color="#eeeeee")
    axes.set_axisbelow(True)
    handles, labels = axes.get_legend_handles_labels()
    ranked = sorted(range(len(labels)), key=lambda i: (labels[i] in (MISSING_LABEL, INCOMPLETE_LABEL),
                                                       -shares.iloc[:, i].mean() if i < shares.shape[1] else 0))
    figure.legend([handles[i] for i in ranked], [labels[i] for i in ranked], loc="outside right upper",
                  title="Kind (mean share)", frameon=False)
    statuses = int(kinds_daily.loc[kinds_daily["kind"] == views.ALL_KIND, "count"].sum())
    _title(axes, "Kinds of toot per day",
           f"share of each day's statuses of each kind; a status can be of several kinds, so shares do not add "
           f"up to 100%; {statuses:,} statuses, {_period(shares.index)}{_incomplete_note(shown)}", coverage)
    return Chart("Kinds of toot per day", figure, shares)


def instance_concentration(instances_all_time: pd.DataFrame, top_n: int = 5,
                           coverage: FontCoverage | None = None) -> Chart:
    """Lorenz curve of statuses over author instances, with the Gini coefficient and the top-N share."""
    counts = instances_all_time["count"] if not instances_all_time.empty else pd.Series([], dtype="int64")
    if counts.sum() <= 0:
        raise NoData("instance_table has no data:count cells: the instances job has not been loaded yet.")
    xs, ys = views.lorenz(counts)
    gini = views.gini(counts)
    ranked = views.top(instances_all_time, "instance", top_n)
    total = int(counts.sum())
    top_share = ranked["count"].sum() / total
    figure, axes = _figure(5.6, coverage)
    axes.plot([0, 100], [0, 100], color="#999999", linestyle="--", linewidth=1, label="every instance equal")
    axes.plot([x * 100 for x in xs], [y * 100 for y in ys], color=BAR_COLOR, linewidth=2.5, marker="o" if
              len(xs) <= 40 else None, markersize=4, label="statuses of the instances, smallest first")
    axes.fill_between([x * 100 for x in xs], [y * 100 for y in ys], [x * 100 for x in xs], color=BAR_COLOR,
                      alpha=0.1, linewidth=0)
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 100)
    axes.set_aspect("auto")
    axes.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    axes.yaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    axes.set_xlabel(f"Share of the {len(instances_all_time):,} author instances (smallest first)")
    axes.set_ylabel("Share of all statuses")
    axes.grid(color="#eeeeee")
    names = ", ".join(f"{coverage.label(name) if coverage else name} {_percent(count / total)}"
                      for name, count in zip(ranked["instance"], ranked["count"]))
    axes.text(0.02, 0.97, f"Gini {gini:.2f}\nTop {len(ranked)}: {top_share:.1%} of statuses\n"
              + textwrap.fill(names, 60), transform=axes.transAxes, va="top", fontsize=10,
              bbox={"facecolor": "white", "edgecolor": "#dddddd", "boxstyle": "round,pad=0.4"})
    axes.legend(loc="lower right", frameon=False, fontsize=9)
    _title(axes, "How concentrated the voices are: statuses by author instance",
           f"Lorenz curve of {total:,} statuses over the home instances of their authors (all days); Gini 0 = "
           f"every instance posts as much, towards 1 = a few instances post nearly everything", coverage)
    data = ranked.assign(share=ranked["count"] / total)
    data.attrs.update(gini=gini, top_share=top_share)
    return Chart("Author instance concentration", figure, data)


def trending_tags(tags_daily: pd.DataFrame, top_n: int = 15, window: int = 7,
                  coverage: FontCoverage | None = None, incomplete=()) -> Chart:
    """Ranked bars: the tags whose count on the last day rose most above their trailing mean."""
    rising = views.trending(tags_daily, "tag", window)
    if rising.attrs.get("days", 0) == 0:
        raise NoData("tag_table needs daily cells on at least two days to compare the last day with the "
                     "days before it.")
    if rising.empty:
        raise NoData(f"no tag was used more on {_as_day(rising.attrs['day'])} than on average over the "
                     "days before it.")
    coverage = coverage or detect_coverage()
    ranked = rising.head(top_n)
    last, days = rising.attrs["day"], rising.attrs["days"]
    labels = [coverage.label(f"#{tag}") for tag in ranked["tag"]]
    figure, axes = _ranked_bars(
        labels, list(ranked["rise"]), f"Trending hashtags on {_as_day(last)}",
        f"rule: statuses using the tag on {_as_day(last)} minus its mean over the {plural(days, 'day')} before "
        f"(a day without the tag counts 0); biggest rise first, labels: rise (count vs mean)"
        + (f"; {_as_day(last)} is incomplete" if pd.Timestamp(last) in pd.DatetimeIndex(list(incomplete)) else ""),
        "Rise above the trailing mean (statuses)", "Hashtag", coverage,
        value_labels=[f"+{rise:,.1f}  ({count:,} vs {mean:,.1f})" for rise, count, mean
                      in zip(ranked["rise"], ranked["count"], ranked["mean"])], color=ACCENT_COLOR)
    axes.set_xlim(0, ranked["rise"].max() * 1.6)
    return Chart("Trending hashtags", figure, ranked)


# The charts of the notebook, in order: file stem → what it shows. The runner and the tests
# rely on these names (stable PNG names: <stem>.png).
CHART_FILES = {
    "01_statuses_per_day": "Statuses per day",
    "02_top_languages": "Top languages",
    "03_language_share_by_day": "Language share per day",
    "04_top_tags": "Top hashtags",
    "05_top_link_domains": "Top external link domains",
    "06_media_share_by_day": "Share of statuses with media",
    "07_media_types": "Statuses by media type",
    "08_top_emojis": "Top emojis",
    "09_accounts_by_creation_month": "Accounts by creation month",
    "10_engagement_rate_distribution": "Engagement rate distribution",
    "11_followers_distribution": "Followers distribution",
    "12_top_apps": "Top posting apps",
    "13_sentiment_share_by_day": "Sentiment share per day",
    "14_weekday_hour_heatmap": "Weekday × hour heatmap",
    "15_kind_share_by_day": "Kinds of toot per day",
    "16_instance_concentration": "Author instance concentration",
    "17_trending_tags": "Trending hashtags",
}

