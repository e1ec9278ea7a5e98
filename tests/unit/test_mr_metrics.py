"""Each metric job run through mrjob on a small curated fixture; the expected aggregates are
written out by hand from the fixture below."""
from __future__ import annotations

import json

import pytest

from mapreduce.hadoop import package_zip
from mapreduce.mr_emojis import MREmojis
from mapreduce.mr_growth import MRGrowth
from mapreduce.mr_languages import MRLanguages
from mapreduce.mr_media import MRMedia
from mapreduce.mr_metrics import METRIC_JOBS, MRMetrics, metric_counters
from mapreduce.mr_tags import MRTags
from mapreduce.mr_urls import MRUrls
from mapreduce.mr_users import MRUsers


def _record(uri, created_at, language, user, followers, month, interactions, hosts=(), media=(), tags=(), emojis=()):
    return {"uri": f"https://alpha.example/users/x/statuses/{uri}", "created_at": created_at, "language": language,
            "user": user, "followers": followers, "account_month": month, "interactions": interactions,
            "link_hosts": list(hosts), "media_types": list(media), "tags": list(tags), "emojis": list(emojis)}


CURATED = [
    _record("u1", "2026-11-18T10:00:00.000Z", "en", "ann", 12, "2024-05", 7, ["example.com"], ["image"], ["python"],
            [":blobcat:", "😀"]),
    _record("u2", "2026-11-18T12:00:00.000Z", "en", "ann", 15, "2024-05", 0, [], [], ["fedi", "python"]),
    _record("u3", "2026-11-18T11:00:00.000Z", "und", "bob", 0, "2024-05", 3, ["example.com", "news.example"],
            ["image", "video"], [], ["😀"]),
    _record("u4", "2026-11-18T09:00:00.000Z", "zh-tw", "cy", 100, "2023-01", 1, [], ["gifv"], ["日本語"]),
    _record("u5", "2026-11-18T09:30:00.000Z", "de", "dee", 5, None, 2, ["news.example"], [], [], ["👍🏽", "😀"]),
    _record("u0", "2026-11-18T09:30:00.000Z", "de", "dee", 6, None, 1),   # same time as u5: the larger uri (u5) is later
    _record("u6", "2026-11-18T08:00:00.000Z", "en", "cy", 90, "2023-01", 4, [], ["audio", "unknown"], ["fedi"],
            [":blobcat:"]),
]


def write_curated(path, records: list, bad_line_at: int | None = None):
    """A curated part file of ``records``, with a line that is no record at ``bad_line_at``."""
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    if bad_line_at is not None:
        lines.insert(bad_line_at, "this line is not a curated record")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def curated_file(tmp_path_factory):
    return write_curated(tmp_path_factory.mktemp("curated") / "part-00000", CURATED, bad_line_at=3)


def run(job_class, path, runner="inline"):
    args = ["-r", runner, "--no-conf", str(path)]
    if runner == "local":  # tasks are subprocesses: they import the package from the zip, as on Hadoop
        args[3:3] = ["--py-files", package_zip(path.parent / "py-files")]
    job = job_class(args=args)
    with job.make_runner() as job_runner:
        job_runner.run()
        output = dict(job.parse_output(job_runner.cat_output()))
        counters = job_runner.counters()[0].get("datalake", {})
    return output, counters


def test_languages(curated_file):
    output, counters = run(MRLanguages, curated_file)
    assert output == {"en": 3, "und": 1, "zh-tw": 1, "de": 2}
    assert counters == {"statuses": 7, "bad_curated_line": 1}


def test_tags(curated_file):
    assert run(MRTags, curated_file)[0] == {"python": 2, "fedi": 2, "日本語": 1}


def test_urls(curated_file):
    assert run(MRUrls, curated_file)[0] == {"example.com": 2, "news.example": 2}


def test_emojis(curated_file):
    assert run(MREmojis, curated_file)[0] == {":blobcat:": 2, "😀": 3, "👍🏽": 1}


def test_media(curated_file):
    assert run(MRMedia, curated_file)[0] == {"toot_with_media": 4, "type:image": 2, "type:video": 1,
                                             "type:gifv": 1, "type:audio": 1, "type:unknown": 1}


EXPECTED_USERS = {
    "ann": {"followers": 15, "toots": 2, "interactions": 7},
    "bob": {"followers": 0, "toots": 1, "interactions": 3},
    "cy": {"followers": 100, "toots": 2, "interactions": 5},
    "dee": {"followers": 5, "toots": 2, "interactions": 3},
}


def test_users(curated_file):
    assert run(MRUsers, curated_file)[0] == EXPECTED_USERS


def test_users_in_subprocesses_with_combiner_and_sort(curated_file):
    output, counters = run(MRUsers, curated_file, runner="local")
    assert output == EXPECTED_USERS
    assert counters == {"statuses": 7, "bad_curated_line": 1}


def test_growth(curated_file):
    output, counters = run(MRGrowth, curated_file)
    assert output == {"2024-05": {"accounts": ["ann", "bob"]}, "2023-01": {"accounts": ["cy"]}}
    assert counters == {"statuses": 7, "bad_curated_line": 1, "account_month_missing": 2}


def test_aggregate_lines_are_json_key_tab_json_value(curated_file):
    job = MREmojis(args=["-r", "inline", "--no-conf", str(curated_file)])
    with job.make_runner() as job_runner:
        job_runner.run()
        lines = sorted(b"".join(job_runner.cat_output()).decode("utf-8").splitlines())
    assert lines == ['":blobcat:"\t2', '"\\ud83d\\udc4d\\ud83c\\udffd"\t1', '"\\ud83d\\ude00"\t3']


def test_a_status_without_user_counts_in_every_metric_but_users_and_growth(tmp_path):
    # "user": null: the author's handle broke the bad-key rule at curate (docs/data-formats.md)
    path = tmp_path / "part-00000"
    records = [_record("n1", "2026-11-18T10:00:00.000Z", "en", None, 3, "2024-05", 2, ["example.com"], ["image"],
                       ["python"], ["😀"]),
               _record("n2", "2026-11-18T11:00:00.000Z", "en", "ann", 5, "2024-05", 1)]
    path.write_text("\n".join(json.dumps(record, ensure_ascii=False) for record in records) + "\n", encoding="utf-8")
    for runner in ("inline", "local"):
        output, counters = run(MRUsers, path, runner)
        assert output == {"ann": {"followers": 5, "toots": 1, "interactions": 1}}
        assert counters == {"statuses": 2, "statuses_without_user": 1}
    output, counters = run(MRGrowth, path)
    assert output == {"2024-05": {"accounts": ["ann"]}}
    assert counters == {"statuses": 2, "statuses_without_user": 1}
    assert run(MRLanguages, path)[0] == {"en": 2}
    assert run(MRTags, path)[0] == {"python": 1}
    assert run(MRUrls, path)[0] == {"example.com": 1}
    assert run(MRMedia, path)[0] == {"toot_with_media": 1, "type:image": 1}
    assert run(MREmojis, path)[0] == {"😀": 1}


def _own_output(job_class, path) -> list[str]:
    job = job_class(args=["-r", "inline", "--no-conf", str(path)])
    with job.make_runner() as job_runner:
        job_runner.run()
        return sorted(b"".join(job_runner.cat_output()).decode("utf-8").splitlines())


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_the_metrics_job_writes_each_metric_as_its_own_job_does_and_counts_once(curated_file, runner):
    args = ["-r", runner, "--no-conf", str(curated_file)]
    if runner == "local":
        args[3:3] = ["--py-files", package_zip(curated_file.parent / "py-files")]
    job = MRMetrics(args=args)
    with job.make_runner() as job_runner:
        job_runner.run()
        lines = b"".join(job_runner.cat_output()).decode("utf-8").splitlines()
        counters = job_runner.counters()[0].get("datalake", {})
    by_metric = {}
    for line in lines:  # <metric>\t<JSON key>\t<JSON value>: KeyDirectoryOutputFormat drops the metric on Hadoop
        metric, rest = line.split("\t", 1)
        by_metric.setdefault(metric, []).append(rest)
    for name, job_class in METRIC_JOBS.items():
        assert sorted(by_metric.get(name, [])) == _own_output(job_class, curated_file), name
    # the fixture predates the second wave's fields: those metrics count its records as without them
    assert set(by_metric) == {"languages", "users", "growth", "urls", "media", "tags", "emojis", "hours"}
    assert counters["statuses"] == 7 and counters["bad_curated_line"] == 1
    assert counters["growth.account_month_missing"] == 2 and counters["languages.rows"] == 4
    assert counters["apps.curated_record_without_fields"] == 7
    assert metric_counters(counters, "growth") == {"statuses": 7, "bad_curated_line": 1, "account_month_missing": 2,
                                                   "rows": 2}


def test_the_metrics_job_computes_only_the_metrics_asked_for(curated_file):
    job = MRMetrics(args=["-r", "inline", "--no-conf", "--metrics", "tags,urls", str(curated_file)])
    with job.make_runner() as job_runner:
        job_runner.run()
        metrics = {line.split("\t", 1)[0] for line in b"".join(job_runner.cat_output()).decode().splitlines()}
    assert metrics == {"tags", "urls"}
