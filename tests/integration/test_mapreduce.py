"""The MapReduce stage on the real stack: mrjob's hadoop runner, Hadoop Streaming, HDFS.

Days are generated with tests/fixtures/mapreduce/rawday.py (3 instances, the same uri served by
several of them) and written to HDFS under the raw layout; the expected aggregates come from
the generator's plan, not from the code under test.
"""
from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import os
import posixpath
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from datalake.lake import layout, list_files
from datalake.settings import REPO_ROOT, Secret
from mapreduce.hadoop import MapReduceError, job_options, run_job
from mapreduce.mr_curate import MRCurate
from mapreduce.pipeline import METRICS, run_day
from mapreduce.records import status_key
from mapreduce.scratch import owner_tag
from tests.fixtures.mapreduce.malformed import MALFORMED, ODD_BUT_VALID
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs

KEY = "integration-secret-7f3a9c"


@pytest.fixture(scope="module")
def lake_settings(settings):
    return settings.with_overrides(mr_framework="local", pseudonymize=True, pseudonym_key=Secret(KEY))


def read_lines(client, directory: str) -> list[bytes]:
    lines = []
    for path in list_files(client, directory):
        with client.read(path) as reader:
            lines += reader.read().splitlines()
    return lines


def read_aggregates(client, lake, metric: str, day: dt.date) -> dict:
    result = {}
    for line in read_lines(client, lake.aggregates(metric, day)):
        key, value = line.split(b"\t")
        assert json.loads(key) not in result, f"{metric}: key {key!r} written twice"
        result[json.loads(key)] = json.loads(value)
    return result


def snapshot(client, directories: list[str]) -> dict[str, bytes]:
    files = {}
    for directory in directories:
        for path in list_files(client, directory):
            with client.read(path) as reader:
                files[path] = reader.read()
    return files


def zones(lake, day) -> list[str]:
    return [lake.curated(day), lake.quarantine("curate", day)] + [lake.aggregates(metric, day) for metric in METRICS]


def _files_under(directory: Path):
    for root, _, names in os.walk(directory):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def _pseudonym_temp_files() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("datalake-pseudonym-")}


def test_a_day_on_hadoop_local_runner_gives_the_planned_aggregates_and_reruns_identically(lake_settings, hdfs_client):
    day = dt.date(2026, 11, 18)
    lake = layout(lake_settings)
    generated = generate_day(day, 240, pseudonym_key=KEY.encode(), seed=11)
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=2)
    temp_files_before = _pseudonym_temp_files()

    report = run_day(lake_settings, day)

    expected = generated.expected
    assert [job.name for job in report.jobs] == ["curate", "parquet", *METRICS]
    assert all(job.status == "succeeded" for job in report.jobs)
    assert report.raw_lines == expected.raw_lines
    assert report.curated == expected.curated
    assert report.noindex_skipped == expected.noindex_statuses
    assert report.quarantined == 0
    curate = report.job("curate").counters["datalake"]
    assert curate["noindex_copies"] == expected.noindex_copies
    assert curate["duplicate_copies"] == expected.raw_lines - expected.curated - expected.noindex_copies > 0
    for metric in METRICS:
        assert read_aggregates(hdfs_client, lake, metric, day) == expected.metric(metric), metric
        assert report.job(metric).counters["datalake"]["statuses"] == expected.curated

    curated = [json.loads(line) for line in read_lines(hdfs_client, lake.curated(day))]
    assert len(curated) == len({record["uri"] for record in curated}) == expected.curated
    # curated uris are pseudonyms (a status uri names its author): HMAC-SHA256(key, uri)[:32]
    assert not {record["uri"] for record in curated} & {status_key(uri, KEY.encode()) for uri in generated.noindex_uris}
    assert all(len(record["uri"]) == 32 and "/" not in record["uri"] for record in curated)
    assert all(len(record["user"]) == 16 and "@" not in record["user"] for record in curated)
    assert read_lines(hdfs_client, lake.quarantine("curate", day)) == []
    assert hdfs_client.status(lake.quarantine("curate", day), strict=False) is not None

    # the key went through the distributed cache only: in no lake file, scratch file or log
    lake_files = snapshot(hdfs_client, zones(lake, day) + [lake.curated_parquet(day)])
    assert not [path for path, data in lake_files.items() if KEY.encode() in data]
    local_dirs = [Path(job_options(lake_settings).local_tmp_dir), Path(lake_settings.mr_log_dir)]
    assert not [path for directory in local_dirs for path in _files_under(directory) if KEY.encode() in path.read_bytes()]
    assert _pseudonym_temp_files() <= temp_files_before
    assert hdfs_client.list(posixpath.join(lake_settings.root, "_work")) == []

    # rerunning the day gives the same files, byte for byte
    run_day(lake_settings, day)
    assert snapshot(hdfs_client, zones(lake, day) + [lake.curated_parquet(day)]) == lake_files


def test_malformed_corpus_mixed_into_a_day_is_quarantined_exactly(lake_settings, hdfs_client):
    day = dt.date(2026, 11, 20)
    lake = layout(lake_settings)
    generated = generate_day(day, 120, pseudonym_key=KEY.encode(), seed=23)
    instances = list(generated.lines)
    extra = collections.defaultdict(list)
    for number, (bad_line, _) in enumerate(MALFORMED):
        extra[instances[number % len(instances)]].append(bad_line)
    extra[instances[0]] += [odd for odd, _ in ODD_BUT_VALID]   # uris of alpha.example
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=2, extra=extra)

    report = run_day(lake_settings, day)

    counters = report.job("curate").counters["datalake"]
    good_lines = generated.expected.raw_lines + len(ODD_BUT_VALID)
    assert counters["raw_lines"] == good_lines + len(MALFORMED)
    assert counters["quarantined"] == len(MALFORMED) >= 50
    reasons = collections.Counter(reason for _, reason in MALFORMED)
    assert {name: counters.get(name, 0) for name in reasons} == dict(reasons)
    # every good line is accounted for
    assert counters["curated_statuses"] == generated.expected.curated + len(ODD_BUT_VALID)
    assert counters["curated_statuses"] + counters["duplicate_copies"] + counters["noindex_copies"] == good_lines

    quarantine = [json.loads(line) for line in read_lines(hdfs_client, lake.quarantine("curate", day))]
    assert sorted((record["reason"], record["line"]) for record in quarantine) == sorted(
        (reason, bad_line.decode("utf-8", "backslashreplace")) for bad_line, reason in MALFORMED)
    for record in quarantine:
        assert record["source"].startswith(f"hdfs://") and f"/dt={day}/part-" in record["source"]
    # the metrics still ran on the good records
    assert sum(read_aggregates(hdfs_client, lake, "languages", day).values()) == counters["curated_statuses"]
    assert all(job.status == "succeeded" for job in report.jobs)


def test_a_day_without_raw_input_gives_empty_partitions_and_says_so(lake_settings, hdfs_client, caplog):
    day = dt.date(2026, 11, 21)
    lake = layout(lake_settings)
    with caplog.at_level(logging.INFO, logger="mapreduce"):
        report = run_day(lake_settings, day)
    assert {job.name: job.status for job in report.jobs} == {"curate": "no-input", "parquet": "succeeded",
                                                             **{m: "no-input" for m in METRICS}}
    assert report.raw_lines == report.curated == 0
    for directory in zones(lake, day):
        assert hdfs_client.status(directory, strict=False) is not None, directory
        assert list_files(hdfs_client, directory) == [], directory
    assert any("no raw input" in record.getMessage() for record in caplog.records)


def test_the_next_run_removes_what_a_killed_run_left_in_the_lake(lake_settings, hdfs_client):
    """A SIGKILL skips every ``finally``: the work dir of the dead run, and the old copy of a partition
    that a swap killed between its two renames put aside, go with the next run; a live run's stays."""
    day = dt.date(2026, 11, 23)
    lake = layout(lake_settings)
    # the owner tag of a process that has ended, as a killed run's work dir carries it
    dead = subprocess.run([sys.executable, "-c", "from mapreduce.scratch import owner_tag; print(owner_tag())"],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    killed = lake.work(f"{dead}+mapreduce-{day}-0a0a0a")
    live = lake.work(f"{owner_tag()}+mapreduce-{day}-0b0b0b")
    zone = lake.aggregates("languages", day)
    aside = posixpath.join(posixpath.dirname(zone), f"_tmp.{posixpath.basename(zone)}.0c0c0c0c0c0c.old")
    for directory in (killed, live, aside):
        hdfs_client.write(posixpath.join(directory, "part-00000"), data=b'"en"\t1\n', overwrite=True)

    run_day(lake_settings, day)

    assert hdfs_client.status(killed, strict=False) is None
    assert hdfs_client.status(aside, strict=False) is None
    assert hdfs_client.status(live, strict=False) is not None
    hdfs_client.delete(live, recursive=True)


def test_a_failing_job_raises_mapreduce_error_naming_the_job_and_its_log(lake_settings, hdfs_client):
    day = dt.date(2026, 11, 22)
    lake = layout(lake_settings)
    write_day_to_hdfs(hdfs_client, lake, generate_day(day, 5, seed=3), parts_per_instance=1)
    output = lake.work("failing-curate")
    log_dir = Path(lake_settings.mr_log_dir)
    with pytest.raises(MapReduceError) as caught:
        # pseudonymization asked for, but no key shipped: the tasks fail
        run_job(MRCurate, lake_settings, name="curate", job_name="datalake-failing-curate",
                inputs=[lake.raw_day_glob(day)], output_dir=output, log_file=log_dir / "test-failing-curate.log",
                extra_args=["--pseudonymize", "1"])
    message = str(caught.value)
    assert "MapReduce job curate" in message and "failed" in message
    assert f"log: {log_dir / 'test-failing-curate.log'}" in message
    assert "cause: RuntimeError: curate: pseudonymization is on but ./pseudonym.key cannot be read" in message


def test_a_day_on_yarn(lake_settings, hdfs_client):
    day = dt.date(2026, 11, 19)
    settings = lake_settings.with_overrides(mr_framework="yarn")
    lake = layout(settings)
    generated = generate_day(day, 80, pseudonym_key=KEY.encode(), seed=17)
    write_day_to_hdfs(hdfs_client, lake, generated, parts_per_instance=1)

    report = run_day(settings, day)

    assert report.framework == "yarn"
    assert report.curated == generated.expected.curated
    for metric in METRICS:
        assert read_aggregates(hdfs_client, lake, metric, day) == generated.expected.metric(metric), metric
    for job in (job for job in report.jobs if job.name != "parquet"):  # the Parquet copy is no Hadoop job
        assert job.job_id, job.name
        application = job.job_id.replace("job_", "application_", 1)
        with urllib.request.urlopen(f"http://127.0.0.1:8088/ws/v1/cluster/apps/{application}", timeout=10) as response:
            app = json.load(response)["app"]
        assert app["name"] == f"datalake-{'curate' if job.name == 'curate' else 'metrics'}-{day}"
        assert (app["state"], app["finalStatus"]) == ("FINISHED", "SUCCEEDED"), job.name
    # the job configuration (shown by JobHistory) does not hold the pseudonym key
    job_id = report.job("curate").job_id
    assert job_id and job_id.startswith("job_")
    url = f"http://127.0.0.1:19888/ws/v1/history/mapreduce/jobs/{job_id}/conf"
    with urllib.request.urlopen(url, timeout=30) as response:
        conf = response.read()
    assert b"pseudonym.key" in conf          # the file's name is there: the conf is the real one
    assert KEY.encode() not in conf
    # the staged key is gone from HDFS, and YARN did not put it in the node's PUBLIC cache
    key_dir = settings.mr_key_dir.format(user=settings.hdfs_user)
    assert hdfs_client.list(key_dir) == []
    assert hdfs_client.status(key_dir)["permission"] == "700"
    public_cache = REPO_ROOT / "var" / "yarn" / "local" / "filecache"
    assert public_cache.is_dir(), "the NodeManager's local dir moved: update this test"
    assert not [path for path in _files_under(public_cache) if KEY.encode() in path.read_bytes()]
