"""Hostile input on the real stack (issue 17): no single status and no damaged file keeps a day
out of the lake or out of HBase.

Days come from tests/fixtures/mapreduce/rawday.py (their expected aggregates from the generator's
plan); the hostile records from tests/fixtures/mapreduce/hostile.py. Each test runs curate and
the metric jobs (Hadoop's local job runner against HDFS), and the HBase loader where it says so.
"""
from __future__ import annotations

import collections
import datetime as dt
import gzip
import json
import posixpath

import pytest

from datalake.lake import layout, list_files
from datalake.settings import Secret
from hbase.loader import load_day
from mapreduce.pipeline import run_day
from mapreduce.rawcheck import QUARANTINE_STAGE
from mapreduce.records import status_key, user_key
from tests.fixtures.mapreduce.hostile import CURATED, HOSTILE, check_outcomes
from tests.fixtures.mapreduce.rawday import generate_day, gzip_lines, write_day_to_hdfs
from tests.fixtures.mapreduce.statuses import line, link, status
from tests.integration.test_mapreduce import read_aggregates, read_lines

KEY = "hostile-input-key-5c1e"
COUNT_METRICS = ("languages", "tags", "urls", "emojis", "media")


@pytest.fixture(scope="module")
def hostile_settings(settings):
    return settings.with_overrides(root=posixpath.join(settings.root, "hostile"), mr_framework="local",
                                   table_prefix=f"{settings.table_prefix}_hostile", pseudonymize=True,
                                   pseudonym_key=Secret(KEY))


def metric_keys(record: dict, metric: str) -> list[str]:
    """The keys a curated record counts for, as docs/data-formats.md says (for the expected deltas)."""
    if metric == "languages":
        return [record["language"]]
    if metric == "media":
        return ["toot_with_media"] + [f"type:{kind}" for kind in record["media_types"]] if record["media_types"] else []
    return record[{"tags": "tags", "urls": "link_hosts", "emojis": "emojis"}[metric]]


def assert_good_records_intact(client, lake, day, generated, extra_records: list[dict]) -> None:
    """The day's aggregates are the plan's plus exactly what ``extra_records`` (curated records of
    the hostile statuses) add: the good statuses count as on a day without the hostile ones."""
    for metric in COUNT_METRICS:
        expected = collections.Counter(generated.expected.metric(metric))
        for record in extra_records:
            expected.update(metric_keys(record, metric))
        assert read_aggregates(client, lake, metric, day) == dict(expected), metric
    extra_users = {record["user"] for record in extra_records}
    users = read_aggregates(client, lake, "users", day)
    assert {user: value for user, value in users.items() if user not in extra_users} == generated.expected.metric("users")


def test_one_hostile_status_no_longer_keeps_the_day_out_of_hbase(hostile_settings, hdfs_client):
    """A 40,000-byte link host (over HBase's 32,767-byte row key limit) and a 2,000-byte tag: the
    loader used to refuse the urls aggregate, so the day failed on every retry."""
    day = dt.date(2026, 10, 3)
    lake = layout(hostile_settings)
    generated = generate_day(day, 60, pseudonym_key=KEY.encode(), seed=31)
    long_host = "h" * 39_992 + ".example"
    hostile = status(local_id="113900000000000001", uri="https://alpha.example/users/eve/statuses/1", acct="eve",
                     host="alpha.example", language="en", tags=["t" * 2000, "ok"], media=["image"],
                     content="<p>" + link(f"https://{long_host}/") + " " + link("https://fine.example/") + "</p>")
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=1, extra={"alpha.example": [line(hostile)]})

    report = run_day(hostile_settings, day)
    curate = report.job("curate").counters["datalake"]
    assert (curate["bad_key"], curate["bad_key:link_host"], curate["bad_key:tag"]) == (2, 1, 1)
    assert report.curated == generated.expected.curated + 1 and report.quarantined == 0
    # the status still counts everywhere else
    eve = {"language": "en", "tags": ["ok"], "link_hosts": ["fine.example"], "media_types": ["image"],
           "emojis": [], "user": user_key("eve@alpha.example", KEY.encode())}
    assert_good_records_intact(hdfs_client, lake, day, generated, [eve])

    loaded = load_day(hostile_settings, day)
    assert loaded.table("url_table").rows == len(generated.expected.urls) + 1
    assert loaded.table("tag_table").rows == len(set(generated.expected.tags) | {"ok"})


def test_the_hostile_corpus_on_the_stack_is_counted_or_quarantined_and_the_day_loads(hostile_settings, hdfs_client):
    day = dt.date(2026, 10, 4)
    lake = layout(hostile_settings)
    generated = generate_day(day, 150, pseudonym_key=KEY.encode(), seed=37)
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=2,
                      extra={"alpha.example": [entry.line for entry in HOSTILE]})

    report = run_day(hostile_settings, day)

    counters = report.job("curate").counters["datalake"]
    quarantine = [json.loads(value) for value in read_lines(hdfs_client, lake.quarantine("curate", day))]
    curated = [json.loads(value) for value in read_lines(hdfs_client, lake.curated(day))]
    figures, problems = check_outcomes(quarantine, curated, counters,
                                       curated_uri=lambda uri: status_key(uri, KEY.encode()))
    assert problems == []
    print(f"\nhostile corpus on the stack: {len(HOSTILE)} records tried, "
          f"{sum(v for k, v in counters.items() if k.startswith('error:'))} crashes; outcomes {figures}; "
          f"bad keys { {k: v for k, v in counters.items() if k.startswith('bad_key')} }")
    assert counters["raw_lines"] == generated.expected.raw_lines + len(HOSTILE)
    hostile_uris = {status_key(entry.uri, KEY.encode()) for entry in HOSTILE if CURATED in entry.outcomes}
    hostile_records = [record for record in curated if record["uri"] in hostile_uris]
    assert len(hostile_records) == figures[CURATED]
    assert_good_records_intact(hdfs_client, lake, day, generated, hostile_records)
    assert all(job.status == "succeeded" for job in report.jobs)

    loaded = load_day(hostile_settings, day)
    assert loaded.table("language_table").rows == len(read_aggregates(hdfs_client, lake, "languages", day))


def _parts(client, lake, instance: str, day: dt.date) -> list[str]:
    return [path for path in list_files(client, lake.raw_partition(instance, day)) if path.endswith(".gz")]


def test_a_damaged_gzip_part_is_quarantined_with_its_path_and_the_day_completes(hostile_settings, hdfs_client):
    day = dt.date(2026, 10, 5)
    lake = layout(hostile_settings)
    generated = generate_day(day, 200, pseudonym_key=KEY.encode(), seed=41)
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=3)
    # one part cut short (a crashed copy), one with garbage after a valid gzip header
    truncated, garbled = _parts(hdfs_client, lake, "alpha.example", day)[1], _parts(hdfs_client, lake, "beta.example", day)[0]
    with hdfs_client.read(truncated) as reader:
        truncated_data = reader.read()
    truncated_lines = gzip.decompress(truncated_data).splitlines()
    hdfs_client.write(truncated, data=truncated_data[:len(truncated_data) * 2 // 3], overwrite=True)
    with hdfs_client.read(garbled) as reader:
        garbled_lines = gzip.decompress(reader.read()).splitlines()
    hdfs_client.write(garbled, data=gzip_lines([b"x"])[:10] + bytes(range(256)) * 20, overwrite=True)
    good_parts = [path for instance in generated.lines for path in _parts(hdfs_client, lake, instance, day)
                  if path not in (truncated, garbled)]
    good_uris = set()
    for path in good_parts:
        with hdfs_client.read(path) as reader:
            good_uris |= {json.loads(value)["uri"] for value in gzip.decompress(reader.read()).splitlines()}

    report = run_day(hostile_settings, day)

    assert all(job.status == "succeeded" for job in report.jobs)
    assert {part.path: part.damage.split(":")[0].split(" ")[0] for part in report.damaged_parts} == {
        truncated: "truncated", garbled: "corrupt"}
    assert "DAMAGED raw part" in report.format() and report.to_dict()["damaged_parts"]
    # every status of the good parts is curated, and nothing else
    curated = {json.loads(value)["uri"] for value in read_lines(hdfs_client, lake.curated(day))}
    assert curated == {status_key(uri, KEY.encode()) for uri in good_uris - generated.noindex_uris}
    # the damaged parts left the raw zone for the quarantine, with their paths and what could be read
    assert not {truncated, garbled} & set(_parts(hdfs_client, lake, "alpha.example", day)
                                          + _parts(hdfs_client, lake, "beta.example", day))
    quarantined = {}
    for path in list_files(hdfs_client, lake.quarantine(QUARANTINE_STAGE, day)):
        with hdfs_client.read(path) as reader:
            quarantined[posixpath.basename(path)] = [json.loads(value) for value in reader.read().splitlines()]
    truncated_records = quarantined[f"instance=alpha.example.{posixpath.basename(truncated)[:-3]}"]
    assert truncated_records[0]["source"] == truncated and truncated_records[0]["damage"].startswith("truncated")
    recovered = [record["line"].encode() for record in truncated_records[1:]]
    assert 0 < len(recovered) < len(truncated_lines)
    assert recovered[:-1] == truncated_lines[:len(recovered) - 1]      # the last one is cut short
    assert truncated_lines[len(recovered) - 1].startswith(recovered[-1])
    garbled_records = quarantined[f"instance=beta.example.{posixpath.basename(garbled)[:-3]}"]
    assert [(record["source"], record["lines_recovered"]) for record in garbled_records] == [(garbled, 0)]
    assert garbled_lines  # what the part held is gone with its bytes: only a re-collection brings it back

    # a rerun of the day finds nothing more to quarantine and gives the same curated zone
    again = run_day(hostile_settings, day, metrics=[])
    assert again.damaged_parts == [] and again.curated == report.curated
    assert sorted(list_files(hdfs_client, lake.quarantine(QUARANTINE_STAGE, day))) == sorted(
        posixpath.join(lake.quarantine(QUARANTINE_STAGE, day), name) for name in quarantined)
