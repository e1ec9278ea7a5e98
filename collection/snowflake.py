"""Mastodon status ids and time.

A Mastodon id is a "snowflake": the high 48 bits are the creation time in milliseconds since
the Unix epoch, the low 16 bits a per-millisecond sequence (Mastodon's ``timestamp_id`` and
``Mastodon::Snowflake.id_at``). Ids are decimal strings in the API; compare them as integers.
So a time range is an id range, which is how the collector turns a run's data interval into
``min_id`` bounds without asking the server.

A remote status that arrives after it was published gets ``id_at(created_at)``: the second of
``created_at`` plus random milliseconds and sequence. Its id therefore lies in the same whole
second as its ``created_at``, and an interval between whole seconds (a UTC day) holds exactly
the statuses created in it.
"""
from __future__ import annotations

import datetime as dt

SEQUENCE_BITS = 16
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as a plain UTC datetime; a naive one is taken to be UTC (as Mastodon.py does).

    Plain, because Airflow hands over pendulum DateTimes, whose arithmetic differs.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return dt.datetime(moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
                       moment.microsecond, tzinfo=UTC)


def to_epoch_ms(moment: dt.datetime) -> int:
    delta = as_utc(moment) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_epoch_ms(epoch_ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=epoch_ms)


def make_id(epoch_ms: int, sequence: int = 0) -> int:
    if not 0 <= sequence <= SEQUENCE_MASK:
        raise ValueError(f"snowflake sequence {sequence} is outside 0..{SEQUENCE_MASK}")
    return (epoch_ms << SEQUENCE_BITS) | sequence


def first_id_at(moment: dt.datetime) -> int:
    """The smallest id a status created at ``moment`` (or later) can have."""
    return make_id(to_epoch_ms(moment))


def id_epoch_ms(status_id: int | str) -> int:
    return int(status_id) >> SEQUENCE_BITS


def id_to_datetime(status_id: int | str) -> dt.datetime:
    """The creation time encoded in an id (millisecond precision, UTC)."""
    return from_epoch_ms(id_epoch_ms(status_id))


def id_range(interval_start: dt.datetime, interval_end: dt.datetime) -> tuple[int, int]:
    """Ids of statuses created in [interval_start, interval_end): (first possible id, first id after).

    ``min_id`` is exclusive in Mastodon's API, so paging an interval from its start uses
    ``min_id = first - 1``.
    """
    first, after = first_id_at(interval_start), first_id_at(interval_end)
    if after <= first:
        raise ValueError(f"empty data interval [{interval_start.isoformat()}, {interval_end.isoformat()})")
    return first, after


def format_timestamp(moment: dt.datetime) -> str:
    """Mastodon's wire format for times: ISO 8601, UTC, milliseconds, ``Z``."""
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: str) -> dt.datetime:
    """Parse an API time such as ``2026-11-18T10:00:00.000Z`` (any ISO 8601 offset) into UTC."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    return as_utc(moment)
