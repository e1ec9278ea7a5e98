"""Raw retention: which dt= partitions are old enough to delete (pure), and the report."""
from __future__ import annotations

import datetime as dt

import pytest

from privacy.retention import (Partition, RetentionReport, apply_raw_retention, expired, partition_day,
                                retention_cutoff)
from datalake.settings import ConfigError, Settings

TODAY = dt.date(2026, 12, 1)


def test_cutoff_keeps_exactly_n_days_before_today():
    assert retention_cutoff(TODAY, 30) == dt.date(2026, 11, 1)
    assert retention_cutoff(TODAY, 1) == dt.date(2026, 11, 30)
    with pytest.raises(ValueError):
        retention_cutoff(TODAY, 0)


def test_expired_deletes_only_days_before_the_cutoff():
    names = [f"dt={(TODAY - dt.timedelta(days=age)).isoformat()}" for age in range(0, 40)]
    old = expired(names, TODAY, 30)
    assert old == sorted(f"dt={(TODAY - dt.timedelta(days=age)).isoformat()}" for age in range(31, 40))
    assert "dt=2026-11-01" not in old and "dt=2026-10-31" in old  # 30 days old is kept, 31 is not
    assert len(names) - len(old) == 31  # today and the 30 days before it


def test_expired_leaves_anything_that_is_not_a_dt_partition_or_a_copy_of_one():
    names = ["dt=2020-01-01", "_tmp.dt=2020-01-01", "dt=2020-02-30", "dt=garbage", "dt=2020-1-1", "other",
             ".hidden", "dt=2020-01-01.old", "_tmp.dt=2020-02-30.0a1b2c.old", "_tmp.part-1-2.jsonl.gz"]
    assert expired(names, TODAY, 30) == ["dt=2020-01-01"]
    assert partition_day("dt=2020-02-30") is None


def test_a_copy_a_killed_directory_swap_left_expires_with_its_day():
    # datalake.lake.replace_directory renames the old partition to _tmp.dt=<day>.<random>.old first
    names = ["_tmp.dt=2020-01-01.0a1b2c3d4e5f.old", "_tmp.dt=2020-01-02.0a1b2c3d4e5f", "dt=2020-01-03",
             f"_tmp.dt={TODAY.isoformat()}.0a1b2c3d4e5f.old"]
    assert expired(names, TODAY, 30) == names[:3]
    assert partition_day(names[0]) == dt.date(2020, 1, 1)


def test_zero_days_is_off():
    assert expired(["dt=2000-01-01"], TODAY, 0) == []
    report = RetentionReport(TODAY, 0)
    assert not report.enabled and report.cutoff is None
    assert "off" in report.format() and "nothing deleted" in report.format()


def test_off_or_negative_never_touches_hdfs():
    # an unreachable WebHDFS: retention off must return without a call, a negative value must refuse
    settings = Settings(webhdfs_url="http://127.0.0.1:9", raw_retention_days=0)
    assert apply_raw_retention(settings, TODAY).deleted == []
    with pytest.raises(ConfigError, match="negative"):
        apply_raw_retention(settings, TODAY, retention_days=-1)


def test_report_lists_each_deletion():
    report = RetentionReport(TODAY, 30, dry_run=True, kept=31, deleted=[
        Partition("raw", "/datalake/raw/mastodon/instance=a.example/dt=2026-10-01", dt.date(2026, 10, 1), 2, 1234)])
    text = report.format()
    assert "keeping dt >= 2026-11-01" in text
    assert "would delete /datalake/raw/mastodon/instance=a.example/dt=2026-10-01 (2 file(s), 1,234 bytes)" in text
    assert "dry run" in text
    assert report.to_dict()["deleted"][0]["day"] == "2026-10-01"
