"""Mastodon ids <-> time: the arithmetic that turns a data interval into min_id bounds."""
from __future__ import annotations

import datetime as dt

import pytest
from mastodon import Mastodon

from collection.collector import day_interval, days_between
from collection.errors import CollectionError
from collection.stage import interval_of
from collection.snowflake import (UTC, first_id_at, format_timestamp, id_range, id_to_datetime, make_id,
                                  parse_timestamp, to_epoch_ms)

MIDNIGHT = dt.datetime(2026, 11, 18, tzinfo=UTC)


def test_an_id_is_the_millisecond_time_shifted_by_16_bits_plus_a_sequence():
    # 2026-11-18T00:00:00Z = 1794960000000 ms since the epoch
    assert to_epoch_ms(MIDNIGHT) == 1_794_960_000_000
    assert make_id(1_794_960_000_000, 0) == 1_794_960_000_000 << 16
    assert make_id(1_794_960_000_000, 65535) == (1_794_960_000_000 << 16) + 65535
    with pytest.raises(ValueError):
        make_id(1_794_960_000_000, 65536)


def test_id_to_datetime_reads_the_time_back_at_millisecond_precision():
    moment = dt.datetime(2026, 11, 18, 10, 11, 12, 345000, tzinfo=UTC)
    status_id = make_id(to_epoch_ms(moment), 4242)
    assert id_to_datetime(status_id) == moment
    assert id_to_datetime(str(status_id)) == moment


def test_first_id_at_agrees_with_mastodon_py_datetime_conversion():
    api = Mastodon(api_base_url="http://127.0.0.1:1", version_check_mode="none")
    converted = api._Mastodon__unpack_id(MIDNIGHT, dateconv=True)  # what timeline(min_id=datetime) sends
    assert converted == first_id_at(MIDNIGHT)


def test_id_range_of_a_day_holds_its_first_and_last_millisecond_and_nothing_else():
    start, end = day_interval(dt.date(2026, 11, 18))
    first, after = id_range(start, end)
    first_ms, last_ms = to_epoch_ms(start), to_epoch_ms(end) - 1
    assert first == make_id(first_ms, 0)
    assert first <= make_id(first_ms, 0) < after
    assert make_id(last_ms, 65535) < after
    assert make_id(last_ms + 1, 0) == after
    assert make_id(first_ms - 1, 65535) < first


def test_id_range_refuses_an_empty_interval():
    with pytest.raises(ValueError, match="empty data interval"):
        id_range(MIDNIGHT, MIDNIGHT)


def test_naive_datetimes_are_taken_as_utc_and_offsets_are_converted():
    naive = dt.datetime(2026, 11, 18)
    paris = dt.datetime(2026, 11, 18, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert first_id_at(naive) == first_id_at(MIDNIGHT) == first_id_at(paris)


def test_mastodon_timestamps_round_trip():
    assert format_timestamp(dt.datetime(2026, 11, 18, 10, 0, 0, 7000, tzinfo=UTC)) == "2026-11-18T10:00:00.007Z"
    assert parse_timestamp("2026-11-18T10:00:00.007Z") == dt.datetime(2026, 11, 18, 10, 0, 0, 7000, tzinfo=UTC)
    assert parse_timestamp("2026-11-18T11:00:00+01:00") == dt.datetime(2026, 11, 18, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_day_interval_and_the_days_an_interval_touches():
    start, end = day_interval(dt.date(2026, 11, 18))
    assert (start, end) == (MIDNIGHT, MIDNIGHT + dt.timedelta(days=1))
    assert days_between(dt.date(2026, 11, 18), dt.date(2026, 11, 20)) == [
        dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    # the stage's days are one contiguous interval
    assert interval_of([dt.date(2026, 11, 19), dt.date(2026, 11, 18)]) == (MIDNIGHT, MIDNIGHT + dt.timedelta(days=2))
    with pytest.raises(CollectionError, match="not contiguous"):
        interval_of([dt.date(2026, 11, 18), dt.date(2026, 11, 20)])


def test_airflow_pendulum_datetimes_give_the_same_ids():
    import pendulum

    start = pendulum.datetime(2026, 11, 18, tz="Europe/Paris").in_timezone("UTC")  # 2026-11-17T23:00Z
    assert first_id_at(start) == first_id_at(dt.datetime(2026, 11, 17, 23, tzinfo=UTC))
    assert day_interval(start.date())[0] == dt.datetime(2026, 11, 17, tzinfo=UTC)
