"""Pending days: a day whose raw partitions (or collection state) changed since it was last loaded.

The collector adds a token file ``state/pipeline/pending/dt=<day>/<token>`` for each change; the
DAG's plan reads the tokens, computes and loads those days, and the HBase stage removes exactly
the tokens that the plan read, once the day is loaded. A token added meanwhile (the hourly
collection, a retry racing a zombie) survives, so its day is processed again by the next run:
no change is ever forgotten, and a failed run leaves its days pending.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import re
import uuid

from datalake.lake import LakeLayout, delete_quietly, list_names, write_atomic

_DAY = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def mark_pending(client, layout: LakeLayout, day: dt.date, why: str) -> str:
    """A new token saying ``day`` must be recomputed; ``why`` is kept in it for an operator."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = posixpath.join(layout.pending(day), f"{now}-{uuid.uuid4().hex[:8]}")
    write_atomic(client, path, why.encode("utf-8") + b"\n")
    return path


def pending_tokens(client, layout: LakeLayout, until: dt.date | None = None) -> dict[dt.date, list[str]]:
    """Every pending day (up to ``until``) and its tokens."""
    found: dict[dt.date, list[str]] = {}
    for name in list_names(client, layout.pending_root):
        match = _DAY.match(name)
        if not match:
            continue
        day = dt.date.fromisoformat(match.group(1))
        if until is not None and day > until:
            continue
        tokens = [token for token in list_names(client, layout.pending(day)) if not token.startswith("_tmp.")]
        if tokens:
            found[day] = tokens
    return found


def clear_pending(client, layout: LakeLayout, day: dt.date, tokens: list[str]) -> int:
    """Remove the tokens a run processed; newer ones stay. Returns how many were removed."""
    for token in tokens:
        delete_quietly(client, posixpath.join(layout.pending(day), token))
    return len(tokens)


def plan_days(client, layout: LakeLayout, interval_days) -> tuple[list[dt.date], dict[dt.date, list[str]]]:
    """The days a run processes: those of its interval, and every pending day up to its end (late
    statuses, days filled after a gap, days a failed run left); with the tokens read for them."""
    interval_days = sorted(set(interval_days))
    tokens = pending_tokens(client, layout, until=interval_days[-1])
    return sorted(set(interval_days) | set(tokens)), tokens
