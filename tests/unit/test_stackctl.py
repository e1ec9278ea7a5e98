"""The stack controller fails with a message that names the service, its log and the cause."""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("stackctl", ROOT / "stack" / "stackctl.py")
stackctl = importlib.util.module_from_spec(spec)
sys.modules["stackctl"] = stackctl  # dataclasses look their module up there
spec.loader.exec_module(stackctl)


@pytest.fixture
def isolated_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(stackctl, "LOG_DIR", tmp_path / "log")
    monkeypatch.setattr(stackctl, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(stackctl, "VAR", tmp_path)
    (tmp_path / "log").mkdir()
    (tmp_path / "run").mkdir()
    return tmp_path


def _service(command, ports=(), ready=lambda: "not yet", timeout=20.0):
    return stackctl.Service("fake", "Fake service", list(ports), lambda: command, ready, "fake-main-class",
                            timeout=timeout)


def test_port_in_use_names_service_port_and_log(isolated_dirs):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        service = _service(["true"], ports=[port])
        with pytest.raises(stackctl.StackError) as error:
            stackctl.start_service(service)
    message = str(error.value)
    assert "Fake service" in message and f"port {port} is already in use" in message
    assert str(isolated_dirs / "log" / "fake.log") in message


def test_not_enough_disk_is_reported(isolated_dirs, monkeypatch):
    monkeypatch.setattr(stackctl, "MIN_FREE_BYTES", 1 << 60)
    with pytest.raises(stackctl.StackError, match=r"Fake service: only \d+ MB free .* at least"):
        stackctl.start_service(_service(["true"]))


def test_service_dying_at_start_reports_exit_code_cause_and_log_tail(isolated_dirs):
    command = ["bash", "-c", "echo 'java.net.BindException: Address already in use' >&2; exit 7"]
    with pytest.raises(stackctl.StackError) as error:
        stackctl.start_service(_service(command))
    message = str(error.value)
    assert "Fake service exited with code 7" in message
    assert "a port it needs is already in use" in message
    assert "BindException" in message and str(isolated_dirs / "log" / "fake.log") in message
    assert not (isolated_dirs / "run" / "fake.pid").exists()


def test_service_never_ready_times_out_with_last_check(isolated_dirs):
    service = _service(["sleep", "30"], ready=lambda: "still warming up", timeout=1.5)
    with pytest.raises(stackctl.StackError, match="did not become ready within 2s .*still warming up"):
        stackctl.start_service(service)
    stackctl.stop_service(service)


def test_launcher_refuses_a_java_that_is_not_17(tmp_path):
    fake_jdk = tmp_path / "jdk25"
    (fake_jdk / "bin").mkdir(parents=True)
    java = fake_jdk / "bin" / "java"
    java.write_text('#!/bin/sh\necho \'openjdk version "25" 2025-09-16\' >&2\n')
    java.chmod(0o755)
    env = dict(os.environ, DATALAKE_JAVA_HOME=str(fake_jdk))
    result = subprocess.run([str(ROOT / "stack" / "bin" / "hadoop"), "version"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 3
    assert f"DATALAKE_JAVA_HOME={fake_jdk} is not a Java 17" in result.stderr
    assert "no Java 17 found" in result.stderr


# ---------------------------------------------------------------------------- the cluster profile

@pytest.fixture
def cluster_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(stackctl, "CLUSTER_DIR", tmp_path / "cluster")
    monkeypatch.setattr(stackctl, "CLUSTER_CLIENT", tmp_path / "cluster" / "client")
    monkeypatch.setattr(stackctl, "CLUSTER_ENV", tmp_path / "cluster" / "env.sh")
    return tmp_path / "cluster"


def _properties(path: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    return {prop.findtext("name"): prop.findtext("value") for prop in ET.parse(path).getroot().iter("property")}


def test_every_cluster_node_listens_on_its_own_address_and_ports_never_collide():
    listening = [(node.host, port) for node in stackctl.CLUSTER_NODES for port in node.ports.values()]
    assert len(listening) == len(set(listening))
    assert all(host.startswith("127.") and host != "127.0.0.1" for host, _ in listening)
    assert len({node.host for node in stackctl.CLUSTER_NODES}) == len(stackctl.CLUSTER_NODES)
    # the NameNode sees every DataNode's RPC come from 127.0.0.1: transfer ports tell them apart
    assert len({node.ports["data"] for node in stackctl.cluster_nodes("datanode")}) == 2
    # shuffle handlers bind 0.0.0.0: their own ports, away from the single-node stack's 13562
    shuffle = [node.ports["shuffle"] for node in stackctl.cluster_nodes("nodemanager")]
    assert len(set(shuffle)) == 2 and 13562 not in shuffle
    assert [service.name for service in stackctl.CLUSTER.services] == [node.name for node in stackctl.CLUSTER_NODES]
    assert sorted(stackctl.CLUSTER.stop_order) == sorted(node.name for node in stackctl.CLUSTER_NODES)


def test_cluster_configuration_points_every_node_at_the_cluster(cluster_dirs):
    stackctl.render_cluster()
    datanode = _properties(cluster_dirs / "datanode2" / "conf" / "hadoop" / "hdfs-site.xml")
    node = stackctl.cluster_node("datanode2")
    assert (datanode["dfs.datanode.hostname"], datanode["dfs.datanode.address"]) == (node.host, node.address("data"))
    assert datanode["dfs.replication"] == "2"
    assert datanode["dfs.datanode.data.dir"] == f"file://{cluster_dirs}/datanode2/hdfs/data"
    nodemanager = _properties(cluster_dirs / "nodemanager2" / "conf" / "hadoop" / "mapred-site.xml")
    assert nodemanager["mapreduce.shuffle.port"] == str(stackctl.cluster_node("nodemanager2").ports["shuffle"])
    regionserver = _properties(cluster_dirs / "regionserver1" / "conf" / "hbase" / "hbase-site.xml")
    assert regionserver["hbase.cluster.distributed"] == "true"
    assert regionserver["hbase.rootdir"] == f"hdfs://{stackctl.cluster_node('namenode').address('rpc')}/hbase"
    assert regionserver["hbase.unsafe.regionserver.hostname"] == stackctl.cluster_node("regionserver1").host
    client = _properties(cluster_dirs / "client" / "conf" / "hadoop" / "mapred-site.xml")
    assert client["mapreduce.framework.name"] == "yarn"
    assert "dfs.datanode.address" not in _properties(cluster_dirs / "client" / "conf" / "hadoop" / "hdfs-site.xml")
    zoo = (cluster_dirs / "zookeeper" / "conf" / "zookeeper" / "zoo.cfg").read_text()
    assert f"clientPortAddress={stackctl.cluster_node('zookeeper').host}" in zoo and "admin.enableServer=false" in zoo


def test_cluster_refuses_a_configuration_that_names_the_single_node_stack(tmp_path):
    site = tmp_path / "yarn-site.xml"
    site.write_text("<configuration><!-- localhost in a comment is fine -->\n"
                    "<property><name>yarn.timeline-service.hostname</name><value>localhost</value></property>"
                    "</configuration>")
    with pytest.raises(stackctl.StackError, match=r"yarn-site.xml still names localhost: "
                                                  r"yarn.timeline-service.hostname=localhost"):
        stackctl._refuse_single_node_address(site)


def test_cluster_env_points_clients_at_the_cluster(cluster_dirs):
    env_file = stackctl.write_cluster_env()
    text = env_file.read_text()
    thrift, namenode = stackctl.cluster_node("thrift"), stackctl.cluster_node("namenode")
    assert f"export HADOOP_CONF_DIR={cluster_dirs}/client/conf/hadoop\n" in text
    assert f"export DATALAKE_WEBHDFS_URL=http://{namenode.address('http')}\n" in text
    assert f"export HBASE_THRIFT_HOST={thrift.host}\n" in text and "export DATALAKE_MR_FRAMEWORK=yarn\n" in text
    result = subprocess.run(["bash", "-c", f". {env_file} && echo $HBASE_THRIFT_PORT $NO_PROXY"],
                            capture_output=True, text=True, env={"NO_PROXY": "example.org", "PATH": os.environ["PATH"]})
    port, no_proxy = result.stdout.split()
    assert port == str(thrift.ports["thrift"]) and no_proxy.endswith(",example.org") and thrift.host in no_proxy


def test_parallel_start_reports_the_node_that_failed_not_those_waiting_for_it(isolated_dirs):
    broken = stackctl.Service("broken", "Broken node", [], lambda: ["bash", "-c", "echo 'No space left on device' >&2; exit 2"],
                              lambda: "not yet", "bash")
    waiting = stackctl.Service("waiting", "Waiting node", [], lambda: ["sleep", "30"], lambda: None, "sleep",
                               after=("broken",))
    with pytest.raises(stackctl.StackError) as error:
        stackctl.start_services([broken, waiting], parallel=True)
    assert "Broken node exited with code 2" in str(error.value) and "the disk is full" in str(error.value)
    assert waiting.pid() is None  # never started
