"""The short text summary at the top of the notebook (Markdown; readable as plain text too)."""
from __future__ import annotations

import pandas as pd

from analysis import views
from analysis.charts import plural
from analysis.hbase_frames import LakeFrames


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _md(text: str) -> str:
    """Data (a tag, a domain) shown as itself in Markdown, not as emphasis or a link."""
    return "".join("\\" + char if char in "\\`*_[]<>#|" else char for char in text)


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def summarize(frames: LakeFrames, markdown: bool = True) -> str:
    """What the loaded data says, in a few lines: days covered, statuses per day, the latest day's leaders.

    Markdown for the notebook; ``markdown=False`` leaves data (tags, notes) unescaped for a terminal.
    """
    escape = _md if markdown else str
    lines: list[str] = ["## Summary", ""]
    if frames.source:
        lines += [f"Source: {frames.source}.", ""]
    if frames.empty:
        missing = frames.missing_tables
        where = ("none of the tables exists" if len(missing) == len(frames.tables())
                 else "the tables hold no cell")
        lines += [f"**No data yet:** {where}. Run the pipeline for a day first (`make demo`, or "
                  "`airflow dags test mastodon_datalake <date>`), then run this notebook again "
                  "(`python -m analysis run`). Every chart below says what it is missing.", ""]
        lines += _notes(frames, escape)
        return "\n".join(lines)

    empty = [name for name, table in frames.tables().items() if table.exists and table.empty]
    if frames.missing_tables:
        lines.append(f"- Tables not found: {', '.join(frames.missing_tables)}.")
    if empty:
        lines.append(f"- Tables that exist but hold no cell: {', '.join(empty)}.")

    statuses = views.statuses_per_day(frames.languages.daily)
    days = views.days_covered(*(table.daily for table in frames.tables().values()))
    if len(days):
        gaps = views.missing_days(days.to_series())
        gap_text = f"; no data for {', '.join(_day(day) for day in gaps)}" if gaps else ""
        lines.append(f"- **Days covered:** {_day(days.min())} to {_day(days.max())} "
                     f"({plural(len(days), 'day')} with data{gap_text}).")
    if statuses.empty:
        lines.append("- **Statuses per day:** unknown: language_table has no daily cell.")
        lines += ["", *_notes(frames, escape)]
        return "\n".join(lines)

    per_day = ", ".join(f"{_day(day)}: {count:,}" for day, count in statuses.tail(7).items())
    lines.append(f"- **Statuses:** {statuses.sum():,} in total, {statuses.mean():,.0f} per day on average "
                 f"(last {plural(min(7, len(statuses)), 'day')} — {per_day}).")

    latest = statuses.index.max()
    total = int(statuses.loc[latest])
    lines += ["", f"### Latest day: {_day(latest)}", "", f"- Statuses: {total:,}"]
    lines.append(_leader("language", frames.languages.daily, "language", latest, total, "language_table", escape))
    lines.append(_leader("hashtag", frames.tags.daily, "tag", latest, total, "tag_table", escape, prefix="#"))
    lines.append(_leader("external link domain", frames.domains.daily, "domain", latest, total, "url_table", escape))
    media = views.media_share_by_day(frames.media.daily, frames.languages.daily)
    if latest in media.index:
        lines.append(f"- Statuses with media: {int(media.loc[latest, 'with_media']):,} "
                     f"({media.loc[latest, 'share']:.0%})")
    else:
        lines.append(f"- Statuses with media: none on {_day(latest)} (toot_with_media_table has no cell for that day)")

    users = frames.users.all_time
    if not users.empty:
        lines += ["", f"Accounts (all days): {plural(len(users), 'pseudonymous account')}; median engagement rate "
                      f"{users['engagement_rate'].median():.4f}; median followers {users['followers'].median():,.0f}."]
    lines += ["", *_notes(frames, escape)]
    return "\n".join(lines).rstrip() + "\n"


def _leader(what: str, daily: pd.DataFrame, key: str, day: pd.Timestamp, statuses: int, table: str,
            escape, prefix: str = "") -> str:
    leader = views.top_of_day(daily, key, day, 1)
    if leader.empty:
        return f"- Top {what}: none on {_day(day)} ({table} has no cell for that day)"
    name, count = leader.iloc[0][key], int(leader.iloc[0]["count"])
    return f"- Top {what}: {escape(prefix + name)} ({count:,} statuses, {_share(count, statuses)} of the day)"


def _notes(frames: LakeFrames, escape) -> list[str]:
    if not frames.notes:
        return []
    shown = list(frames.notes[:10])
    more = len(frames.notes) - len(shown)
    lines = ["**Notes from reading HBase** (a cell that does not follow docs/data-formats.md is left out "
             "and named here):", ""]
    lines += [f"- {escape(note)}" for note in shown]
    if more:
        lines.append(f"- … and {more} more (see the log of `python -m analysis`)")
    return lines
