"""The multi-node cluster as its tests see it.

The project's code reaches the cluster by configuration alone (var/cluster/env.sh); only the
tests know it is a cluster. They ask its masters where things went, through these helpers:

* HDFS: the NameNode's WebHDFS ``GET_BLOCK_LOCATIONS``, the DataNodes holding each block;
* YARN: the ResourceManager's ``/ws/v1/cluster/apps`` and the JobHistory server's task attempts,
  the NodeManagers that ran each application's containers;
* HBase: Thrift ``getTableRegions`` (happybase ``Table.regions()``), the region server of each region;

and they kill (SIGKILL) and restart nodes through stack/stackctl.py's cluster profile.
"""
from __future__ import annotations

import collections
import importlib.util
import json
import os
import posixpath
import signal
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_stackctl():
    if "stackctl" not in sys.modules:
        spec = importlib.util.spec_from_file_location("stackctl", ROOT / "stack" / "stackctl.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["stackctl"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["stackctl"]


stackctl = _load_stackctl()
CLUSTER = stackctl.CLUSTER


def hosts(role: str) -> set[str]:
    """The addresses of the cluster's nodes of a role (datanode, nodemanager, regionserver ...)."""
    return {node.host for node in stackctl.cluster_nodes(role)}


def _http_json(url: str, timeout: float = 10.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


# ---------------------------------------------------------------------------- the cluster itself

def environment_problems() -> list[str]:
    """What in this process's environment does not point at the cluster (var/cluster/env.sh)."""
    return [f"{key}={os.environ.get(key)!r}, not {value!r}" for key, value in stackctl.cluster_env().items()
            if os.environ.get(key) != value]


def unready_nodes() -> list[str]:
    problems = []
    for service in CLUSTER.services:
        if service.pid() is None:
            problems.append(f"{service.name} is not running")
        elif (reason := stackctl.probe_once(service)) is not None:
            problems.append(f"{service.name}: {reason}")
    return problems


def kill(name: str) -> int:
    """SIGKILL a node's JVM, as a crash would: no shutdown hook, no goodbye to its master."""
    service = CLUSTER.by_name(name)
    pid = service.pid()
    assert pid is not None, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if service.pid() is None:
            return pid
        time.sleep(0.1)
    raise AssertionError(f"{name} (pid {pid}) survived SIGKILL")


def restart(*names: str) -> None:
    """Start these nodes again (those still running are only probed), as a supervisor would."""
    stackctl.start_services([CLUSTER.by_name(name) for name in names], parallel=True)


def restart_namenode() -> None:
    """Stop the NameNode cleanly and start it again; ready once both DataNodes re-registered and
    it left safe mode."""
    stackctl.stop_service(CLUSTER.by_name("namenode"))
    restart("namenode", *sorted(CLUSTER.groups["hdfs"][1:]))


def wait_for_reads(client, root: str, timeout: float = 120.0) -> list[str]:
    """Read every file's checksum under ``root`` until one whole pass works; the errors met before.

    After a NameNode restart a DataNode's first call through its old connection to the NameNode
    can fail (EOFException on GETFILECHECKSUM): a client retries, and so does this."""
    from hdfs import HdfsError

    errors: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            for directory, _, names in client.walk(root):
                for name in names:
                    client.checksum(posixpath.join(directory, name))
            return errors
        except HdfsError as error:
            errors.append(str(error).splitlines()[0][:200])
            if time.monotonic() > deadline:
                raise AssertionError(f"HDFS reads under {root} still fail {timeout:.0f} s after the restart: "
                                     + " | ".join(errors[-3:])) from error
            time.sleep(2)


# ---------------------------------------------------------------------------- HDFS: blocks

def block_hosts(settings, path: str) -> list[list[str]]:
    """For each block of the file, the DataNodes (dfs.datanode.hostname) that hold a replica."""
    query = urllib.parse.urlencode({"op": "GET_BLOCK_LOCATIONS", "user.name": settings.hdfs_user})
    answer = _http_json(f"{settings.webhdfs_url}/webhdfs/v1{urllib.parse.quote(path)}?{query}")
    return [sorted(location["hostName"] for location in block["locations"])
            for block in answer["LocatedBlocks"]["locatedBlocks"]]


def live_datanodes() -> dict[str, dict]:
    """The NameNode's JMX view of its live DataNodes (blocks, capacity...), by host:port."""
    return stackctl.live_datanodes(stackctl.cluster_node("namenode").address("http"))


def lake_blocks(client, settings, root: str) -> dict[str, list[list[str]]]:
    """Every non-empty file under ``root`` with the DataNodes of each of its blocks."""
    blocks = {}
    for directory, _, files in client.walk(root):
        for name in files:
            path = posixpath.join(directory, name)
            if client.status(path)["length"]:
                blocks[path] = block_hosts(settings, path)
    return blocks


def replication_state() -> dict:
    """What the NameNode says of re-replication (FSNamesystem JMX) and which DataNodes it sees live:
    for the message of a test that waits for it."""
    namenode = stackctl.cluster_node("namenode").address("http")
    bean = stackctl.jmx_bean(namenode, "Hadoop:service=NameNode,name=FSNamesystem")
    wanted = ("UnderReplicatedBlocks", "PendingReplicationBlocks", "MissingBlocks", "CorruptBlocks",
              "NumLiveDataNodes", "NumDeadDataNodes", "NumStaleDataNodes")
    state = {name: bean.get(name) for name in wanted}
    state["live"] = sorted(live_datanodes())
    return state


def blocks_per_datanode(blocks: dict[str, list[list[str]]]) -> collections.Counter:
    return collections.Counter(host for file_blocks in blocks.values() for replicas in file_blocks for host in replicas)


def under_replicated(blocks: dict[str, list[list[str]]], replication: int = 2) -> list[str]:
    return [f"{path} block {index}: {replicas}" for path, file_blocks in blocks.items()
            for index, replicas in enumerate(file_blocks) if len(set(replicas)) < replication]


# ---------------------------------------------------------------------------- YARN: containers

def _resourcemanager() -> str:
    return "http://" + stackctl.cluster_node("resourcemanager").address("http")


def applications_since(started: float) -> list[dict]:
    """The MapReduce applications the ResourceManager started since ``started`` (epoch seconds)."""
    answer = _http_json(f"{_resourcemanager()}/ws/v1/cluster/apps?applicationTypes=MAPREDUCE"
                        f"&startedTimeBegin={int(started * 1000)}")
    return (answer.get("apps") or {}).get("app") or []


def container_hosts(app: dict) -> list[str]:
    """The NodeManagers (addresses) of an application's containers: its ApplicationMaster, and the
    task attempts the JobHistory server records (none apart when the job ran in uber mode)."""
    history = os.environ.get("DATALAKE_JOBHISTORY_URL") or "http://" + stackctl.cluster_node("historyserver").address("http")
    job = f"{history}/ws/v1/history/mapreduce/jobs/{app['id'].replace('application_', 'job_', 1)}"
    found = [app["amHostHttpAddress"].split(":")[0]]
    for task in (_http_json(f"{job}/tasks").get("tasks") or {}).get("task") or []:
        attempts = _http_json(f"{job}/tasks/{task['id']}/attempts")["taskAttempts"]["taskAttempt"]
        found += [attempt["nodeHttpAddress"].split(":")[0] for attempt in attempts]
    return found


def containers_per_nodemanager(apps: list[dict]) -> collections.Counter:
    return collections.Counter(host for app in apps for host in container_hosts(app))


# ---------------------------------------------------------------------------- HBase: regions

def regions_per_server(connection, tables) -> collections.Counter:
    """How many regions of these tables (names without the connection's prefix) each region
    server holds, as the master answers Thrift getTableRegions."""
    return collections.Counter(region["server_name"].decode() for table in tables
                               for region in connection.table(table).regions())


def wait_until(condition, timeout: float, what: str, interval: float = 2.0):
    """Poll ``condition()`` until it returns something true; fail saying ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            assert value, f"{what} not reached within {timeout:.0f}s"
            return value
        time.sleep(interval)
