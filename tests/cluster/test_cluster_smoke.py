"""The cluster is a real multi-node cluster: data and work land on every node.

* A file written through WebHDFS (which redirects the write to a DataNode by its address) has
  every block on both DataNodes, as the NameNode's block locations and JMX say.
* An mrjob job run by the project's runner on YARN ran containers on both NodeManagers (the
  ResourceManager's applications and the JobHistory server's task attempts).
* A pre-split table (HBase's own RegionSplitter) has regions on both region servers, and rows
  written and read through happybase over the cluster's Thrift server reach every region.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import subprocess
import time
import uuid

from mapreduce.hadoop import run_job
from tests.cluster import nodes
from tests.integration.jobs.mr_word_count import MRWordCount

WORDS = "alpha beta gamma delta epsilon zeta eta theta".split()


def test_webhdfs_write_with_replication_2_puts_every_block_on_both_datanodes(settings, hdfs_client):
    path = posixpath.join(settings.root, "smoke", "three-blocks.bin")
    data = bytes(range(256)) * (3 * 4096 + 17)  # a little over 3 MiB: four 1 MiB blocks
    hdfs_client.write(path, data=data, overwrite=True, replication=2, blocksize=1 << 20)
    blocks = nodes.block_hosts(settings, path)
    assert len(blocks) == 4
    assert all(replicas == sorted(nodes.hosts("datanode")) for replicas in blocks), blocks
    with hdfs_client.read(path) as reader:
        assert reader.read() == data
    # the NameNode's JMX counts the blocks on each DataNode too
    live = nodes.live_datanodes()
    assert {name.split(":")[0] for name in live} == nodes.hosts("datanode")
    assert all(info["numBlocks"] >= len(blocks) for info in live.values()), live


def test_mrjob_job_on_yarn_runs_containers_on_both_nodemanagers(settings, hdfs_client, tmp_path):
    base = posixpath.join(settings.root, "smoke", "wordcount")
    expected = {}
    for part in range(4):  # four input files: four map tasks
        words = [WORDS[(part * 3 + i) % len(WORDS)] for i in range(400 + part)]
        hdfs_client.write(posixpath.join(base, "input", f"part-{part}.txt"), data=" ".join(words) + "\n",
                          encoding="utf-8", overwrite=True)
        for word in words:
            expected[word] = expected.get(word, 0) + 1
    started = time.time()
    job_name = f"datalake-cluster-smoke-{uuid.uuid4().hex[:8]}"
    # not in uber mode, so that the tasks get containers of their own
    run = run_job(MRWordCount, settings, name="wordcount", job_name=job_name, inputs=[posixpath.join(base, "input")],
                  output_dir=posixpath.join(base, "output"), log_file=tmp_path / "wordcount.log", reducers=2,
                  jobconf={"mapreduce.job.ubertask.enable": "false"})
    counts = {}
    for name in hdfs_client.list(posixpath.join(base, "output")):
        if name.startswith("part-"):
            with hdfs_client.read(posixpath.join(base, "output", name), encoding="utf-8") as reader:
                for line in reader.read().splitlines():
                    word, count = line.split("\t")
                    counts[json.loads(word)] = json.loads(count)
    assert counts == expected
    apps = [app for app in nodes.applications_since(started) if app["name"] == job_name]
    assert len(apps) == 1 and (apps[0]["state"], apps[0]["finalStatus"]) == ("FINISHED", "SUCCEEDED"), apps
    assert apps[0]["id"].replace("application_", "job_", 1) == run.job_id
    per_node = nodes.containers_per_nodemanager(apps)
    print(f"containers per NodeManager: {dict(per_node)}")
    assert sum(per_node.values()) >= 1 + 4 + 2  # the ApplicationMaster, four maps, two reduces (and retries)
    assert set(per_node) == nodes.hosts("nodemanager"), per_node


def test_presplit_table_has_regions_on_both_region_servers_and_happybase_reaches_them(settings, hbase_connection,
                                                                                    tmp_path):
    table_name = "presplit"
    full_name = f"{settings.table_prefix}_{table_name}"
    client_conf = nodes.stackctl.CLUSTER_CLIENT / "conf"
    command = nodes.stackctl.java_cmd("256m", nodes.stackctl.HBASE_LIB, client_conf / "hbase",
                                      "org.apache.hadoop.hbase.util.RegionSplitter", full_name, "HexStringSplit",
                                      "-c", "4", "-f", "data", log_dir=tmp_path, classpath=[client_conf / "hadoop"])
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    table = hbase_connection.table(table_name)
    regions = table.regions()
    assert len(regions) == 4
    per_server = nodes.regions_per_server(hbase_connection, [table_name])
    print(f"regions per region server: {dict(per_server)}")
    assert set(per_server) == nodes.hosts("regionserver"), regions

    rows = {hashlib.md5(str(i).encode()).hexdigest().encode(): str(i).encode() for i in range(2000)}
    with table.batch(batch_size=500) as batch:
        for row, value in rows.items():
            batch.put(row, {b"data:n": value})
    assert {row: data[b"data:n"] for row, data in table.scan(batch_size=1000)} == rows
    for region in regions:  # every region (so both servers) holds some of the rows
        scanned = list(table.scan(row_start=region["start_key"] or None, row_stop=region["end_key"] or None,
                                  batch_size=1000))
        assert scanned, f"region {region['name']!r} on {region['server_name']!r} holds no row"
