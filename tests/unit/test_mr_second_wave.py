"""The second wave's metric jobs (apps, hours, kinds, instances, sentiment) run through mrjob on
a small curated fixture; the expected aggregates are written out by hand from the fixture."""
from __future__ import annotations

import pytest

from mapreduce.mr_apps import MRApps
from mapreduce.mr_hours import MRHours
from mapreduce.mr_instances import MRInstances
from mapreduce.mr_kinds import MRKinds
from mapreduce.mr_sentiment import MRSentiment
from tests.unit.test_mr_metrics import run, write_curated

NO_KIND = {"reply": False, "sensitive": False, "content_warning": False, "poll": False, "bot": False, "edited": False}


def _record(number, created_at, language, application, author_host, sentiment=None, links=(), **kinds):
    return {"uri": f"u{number}", "created_at": created_at, "language": language, "user": f"user{number}",
            "followers": 1, "account_month": "2024-05", "interactions": 0, "link_hosts": list(links),
            "media_types": [], "tags": [], "emojis": [], "application": application, "author_host": author_host,
            **NO_KIND, **kinds, "sentiment": sentiment,
            "sentiment_score": {"positive": 0.6, "neutral": 0.0, "negative": -0.4, None: None}[sentiment]}


CURATED = [
    _record(1, "2026-11-18T00:00:00.000Z", "en", "Elk", "alpha.example", "positive", ["example.com"]),
    _record(2, "2026-11-18T00:59:59.999Z", "en-gb", "Elk", "alpha.example", "negative", reply=True),
    _record(3, "2026-11-18T09:30:00.000Z", "fr", None, "delta.example",  # an instance we do not collect
            content_warning=True, sensitive=True, poll=True),
    _record(4, "2026-11-18T23:59:59.999Z", "en", "Ivory", "beta.example", "neutral", bot=True, edited=True,
            links=["a.example", "b.example"]),
    _record(5, "2026-11-18T09:00:00.000Z", "de", None, "delta.example", sensitive=True),
]
#: a record of a partition curated before the second wave: none of its fields
OLD_RECORD = {"uri": "u0", "created_at": "2026-11-18T12:00:00.000Z", "language": "en", "user": "user0",
              "followers": 1, "account_month": None, "interactions": 0, "link_hosts": [], "media_types": [],
              "tags": [], "emojis": []}


@pytest.fixture(scope="module")
def curated_file(tmp_path_factory):
    return write_curated(tmp_path_factory.mktemp("curated-second-wave") / "part-00000", CURATED, bad_line_at=2)


@pytest.fixture(scope="module")
def old_file(tmp_path_factory):
    return write_curated(tmp_path_factory.mktemp("curated-old") / "part-00000", [OLD_RECORD, CURATED[0]])


def test_apps_unknown_when_the_status_has_no_application(curated_file):
    output, counters = run(MRApps, curated_file)
    assert output == {"Elk": 2, "unknown": 2, "Ivory": 1}
    assert counters == {"statuses": 5, "bad_curated_line": 1}


def test_hours_are_utc_hours_with_two_digits(curated_file):
    assert run(MRHours, curated_file)[0] == {"00": 2, "09": 2, "23": 1}


def test_kinds_count_each_status_once_per_kind(curated_file):
    assert run(MRKinds, curated_file)[0] == {"all": 5, "reply": 1, "sensitive": 2, "content_warning": 1, "poll": 1,
                                              "bot": 1, "edited": 1, "with_link": 2}


def test_instances_include_those_we_do_not_collect(curated_file):
    assert run(MRInstances, curated_file)[0] == {"alpha.example": 2, "delta.example": 2, "beta.example": 1}


def test_sentiment_counts_english_statuses_only(curated_file):
    output, counters = run(MRSentiment, curated_file)
    assert output == {"positive": 1, "negative": 1, "neutral": 1}
    assert counters == {"statuses": 5, "bad_curated_line": 1, "not_english": 2}


def test_sentiment_in_subprocesses_from_the_package_zip(curated_file):
    assert run(MRSentiment, curated_file, runner="local")[0] == {"positive": 1, "negative": 1, "neutral": 1}


@pytest.mark.parametrize("job, expected", [(MRApps, {"Elk": 1}), (MRKinds, {"all": 1, "with_link": 1}),
                                           (MRInstances, {"alpha.example": 1}), (MRSentiment, {"positive": 1})])
def test_a_record_curated_before_the_second_wave_is_skipped_and_counted(old_file, job, expected):
    output, counters = run(job, old_file)
    assert output == expected
    assert counters["curated_record_without_fields"] == 1 and counters["statuses"] == 2


def test_hours_need_only_created_at(old_file):
    assert run(MRHours, old_file)[0] == {"12": 1, "00": 1}
