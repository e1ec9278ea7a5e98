"""The local stack is the real thing: WebHDFS, Hadoop Streaming (local runner and YARN), HBase."""
from __future__ import annotations

import json
import posixpath
import urllib.request
import uuid

import pytest

from mapreduce.hadoop import job_options
from tests.integration.jobs.mr_word_count import MRWordCount

TEXT = "the quick brown fox\njumps over the lazy dog\nThe End\n"
EXPECTED_COUNTS = {"the": 3, "quick": 1, "brown": 1, "fox": 1, "jumps": 1, "over": 1, "lazy": 1, "dog": 1, "end": 1}


def test_webhdfs_mkdirs_write_read_rename_list(hdfs_client, settings):
    base = posixpath.join(settings.root, "stack-check", "a", "b")
    hdfs_client.makedirs(base)
    hdfs_client.write(posixpath.join(base, "hello.txt"), data="héllo hdfs\n", encoding="utf-8")
    with hdfs_client.read(posixpath.join(base, "hello.txt"), encoding="utf-8") as reader:
        assert reader.read() == "héllo hdfs\n"
    hdfs_client.rename(posixpath.join(base, "hello.txt"), posixpath.join(base, "renamed.txt"))
    assert hdfs_client.list(base) == ["renamed.txt"]
    assert hdfs_client.status(posixpath.join(base, "renamed.txt"))["length"] == len("héllo hdfs\n".encode())


def _run_word_count(settings, hdfs_client, framework: str) -> tuple[dict, str]:
    input_path = posixpath.join(settings.root, "stack-check", f"wc-{framework}", "input.txt")
    output_dir = posixpath.join(settings.root, "stack-check", f"wc-{framework}", "output")
    hdfs_client.write(input_path, data=TEXT, encoding="utf-8", overwrite=True)
    job_name = f"datalake-stack-check-{framework}-{uuid.uuid4().hex[:8]}"
    options = job_options(settings.with_overrides(mr_framework=framework))
    job = MRWordCount(args=options.args(job_name) + [
        f"hdfs://{input_path}", "--output-dir", f"hdfs://{output_dir}"])
    with job.make_runner() as runner:
        runner.run()
    counts = {}
    for name in hdfs_client.list(output_dir):
        if name.startswith("part-"):
            with hdfs_client.read(posixpath.join(output_dir, name), encoding="utf-8") as reader:
                for line in reader.read().splitlines():
                    key, value = line.split("\t")
                    counts[json.loads(key)] = json.loads(value)
    return counts, job_name


def test_mrjob_hadoop_runner_local_job_runner_reads_and_writes_hdfs(settings, hdfs_client):
    counts, _ = _run_word_count(settings, hdfs_client, "local")
    assert counts == EXPECTED_COUNTS


def test_mrjob_hadoop_runner_on_yarn_finishes_in_resourcemanager(settings, hdfs_client):
    counts, job_name = _run_word_count(settings, hdfs_client, "yarn")
    assert counts == EXPECTED_COUNTS
    with urllib.request.urlopen("http://127.0.0.1:8088/ws/v1/cluster/apps?applicationTypes=MAPREDUCE",
                                timeout=10) as response:
        apps = json.load(response)["apps"]["app"]
    mine = [app for app in apps if app["name"] == job_name]
    assert len(mine) == 1, f"{job_name} not found among YARN applications"
    assert (mine[0]["state"], mine[0]["finalStatus"]) == ("FINISHED", "SUCCEEDED")


def test_happybase_table_with_bloom_filter_and_gz_compression(hbase_connection):
    families = {"data": dict(max_versions=1, bloom_filter_type="ROW", compression="GZ"),
                "daily": dict(max_versions=1, bloom_filter_type="ROW", compression="GZ")}
    hbase_connection.create_table("stack_check", families)
    table = hbase_connection.table("stack_check")
    with table.batch(batch_size=1000) as batch:
        for i in range(10_000):
            batch.put(f"row{i:05d}".encode(), {b"data:n": str(i).encode(), b"daily:2026-01-01": b"1"})
    rows = list(table.scan(batch_size=2000))
    assert len(rows) == 10_000
    assert rows[0] == (b"row00000", {b"data:n": b"0", b"daily:2026-01-01": b"1"})
    assert rows[-1][1][b"data:n"] == b"9999"
    descriptors = table.families()
    assert set(descriptors) == {b"data", b"daily"}
    for descriptor in descriptors.values():
        assert descriptor["bloom_filter_type"] == b"ROW"
        assert descriptor["compression"] == b"GZ"
        assert descriptor["max_versions"] == 1
