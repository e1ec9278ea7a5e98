#!/usr/bin/env python3
"""Start, stop and check the Hadoop (HDFS, YARN) and HBase (+ Thrift) services of this machine.

Two profiles of the same machinery:

* ``stack`` (the default): the single-node stack on 127.0.0.1 (one DataNode, one NodeManager,
  HBase standalone), configuration in var/conf, logs in var/log.
* ``cluster``: a multi-node cluster on this machine, every node a JVM with its own loopback
  address (127.0.10.x), configuration, data directory and log under var/cluster/<node>/ (which is
  laid out like the single-node var/): a NameNode, two DataNodes, a ResourceManager, two
  NodeManagers, the JobHistory server, ZooKeeper, an HBase master, two RegionServers and the
  Thrift server. ``start`` also writes var/cluster/env.sh, which points every client at it.

A service is one row of a declarative table: name, address, ports, main class, configuration,
data directory, log, heap and a readiness probe. Every service is a real Apache JVM started from
the jars `make setup` fetched. `start` is idempotent (it also restarts a node that died), waits
until each service really answers (HTTP/JMX/Thrift/ZooKeeper, not a sleep) and prints how long
each took; when one does not come up it names the service, its log file and the likely cause.
`stop` stops, by pid, what `start` started.

Standard library only, so it runs before and without the project's virtualenv.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

STACK_DIR = Path(__file__).resolve().parent
ROOT = STACK_DIR.parent
VAR = Path(os.environ.get("DATALAKE_VAR_DIR", ROOT / "var")).resolve()
CACHE = Path(os.environ.get("DATALAKE_CACHE_DIR", ROOT / ".cache")).resolve()
HADOOP_LIB = CACHE / "jars" / "hadoop"
HBASE_LIB = CACHE / "jars" / "hbase"
HADOOP_HOME = CACHE / "hadoop-home"
CONF_DIR = VAR / "conf"
LOG_DIR = VAR / "log"
RUN_DIR = VAR / "run"
HADOOP_BIN = STACK_DIR / "bin" / "hadoop"
MIN_FREE_BYTES = 1 << 30

GROUPS = {"hdfs": ["namenode", "datanode"],
          "yarn": ["resourcemanager", "nodemanager", "historyserver"],
          "hbase": ["hbase", "thrift"]}
ALL_GROUPS = ["hdfs", "yarn", "hbase"]

NAMENODE_CLASS = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE_CLASS = "org.apache.hadoop.hdfs.server.datanode.DataNode"
RESOURCEMANAGER_CLASS = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NODEMANAGER_CLASS = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
HISTORYSERVER_CLASS = "org.apache.hadoop.mapreduce.v2.hs.JobHistoryServer"
HMASTER_CLASS = "org.apache.hadoop.hbase.master.HMaster"
REGIONSERVER_CLASS = "org.apache.hadoop.hbase.regionserver.HRegionServer"
THRIFT_CLASS = "org.apache.hadoop.hbase.thrift.ThriftServer"
ZOOKEEPER_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"


class StackError(Exception):
    """A service did not start or stop; the message says which, where its log is and why."""


# ---------------------------------------------------------------------------- probes
# A probe returns None when its service answers as it should, else why not yet; it may raise
# OSError/URLError/ValueError/KeyError/IndexError, which count as "not yet" too.

Probe = Callable[[], "str | None"]


def http_json(url: str, timeout: float = 3.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def jmx_bean(http: str, query: str) -> dict:
    beans = http_json(f"http://{http}/jmx?qry={query}")["beans"]
    return beans[0] if beans else {}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def thrift_table_names(port: int = 9090, timeout: float = 5.0, host: str = "127.0.0.1") -> list[str]:
    """Call HBase Thrift v1 getTableNames() over the binary protocol, buffered transport.

    Hand-encoded so that the readiness check needs no Thrift library: a message header
    (strict version 1, CALL), the method name, a sequence id and an empty argument struct.
    """
    name = b"getTableNames"
    request = struct.pack(">iI", -2147418111, len(name)) + name + struct.pack(">i", 1) + b"\x00"
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        reader = sock.makefile("rb")

        def read(n: int) -> bytes:
            data = reader.read(n)
            if len(data) != n:
                raise ConnectionError("Thrift server closed the connection")
            return data

        version, = struct.unpack(">i", read(4))
        message_type = version & 0xFF
        read(struct.unpack(">i", read(4))[0])  # method name
        read(4)  # sequence id
        if message_type == 3:  # EXCEPTION: the server could not run the call yet
            raise ConnectionError("Thrift server answered with an application exception")
        names: list[str] = []
        while True:
            field_type = read(1)[0]
            if field_type == 0:
                return names
            field_id, = struct.unpack(">h", read(2))
            if field_id == 0 and field_type == 15:  # success: list<binary>
                read(1)
                for _ in range(struct.unpack(">i", read(4))[0]):
                    names.append(read(struct.unpack(">i", read(4))[0]).decode("utf-8"))
            else:  # IOError: HBase itself is not ready
                raise ConnectionError("HBase answered getTableNames with an IOError")


def live_datanodes(namenode_http: str) -> dict[str, dict]:
    """The NameNode's live DataNodes, by the name it gives them (dfs.datanode.hostname:xfer port)."""
    info = jmx_bean(namenode_http, "Hadoop:service=NameNode,name=NameNodeInfo")
    return json.loads(info.get("LiveNodes") or "{}")


def running_nodemanagers(rm_http: str) -> list[dict]:
    nodes = (http_json(f"http://{rm_http}/ws/v1/cluster/nodes")["nodes"] or {}).get("node", [])
    return [node for node in nodes if node.get("state") == "RUNNING"]


def master_server(master_http: str) -> dict:
    return jmx_bean(master_http, "Hadoop:service=HBase,name=Master,sub=Server")


def live_regionservers(master_http: str) -> list[str]:
    """ServerNames ``host,port,startcode`` of the region servers the master counts live."""
    return [name for name in str(master_server(master_http).get("tag.liveRegionServers") or "").split(";") if name]


def zookeeper_mode(host: str, port: int) -> str:
    """ZooKeeper's own answer to the `srvr` four-letter command: its mode (standalone, leader...)."""
    with socket.create_connection((host, port), timeout=3) as sock:
        sock.sendall(b"srvr")
        answer = b"".join(iter(lambda: sock.recv(4096), b"")).decode("utf-8", "replace")
    for line in answer.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    raise ConnectionError(f"unexpected answer to srvr: {answer[:80]!r}")


def namenode_ready(http: str) -> Probe:
    def probe():
        status = jmx_bean(http, "Hadoop:service=NameNode,name=NameNodeStatus")
        return None if status.get("State") == "active" else f"state {status.get('State')!r}"
    return probe


def datanode_ready(namenode_http: str, name: str | None = None, own_http: str | None = None) -> Probe:
    """Ready when the DataNode itself (its web server ``own_http``, when given) says it talks to its
    NameNode, and the NameNode counts it (``name``; None: any) live, out of safe mode. The NameNode
    alone is not enough after a restart: it lists a DataNode that just died as live until it is
    stale."""
    def probe():
        if own_http is not None:
            info = jmx_bean(own_http, "Hadoop:service=DataNode,name=DataNodeInfo")
            actors = json.loads(info.get("BPServiceActorInfo") or "[]")
            if not actors or any(actor.get("ActorState") != "RUNNING" for actor in actors):
                return "the DataNode has not registered with its NameNode yet"
        live = live_datanodes(namenode_http)
        if name is None and not live:
            return "no live DataNode registered yet"
        if name is not None and name not in live:
            return f"the NameNode does not list {name} among its live DataNodes ({', '.join(live) or 'none'}) yet"
        if jmx_bean(namenode_http, "Hadoop:service=NameNode,name=NameNodeInfo").get("Safemode"):
            return "NameNode still in safe mode"
        return None
    return probe


def resourcemanager_ready(http: str) -> Probe:
    def probe():
        state = http_json(f"http://{http}/ws/v1/cluster/info")["clusterInfo"]["state"]
        return None if state == "STARTED" else f"state {state}"
    return probe


def nodemanager_ready(rm_http: str, host: str | None = None) -> Probe:
    """Ready when the ResourceManager has this NodeManager (``host``; None: any) RUNNING."""
    def probe():
        if host is None:
            metrics = http_json(f"http://{rm_http}/ws/v1/cluster/metrics")["clusterMetrics"]
            return None if metrics.get("activeNodes", 0) >= 1 else "no active NodeManager yet"
        hosts = [node["nodeHostName"] for node in running_nodemanagers(rm_http)]
        return None if host in hosts else f"the ResourceManager has no RUNNING NodeManager on {host} yet"
    return probe


def historyserver_ready(http: str) -> Probe:
    def probe():
        http_json(f"http://{http}/ws/v1/history/info")
        return None
    return probe


def hbase_ready(master_http: str, region_servers: int = 1) -> Probe:
    """The master is active and counts ``region_servers`` live region servers (standalone HBase:
    the one in its own JVM)."""
    def probe():
        server = master_server(master_http)
        if str(server.get("tag.isActiveMaster")).lower() != "true":
            return "master not active yet"
        if server.get("numRegionServers", 0) < region_servers:
            return "no region server yet" if region_servers == 1 else \
                f"{server.get('numRegionServers', 0)} of {region_servers} region servers live"
        return None
    return probe


def regionserver_ready(master_http: str, host: str) -> Probe:
    def probe():
        live = live_regionservers(master_http)
        if not any(name.split(",")[0] == host for name in live):
            return f"the master does not count a region server on {host} live ({', '.join(live) or 'none'}) yet"
        return None
    return probe


def zookeeper_ready(host: str, port: int) -> Probe:
    def probe():
        zookeeper_mode(host, port)
        return None
    return probe


def thrift_ready(host: str = "127.0.0.1", port: int = 9090) -> Probe:
    def probe():
        thrift_table_names(port, host=host)
        return None
    return probe


# ---------------------------------------------------------------------------- services

@dataclass
class Service:
    """One JVM of a profile: what it is, where it listens, how it starts, how we know it answers.

    ``home`` is the node's own directory, laid out like the single-node var/ (conf/, log/, run/
    and its data); None means the single-node stack's var/ (VAR, CONF_DIR, LOG_DIR, RUN_DIR).
    """

    name: str
    title: str
    ports: list[int]
    command: Callable[[], list[str]]
    ready: Probe
    main_class: str
    timeout: float = 120.0
    env: dict = field(default_factory=dict)
    host: str = "127.0.0.1"
    heap: str = ""
    home: Path | None = None
    #: run before a start (formatting the NameNode once)
    prepare: Callable[["Service"], None] | None = None
    #: asks the service to stop itself (with whatever it manages) before it is signalled
    stop_command: Callable[[], list[str]] | None = None
    #: services (of a parallel start) that must answer before this one starts
    after: tuple[str, ...] = ()

    @property
    def data_dir(self) -> Path:
        return self.home or VAR

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf" if self.home else CONF_DIR

    @property
    def log_dir(self) -> Path:
        return self.home / "log" if self.home else LOG_DIR

    @property
    def run_dir(self) -> Path:
        return self.home / "run" if self.home else RUN_DIR

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    def pid(self) -> int | None:
        """The pid of the running service, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            self.pidfile.unlink(missing_ok=True)
            return None
        if self.main_class not in cmdline or _is_zombie(pid):  # gone, or the pid was reused
            self.pidfile.unlink(missing_ok=True)
            return None
        return pid


def java_cmd(heap: str, lib: Path, conf: Path, main_class: str, *args: str, props=(), classpath=(),
             log_dir: Path | None = None) -> list[str]:
    """A JVM command line as HBase's bin/hbase would build it, on the JDK the launchers pick.

    ``conf`` holds log4j2.properties and comes first on the classpath, then ``classpath``."""
    shell = (f". {STACK_DIR / 'bin' / 'java-env.sh'} && exec \"$JAVA_HOME/bin/java\" "
             f"-Xmx{heap} $JDK17_OPENS \"$@\"")
    return ["bash", "-c", shell, "java",
            "-Djava.net.preferIPv4Stack=true", f"-Dhbase.log.dir={log_dir or LOG_DIR}",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}", *props,
            "-cp", ":".join([str(conf), *map(str, classpath), f"{lib}/*"]), main_class, *args]


def hadoop_daemon(command: str) -> Callable[[], list[str]]:
    return lambda: [str(HADOOP_BIN), command]


def hadoop_service(name: str, title: str, daemon: str, main_class: str, ports: list[int], ready: Probe,
                   **node) -> Service:
    """A Hadoop daemon run by stack/bin/hadoop; ``heap`` (if given) overrides the launcher's."""
    service = Service(name, title, ports, hadoop_daemon(daemon), ready, main_class, **node)
    if service.heap:
        service.env["HADOOP_HEAPSIZE_MAX"] = service.heap
    return service


def hbase_service(name: str, title: str, main_class: str, args: list[str], ports: list[int], ready: Probe,
                  *, props=(), with_hadoop_conf: bool = False, stop_args: list[str] | None = None,
                  **node) -> Service:
    """A JVM on HBase's jars with conf/hbase (and, on a cluster, the node's Hadoop client
    configuration: replication, DataNode host names) first on its classpath."""
    service = Service(name, title, ports, lambda: [], ready, main_class, timeout=180.0, **node)

    def command(arguments: list[str]) -> Callable[[], list[str]]:
        return lambda: java_cmd(service.heap, HBASE_LIB, service.conf_dir / "hbase", main_class, *arguments,
                                props=props, log_dir=service.log_dir,
                                classpath=[service.conf_dir / "hadoop"] if with_hadoop_conf else [])
    service.command = command(args)
    if stop_args is not None:
        service.stop_command = command(stop_args)
    return service


@dataclass
class Profile:
    """A set of services started and stopped together, and how their configuration is written."""

    name: str
    title: str
    services: list[Service]
    groups: dict[str, list[str]]
    #: writes the configuration before a start (given the groups being started)
    render: Callable[[list[str]], None]
    #: after a start: summary lines to print (and files such as env.sh to write)
    after_start: Callable[[], list[str]] = lambda: []
    #: after a stop (the single-node stack switches MapReduce back to the local runner)
    after_stop: Callable[[], None] = lambda: None
    #: stop order by name; default: the reverse of the start order
    stop_order: tuple[str, ...] = ()
    #: start services at once as soon as what they come ``after`` answers (else one by one)
    parallel: bool = False
    epilog: str = ""
    #: where the logs are, as the start announces it
    logs: str = ""

    def by_name(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    def selected(self, names: list[str]) -> list[Service]:
        """The services of these groups or node names, in start order."""
        wanted = {member for name in names for member in self.groups.get(name, [name])}
        return [service for service in self.services if service.name in wanted]

    def stopping(self, names: list[str]) -> list[Service]:
        chosen = self.selected(names)
        if not self.stop_order:
            return list(reversed(chosen))
        return sorted(chosen, key=lambda service: self.stop_order.index(service.name))


# ---------------------------------------------------------------------------- config

def java_settings() -> tuple[str, str]:
    """JAVA_HOME and the JVM flags, as the launchers' java-env.sh picks them (one probe of the JDKs)."""
    out = subprocess.run(["bash", "-c", f". {STACK_DIR / 'bin' / 'java-env.sh'} && echo \"$JAVA_HOME\" && echo $JDK17_OPENS"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise StackError(out.stderr.strip())
    home, opens = (out.stdout.split("\n", 1) + [""])[:2]
    return home.strip(), " ".join(opens.split())


def template_values(var: Path, conf: Path, mr_framework: str, java: tuple[str, str], host: str = "127.0.0.1") -> dict:
    java_home, jdk17_opens = java
    return {
        "@VAR@": str(var),
        "@HADOOP_CONF_DIR@": str(conf / "hadoop"), "@HADOOP_LIB@": str(HADOOP_LIB),
        "@HADOOP_HOME@": str(HADOOP_HOME), "@JAVA_HOME@": java_home,
        "@JDK17_OPENS@": jdk17_opens, "@MR_FRAMEWORK@": mr_framework, "@HOST@": host,
    }


def override_properties(text: str, overrides: dict[str, str | None], note: str = "") -> str:
    """A Hadoop-style XML configuration with properties replaced, added or (value None) removed,
    and ``note`` as a first comment."""
    root = ET.fromstring(text, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    properties = {prop.findtext("name"): prop for prop in root.iter("property")}
    for name, value in overrides.items():
        prop = properties.get(name)
        if value is None:
            if prop is not None:
                root.remove(prop)
            continue
        if prop is None:
            if len(root):
                root[-1].tail = "\n  "
            prop = ET.SubElement(root, "property")
            ET.SubElement(prop, "name").text = name
            ET.SubElement(prop, "value")
            prop.tail = "\n"
        prop.find("value").text = str(value)
    if note:
        comment = ET.Comment(f" {note} ")
        comment.tail = "\n  "
        root.insert(0, comment)
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_product(product: str, target: Path, values: dict, overrides: dict[str, dict] | None = None,
                   note: str = "") -> None:
    """Write stack/conf/<product>/* into ``target`` with ``values`` filled in and, per file, the
    properties of ``overrides`` applied (with ``note`` saying so); each file is replaced in one step."""
    target.mkdir(parents=True, exist_ok=True)
    for template in sorted((STACK_DIR / "conf" / product).iterdir()):
        text = template.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        if overrides and template.name in overrides:
            text = override_properties(text, overrides[template.name],
                                       note.format(template=f"stack/conf/{product}/{template.name}"))
        tmp = target / (template.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(target / template.name)


def render_configs(mr_framework: str) -> None:
    """Write var/conf/{hadoop,hbase} from the templates in stack/conf, with this machine's paths."""
    values = template_values(VAR, CONF_DIR, mr_framework, java_settings())
    for product in ("hadoop", "hbase"):
        render_product(product, CONF_DIR / product, values)


def yarn_running() -> bool:
    return STACK.by_name("resourcemanager").pid() is not None


# ---------------------------------------------------------------------------- HDFS as an administrator

#: What a cluster administrator sets up in HDFS for YARN and MapReduce with permissions on. Every
#: job user's client and ApplicationMaster write under the staging dir (<user>/.staging, then
#: history/done_intermediate/<user>, which the JobHistory server moves to history/done): world-
#: writable with the sticky bit, so that nobody removes another user's files.
HDFS_DIRECTORIES = [("/tmp", "1777"), ("/tmp/hadoop-yarn", "1777"), ("/tmp/hadoop-yarn/staging", "1777"),
                    ("/tmp/hadoop-yarn/staging/history", "1777"),
                    ("/tmp/hadoop-yarn/staging/history/done_intermediate", "1777"), ("/user", "755")]
WEBHDFS = "http://127.0.0.1:9870/webhdfs/v1"


def webhdfs(method: str, path: str, op: str, user: str | None = None, base: str = WEBHDFS, **params) -> dict:
    query = {"op": op, **params, **({"user.name": user} if user else {})}
    request = urllib.request.Request(f"{base}{urllib.parse.quote(path)}?{urllib.parse.urlencode(query)}",
                                     method=method, data=b"" if method == "PUT" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")
        raise StackError(f"HDFS NameNode: {op} {path} as {user or '(anonymous)'} failed: HTTP {error.code} {detail[:300]}")
    return json.loads(body) if body else {}


def lake_service_user_and_root() -> tuple[str, str]:
    """The HDFS user and lake root the project uses, as its settings read them (stdlib only)."""
    sys.path.insert(0, str(ROOT))
    try:
        from datalake.settings import ConfigError, Settings
        try:
            settings = Settings.from_env()
        except ConfigError as error:
            raise StackError(f"the project's configuration is wrong: {error}") from None
    finally:
        sys.path.remove(str(ROOT))
    return settings.hdfs_user, settings.root


def prepare_hdfs(service_user: str, lake_root: str, base: str = WEBHDFS) -> list[str]:
    """As the HDFS superuser (the owner of ``/``, who formatted the NameNode): the directories of
    :data:`HDFS_DIRECTORIES`, the service user's home ``/user/<name>`` (mode 700: mrjob's files,
    the pseudonym key's copy for YARN) and the lake root (mode 755), both owned by the service
    user. Idempotent; returns what it changed."""
    admin = webhdfs("GET", "/", "GETFILESTATUS", base=base)["FileStatus"]["owner"]
    changed = []
    wanted = HDFS_DIRECTORIES + [(f"/user/{service_user}", "700"), (lake_root, "755")]
    for path, mode in wanted:
        status = _hdfs_status(path, admin, base)
        if status is None:
            webhdfs("PUT", path, "MKDIRS", admin, base=base, permission=mode)
            changed.append(f"created {path}")
        if status is None or status["permission"] != mode:
            webhdfs("PUT", path, "SETPERMISSION", admin, base=base, permission=mode)
            changed.append(f"{path} mode {mode}")
        if path in (f"/user/{service_user}", lake_root) and (status is None or status["owner"] != service_user):
            webhdfs("PUT", path, "SETOWNER", admin, base=base, owner=service_user)
            changed.append(f"{path} owner {service_user}")
    return changed


def _hdfs_status(path: str, user: str, base: str = WEBHDFS) -> dict | None:
    try:
        return webhdfs("GET", path, "GETFILESTATUS", user, base=base)["FileStatus"]
    except StackError as error:
        if "FileNotFoundException" in str(error):
            return None
        raise


# ---------------------------------------------------------------------------- start/stop

def log_tail(path: Path, lines: int = 12) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    return "\n".join("    " + line for line in content[-lines:])


def likely_cause(service: Service) -> str:
    try:
        text = service.log.read_text(errors="replace")
    except OSError:
        text = ""
    if "no Java 17" in text:
        return "no Java 17 on this machine (set DATALAKE_JAVA_HOME to a JDK 17)"
    if "Address already in use" in text or "BindException" in text:
        return "a port it needs is already in use (see `ss -ltnp`)"
    if "No space left" in text:
        return "the disk is full"
    if "OutOfMemoryError" in text:
        return "the JVM ran out of memory"
    if "ClassNotFoundException" in text or "NoClassDefFoundError" in text:
        return "a class is missing from the jars (run `make setup` again)"
    if "ServerNotRunningYetException" in text or "PleaseHoldException" in text:
        return "the HBase master is not initialized yet (its own log says why: waiting for region servers, HDFS...)"
    if "Incompatible clusterIDs" in text:
        return (f"its data belongs to an earlier format of the NameNode: delete {service.data_dir} "
                "(its blocks are lost with the old namespace anyway)")
    return "see the log"


def format_namenode_once(service: Service) -> None:
    name_dir = service.data_dir / "hdfs" / "name" / "current" / "VERSION"
    if name_dir.exists():
        return
    print("formatting the NameNode (first start) ...", flush=True)
    log_path = service.log_dir / f"{service.name}-format.log"
    with open(log_path, "w") as log:
        result = subprocess.run([str(HADOOP_BIN), "namenode", "-format", "-nonInteractive", "-force"],
                                stdout=log, stderr=subprocess.STDOUT, env=service_env(service))
    if result.returncode != 0:
        raise StackError(f"{service.title}: format failed; log: {log_path}\n" + log_tail(log_path))


def service_env(service: Service | None = None) -> dict:
    env = dict(os.environ)
    conf, log_dir = (service.conf_dir, service.log_dir) if service else (CONF_DIR, LOG_DIR)
    env.update(HADOOP_CONF_DIR=str(conf / "hadoop"), HADOOP_LOG_DIR=str(log_dir),
               HADOOP_HOME=str(HADOOP_HOME), HBASE_CONF_DIR=str(conf / "hbase"))
    env.pop("HADOOP_ROOT_LOGGER", None)
    if service:
        env.update(service.env)
    return env


def check_preconditions(service: Service) -> None:
    for port in service.ports:
        if port_open(port, service.host):
            raise StackError(f"{service.title}: port {port} is already in use by another process "
                             f"(not one this stack started); stop it or free the port (`ss -ltnp`). "
                             f"Log: {service.log}")
    free = shutil.disk_usage(service.data_dir).free
    if free < MIN_FREE_BYTES:
        raise StackError(f"{service.title}: only {free >> 20} MB free under {service.data_dir}; "
                         f"it needs at least {MIN_FREE_BYTES >> 20} MB. Free some disk.")


def probe_once(service: Service) -> str | None:
    try:
        return service.ready()
    except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError, TypeError) as error:
        return f"{type(error).__name__}: {error}"


def wait_ready(service: Service, process: subprocess.Popen | None, started: float) -> None:
    last_reason = "not answering yet"
    while time.monotonic() - started < service.timeout:
        if process is not None and process.poll() is not None:
            service.pidfile.unlink(missing_ok=True)
            raise StackError(f"{service.title} exited with code {process.returncode} while starting: "
                             f"{likely_cause(service)}.\n  log: {service.log}\n{log_tail(service.log)}")
        reason = probe_once(service)
        if reason is None:
            return
        last_reason = reason
        time.sleep(0.5)
    raise StackError(f"{service.title} did not become ready within {service.timeout:.0f}s "
                     f"(last check: {last_reason}); {likely_cause(service)}.\n"
                     f"  log: {service.log}\n{log_tail(service.log)}")


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def start_service(service: Service) -> None:
    started = time.monotonic()
    pid = service.pid()
    if pid is not None:
        wait_ready(service, None, started)
        print(f"  {service.title:45s} already running (pid {pid})", flush=True)
        return
    for directory in (service.log_dir, service.run_dir):
        directory.mkdir(parents=True, exist_ok=True)
    check_preconditions(service)
    if service.prepare:
        service.prepare(service)
    with open(service.log, "ab") as log:
        log.write(f"\n===== starting {service.name} at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
        log.flush()
        process = subprocess.Popen(service.command(), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=service.data_dir, env=service_env(service),
                                   start_new_session=True)
    service.pidfile.write_text(str(process.pid))
    wait_ready(service, process, started)
    print(f"  {service.title:45s} ready in {time.monotonic() - started:5.1f}s (pid {process.pid}, "
          f"log {_shown(service.log)})", flush=True)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            return True
        time.sleep(0.3)
    return not Path(f"/proc/{pid}").exists() or _is_zombie(pid)


def stop_service(service: Service, timeout: float = 45.0) -> None:
    pid = service.pid()
    if pid is None:
        return
    if service.stop_command:  # e.g. the HBase master shutting its region servers down first
        with open(service.log, "ab") as log:
            try:
                subprocess.run(service.stop_command(), stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
                               stdin=subprocess.DEVNULL, env=service_env(service), cwd=service.data_dir)
            except subprocess.TimeoutExpired:
                pass
        # it has done its part once it stops listening (its JVM may then wait on a stray thread)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(port_open(port, service.host) for port in service.ports):
            time.sleep(0.5)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if not _wait_gone(pid, timeout):
        print(f"  {service.title} did not stop within {timeout:.0f}s; killing it", flush=True)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    service.pidfile.unlink(missing_ok=True)
    print(f"  {service.title:45s} stopped", flush=True)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def selected(groups: list[str]) -> list[Service]:
    return STACK.selected(groups)


def ensure_setup() -> None:
    missing = [str(path) for path in (HADOOP_LIB, HBASE_LIB, HADOOP_HOME / "bin" / "hadoop") if not path.exists()]
    if missing:
        raise StackError("the stack is not set up (missing " + ", ".join(missing) + "); run `make setup`.")


def cmd_start(groups: list[str], profile: Profile | None = None) -> None:
    profile = profile or STACK
    ensure_setup()
    profile.render(groups)
    print(f"starting {', '.join(groups)} (logs in {profile.logs})", flush=True)
    total = time.monotonic()
    start_services(profile.selected(groups), profile.parallel)
    for line in profile.after_start():
        print(line, flush=True)
    print(f"{profile.name} ready in {time.monotonic() - total:.1f}s", flush=True)


class _NotStarted(StackError):
    """A service left alone because one it comes after did not start."""


def start_services(services: list[Service], parallel: bool) -> None:
    """Start ``services`` in order, or (``parallel``) each in its own thread once those it comes
    after answer; a failure is the StackError of the service that failed first by itself."""
    if not parallel:
        for service in services:
            start_service(service)
        return
    answered = {service.name: threading.Event() for service in services}
    failures: dict[str, StackError] = {}  # in the order they happened

    def start(service: Service) -> None:
        try:
            for name in service.after:
                if name in answered:
                    answered[name].wait()
                if name in failures:
                    raise _NotStarted(f"{service.title}: not started because {name} did not start")
            start_service(service)
        except StackError as error:
            failures[service.name] = error
        except Exception as error:  # noqa: BLE001 - reported as the service's failure, not a lost thread
            failures[service.name] = StackError(f"{service.title}: {type(error).__name__}: {error}")
        finally:
            answered[service.name].set()

    threads = [threading.Thread(target=start, args=(service,), name=service.name, daemon=True) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        causes = [error for error in failures.values() if not isinstance(error, _NotStarted)]
        raise (causes or list(failures.values()))[0]


def cmd_stop(groups: list[str], profile: Profile | None = None) -> None:
    profile = profile or STACK
    for service in profile.stopping(groups):
        stop_service(service)
    profile.after_stop()


def cmd_status(groups: list[str], profile: Profile | None = None) -> int:
    profile = profile or STACK
    failures = 0
    for service in profile.selected(groups):
        pid = service.pid()
        if pid is None:
            state = "stopped"
            failures += 1
        else:
            reason = probe_once(service)
            state = f"running (pid {pid})" + ("" if reason is None else f", NOT READY: {reason}")
            failures += reason is not None
        print(f"  {service.title:45s} {state}")
    return 1 if failures else 0


# ---------------------------------------------------------------------------- the single-node stack

def _stack_render(groups: list[str]) -> None:
    for directory in (LOG_DIR, RUN_DIR, VAR / "tmp"):
        directory.mkdir(parents=True, exist_ok=True)
    render_configs("yarn" if "yarn" in groups or yarn_running() else "local")


def _stack_after_stop() -> None:
    if CONF_DIR.exists() and HADOOP_LIB.exists():
        render_configs("yarn" if yarn_running() else "local")


STACK = Profile(
    name="stack", title="the local stack", groups=GROUPS, render=_stack_render, after_stop=_stack_after_stop,
    after_start=lambda: hdfs_prepared() if port_open(9870) else [],
    logs=str(LOG_DIR),
    epilog="Web UIs: NameNode http://localhost:9870, YARN http://localhost:8088, "
           "JobHistory http://localhost:19888, HBase http://localhost:16010",
    services=[
        hadoop_service("namenode", "HDFS NameNode", "namenode", NAMENODE_CLASS, [8020, 9870],
                       namenode_ready("127.0.0.1:9870"), prepare=format_namenode_once),
        hadoop_service("datanode", "HDFS DataNode", "datanode", DATANODE_CLASS, [9866, 9864, 9867],
                       datanode_ready("127.0.0.1:9870", own_http="127.0.0.1:9864")),
        hadoop_service("resourcemanager", "YARN ResourceManager", "resourcemanager", RESOURCEMANAGER_CLASS,
                       [8088, 8032, 8030, 8031, 8033], resourcemanager_ready("127.0.0.1:8088")),
        hadoop_service("nodemanager", "YARN NodeManager", "nodemanager", NODEMANAGER_CLASS, [8042, 8041, 8040, 13562],
                       nodemanager_ready("127.0.0.1:8088")),
        hadoop_service("historyserver", "MapReduce JobHistory server", "historyserver", HISTORYSERVER_CLASS,
                       [19888, 10020, 10033], historyserver_ready("127.0.0.1:19888")),
        hbase_service("hbase", "HBase (master + region server + ZooKeeper)", HMASTER_CLASS, ["start"],
                      [16010, 16000, 16020, 2181], hbase_ready("127.0.0.1:16010"), heap="2g",
                      props=["-Dhbase.root.logger=INFO,console"]),
        hbase_service("thrift", "HBase Thrift server", THRIFT_CLASS,
                      ["-b", "127.0.0.1", "-p", "9090", "-threadpool", "start"], [9090, 9095],
                      thrift_ready("127.0.0.1", 9090), heap="512m"),
    ])
SERVICES = STACK.services
BY_NAME = {service.name: service for service in SERVICES}


# ---------------------------------------------------------------------------- the cluster
# Every node has its own loopback address. Connections between them still leave from 127.0.0.1
# (the kernel's source address for the whole 127/8 route), so a NameNode sees every DataNode's
# RPC come from 127.0.0.1 and tells DataNodes apart by their transfer port: each DataNode has
# its own ports, and DataNodes, clients and WebHDFS redirects reach a DataNode by its
# dfs.datanode.hostname (its address). HBase servers announce their address the same way
# (hbase.master.hostname, hbase.unsafe.regionserver.hostname). YARN's shuffle handler binds
# every interface, so each NodeManager has its own shuffle port, away from the stack's 13562.

CLUSTER_NET = os.environ.get("DATALAKE_CLUSTER_NET", "127.0.10")
CLUSTER_DIR = VAR / "cluster"
CLUSTER_CLIENT = CLUSTER_DIR / "client"
CLUSTER_ENV = CLUSTER_DIR / "env.sh"


@dataclass(frozen=True)
class Node:
    """A cluster node: one daemon on its own address, with its own ports, heap and directory."""

    name: str
    role: str
    octet: int
    ports: dict[str, int]
    heap: str

    @property
    def host(self) -> str:
        return f"{CLUSTER_NET}.{self.octet}"

    @property
    def home(self) -> Path:
        return CLUSTER_DIR / self.name

    def address(self, port: str) -> str:
        return f"{self.host}:{self.ports[port]}"


CLUSTER_NODES = (
    Node("namenode", "namenode", 1, {"rpc": 8020, "http": 9870}, "512m"),
    Node("datanode1", "datanode", 2, {"data": 9866, "http": 9864, "ipc": 9867}, "256m"),
    Node("datanode2", "datanode", 3, {"data": 9876, "http": 9874, "ipc": 9877}, "256m"),
    Node("resourcemanager", "resourcemanager", 4,
         {"http": 8088, "rpc": 8032, "scheduler": 8030, "tracker": 8031, "admin": 8033}, "512m"),
    Node("nodemanager1", "nodemanager", 5, {"http": 8042, "rpc": 8041, "localizer": 8040, "shuffle": 13572}, "384m"),
    Node("nodemanager2", "nodemanager", 6, {"http": 8042, "rpc": 8041, "localizer": 8040, "shuffle": 13573}, "384m"),
    Node("historyserver", "historyserver", 7, {"http": 19888, "rpc": 10020, "admin": 10033}, "256m"),
    Node("zookeeper", "zookeeper", 8, {"client": 2181}, "128m"),
    Node("hmaster", "hmaster", 9, {"http": 16010, "rpc": 16000}, "384m"),
    Node("regionserver1", "regionserver", 10, {"http": 16030, "rpc": 16020}, "512m"),
    Node("regionserver2", "regionserver", 11, {"http": 16030, "rpc": 16020}, "512m"),
    Node("thrift", "thrift", 12, {"thrift": 9090, "http": 9095}, "256m"),
)
#: memory each NodeManager offers to containers (the ApplicationMasters and tasks are 768 MB)
CLUSTER_NM_MEMORY_MB = 3072


def cluster_node(name: str) -> Node:
    return next(node for node in CLUSTER_NODES if node.name == name)


def cluster_nodes(role: str) -> list[Node]:
    return [node for node in CLUSTER_NODES if node.role == role]


def cluster_overrides(node: Node | None) -> dict[str, dict[str, str | None]]:
    """What the cluster changes in the single-node templates for ``node`` (None: the clients).

    Every node (and client) learns where the masters are; a node binds its own address only.
    Addresses of daemons a node does not run are removed, so that no cluster file names
    127.0.0.1 or localhost (render_cluster checks that).
    """
    nn, rm, jhs, zk = (cluster_node(name) for name in ("namenode", "resourcemanager", "historyserver", "zookeeper"))
    site = {
        "core-site.xml": {"fs.defaultFS": f"hdfs://{nn.address('rpc')}",
                          # clients (HBase, YARN, jobs) ride out a NameNode restart instead of failing after 10 s
                          "ipc.client.connect.max.retries": "90"},
        "hdfs-site.xml": {
            "dfs.replication": "2",
            "dfs.namenode.rpc-address": nn.address("rpc"), "dfs.namenode.rpc-bind-host": nn.host,
            "dfs.namenode.servicerpc-bind-host": nn.host, "dfs.namenode.http-address": nn.address("http"),
            "dfs.namenode.http-bind-host": nn.host, "dfs.namenode.secondary.http-address": f"{nn.host}:9868",
            "dfs.datanode.hostname": None, "dfs.datanode.address": None, "dfs.datanode.http.address": None,
            "dfs.datanode.ipc.address": None,
            # DataNodes reach each other (pipelines, re-replication) by host name, as clients do
            "dfs.datanode.use.datanode.hostname": "true",
            # a killed DataNode is avoided after 5 s without heartbeat, declared dead after 40 s
            "dfs.namenode.stale.datanode.interval": "5000",
            "dfs.namenode.avoid.read.stale.datanode": "true",
            "dfs.namenode.avoid.write.stale.datanode": "true",
            "dfs.namenode.heartbeat.recheck-interval": "15000",
            # a re-replication sent to a DataNode that has just died (stale, not yet dead) is sent again
            # after 30 s, not Hadoop's 300: the cluster test saw 14 blocks pending for minutes after the
            # DataNode came back (PendingReplicationBlocks 14, UnderReplicatedBlocks 0)
            "dfs.namenode.reconstruction.pending.timeout-sec": "30",
        },
        "yarn-site.xml": {
            "yarn.resourcemanager.hostname": rm.host, "yarn.resourcemanager.bind-host": rm.host,
            "yarn.resourcemanager.webapp.address": rm.address("http"),
            "yarn.nodemanager.hostname": None, "yarn.nodemanager.bind-host": None,
            "yarn.nodemanager.address": None, "yarn.nodemanager.localizer.address": None,
            "yarn.nodemanager.webapp.address": None,
        },
        "mapred-site.xml": {
            "mapreduce.jobhistory.address": jhs.address("rpc"), "mapreduce.jobhistory.webapp.address": jhs.address("http"),
            "mapreduce.jobhistory.admin.address": jhs.address("admin"), "mapreduce.jobhistory.bind-host": jhs.host,
            # on two shared cores a slow task is the machine, not the node: a second attempt only adds load
            "mapreduce.map.speculative": "false", "mapreduce.reduce.speculative": "false",
            # Hadoop's default, as on a real cluster: a job's tasks get containers of their own, spread
            # over the NodeManagers. The single-node stack runs small jobs in uber mode (inside the
            # ApplicationMaster); here that put a day's two jobs, tasks and all, on one NodeManager.
            "mapreduce.job.ubertask.enable": "false",
        },
        # one container per NodeManager heartbeat, so that a job's containers spread over the nodes
        "capacity-scheduler.xml": {"yarn.scheduler.capacity.per-node-heartbeat.multiple-assignments-enabled": "false"},
        "hbase-site.xml": {
            "hbase.cluster.distributed": "true",
            "hbase.rootdir": f"hdfs://{nn.address('rpc')}/hbase",
            "hbase.unsafe.stream.capability.enforce": None,  # HDFS has hflush/hsync
            "hbase.zookeeper.quorum": zk.host, "hbase.zookeeper.property.clientPort": str(zk.ports["client"]),
            # the ZooKeeper node has its own zoo.cfg
            "hbase.zookeeper.property.clientPortAddress": None, "hbase.zookeeper.property.dataDir": None,
            "hbase.zookeeper.property.maxSessionTimeout": None, "hbase.zookeeper.property.tickTime": None,
            # a killed region server's regions move after 30 s, not 3 minutes
            "zookeeper.session.timeout": "30000",
            "hbase.balancer.period": "30000",
            "hbase.master.ipc.address": None, "hbase.master.info.bindAddress": None,
            "hbase.regionserver.ipc.address": None, "hbase.regionserver.info.bindAddress": None,
            "hbase.thrift.info.bindAddress": None,
        },
    }
    role = node.role if node else "client"
    host = node.host if node else ""
    if role == "datanode":
        site["hdfs-site.xml"].update({
            "dfs.datanode.hostname": host, "dfs.datanode.address": node.address("data"),
            "dfs.datanode.http.address": node.address("http"), "dfs.datanode.ipc.address": node.address("ipc")})
    elif role == "nodemanager":
        site["yarn-site.xml"].update({
            "yarn.nodemanager.hostname": host, "yarn.nodemanager.bind-host": host,
            "yarn.nodemanager.address": node.address("rpc"), "yarn.nodemanager.localizer.address": node.address("localizer"),
            "yarn.nodemanager.webapp.address": node.address("http"),
            "yarn.nodemanager.resource.memory-mb": str(CLUSTER_NM_MEMORY_MB)})
        site["mapred-site.xml"]["mapreduce.shuffle.port"] = str(node.ports["shuffle"])
    elif role == "hmaster":
        site["hbase-site.xml"].update({"hbase.master.ipc.address": host, "hbase.master.hostname": host,
                                       "hbase.master.info.bindAddress": host})
    elif role == "regionserver":
        site["hbase-site.xml"].update({"hbase.regionserver.ipc.address": host, "hbase.unsafe.regionserver.hostname": host,
                                       "hbase.regionserver.info.bindAddress": host})
    elif role == "thrift":
        site["hbase-site.xml"]["hbase.thrift.info.bindAddress"] = host
    return site


#: which roles a role's nodes wait for in a parallel start (the master answers once both region
#: servers, started beside it, joined it)
CLUSTER_AFTER = {"datanode": ("namenode",), "nodemanager": ("resourcemanager",), "historyserver": ("namenode",),
                 "hmaster": ("zookeeper", "datanode"), "regionserver": ("zookeeper", "datanode"),
                 "thrift": ("hmaster",)}


#: JVM flags of every cluster daemon: twelve JVMs share two cores with the stack and the jobs, so
#: the serial collector (no GC threads) and the C1 compiler only (much less JIT work at start)
CLUSTER_JVM_OPTS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def _cluster_service(node: Node) -> Service:
    nn, rm, master = cluster_node("namenode"), cluster_node("resourcemanager"), cluster_node("hmaster")
    after = tuple(other.name for role in CLUSTER_AFTER.get(node.role, ()) for other in cluster_nodes(role))
    where = dict(host=node.host, heap=node.heap, home=node.home, after=after,
                 env={"HADOOP_OPTS": " ".join(CLUSTER_JVM_OPTS)})
    ports = list(node.ports.values())
    if node.role == "namenode":
        return hadoop_service(node.name, f"NameNode {node.name} ({node.host})", "namenode", NAMENODE_CLASS, ports,
                              namenode_ready(nn.address("http")), prepare=format_namenode_once, **where)
    if node.role == "datanode":
        return hadoop_service(node.name, f"DataNode {node.name} ({node.host})", "datanode", DATANODE_CLASS, ports,
                              datanode_ready(nn.address("http"), node.address("data"), node.address("http")),
                              **where)
    if node.role == "resourcemanager":
        return hadoop_service(node.name, f"ResourceManager {node.name} ({node.host})", "resourcemanager",
                              RESOURCEMANAGER_CLASS, ports, resourcemanager_ready(rm.address("http")), **where)
    if node.role == "nodemanager":
        return hadoop_service(node.name, f"NodeManager {node.name} ({node.host})", "nodemanager", NODEMANAGER_CLASS,
                              ports, nodemanager_ready(rm.address("http"), node.host), **where)
    if node.role == "historyserver":
        return hadoop_service(node.name, f"JobHistory server {node.name} ({node.host})", "historyserver",
                              HISTORYSERVER_CLASS, ports, historyserver_ready(node.address("http")), **where)
    jvm = dict(props=CLUSTER_JVM_OPTS, **where)
    if node.role == "zookeeper":  # ZooKeeper's own server (HBase's jars), not one HBase manages
        return hbase_service(node.name, f"ZooKeeper {node.name} ({node.host})", ZOOKEEPER_CLASS,
                             [str(node.home / "conf" / "zookeeper" / "zoo.cfg")], ports,
                             zookeeper_ready(node.host, node.ports["client"]),
                             **{**jvm, "props": (*CLUSTER_JVM_OPTS, "-Dzookeeper.admin.enableServer=false")})
    if node.role == "hmaster":
        return hbase_service(node.name, f"HBase master {node.name} ({node.host})", HMASTER_CLASS, ["start"], ports,
                             hbase_ready(master.address("http"), len(cluster_nodes("regionserver"))),
                             with_hadoop_conf=True, stop_args=["stop"], **jvm)
    if node.role == "regionserver":
        return hbase_service(node.name, f"RegionServer {node.name} ({node.host})", REGIONSERVER_CLASS, ["start"],
                             ports, regionserver_ready(master.address("http"), node.host), with_hadoop_conf=True, **jvm)
    if node.role == "thrift":
        return hbase_service(node.name, f"HBase Thrift server {node.name} ({node.host})", THRIFT_CLASS,
                             ["-b", node.host, "-p", str(node.ports["thrift"]), "-threadpool", "start"], ports,
                             thrift_ready(node.host, node.ports["thrift"]), **jvm)
    raise ValueError(f"unknown role {node.role}")


def render_cluster(groups: list[str] | None = None) -> None:
    """Write every node's configuration (and the clients') into var/cluster/<node>/conf."""
    java = java_settings()
    for node in (*CLUSTER_NODES, None):
        home = node.home if node else CLUSTER_CLIENT
        conf = home / "conf"
        values = template_values(home, conf, "yarn", java, node.host if node else "")
        overrides = cluster_overrides(node)
        products = ("hadoop", "hbase") + (("zookeeper",) if node and node.role == "zookeeper" else ())
        note = (f"Cluster {'node ' + node.name + ' (' + node.host + ')' if node else 'clients'}: {{template}} with "
                "cluster_overrides() of stack/stackctl.py applied (the template's comments describe the single-node stack).")
        for product in products:
            render_product(product, conf / product, values, overrides, note)
        for path in sorted(conf.glob("*/*")):
            _refuse_single_node_address(path)


def _refuse_single_node_address(path: Path) -> None:
    """A cluster setting naming 127.0.0.1 or localhost would bind or reach the single-node stack."""
    if path.suffix == ".xml":
        root = ET.parse(path).getroot()
        settings = [f"{prop.findtext('name')}={prop.findtext('value')}" for prop in root.iter("property")]
    else:
        settings = [line.strip() for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    for setting in settings:
        for needle in ("127.0.0.1", "localhost"):
            if needle in setting:
                raise StackError(f"cluster configuration {path} still names {needle}: {setting} "
                                 "(cluster_overrides in stack/stackctl.py must replace or remove it)")


def cluster_env() -> dict[str, str]:
    """What var/cluster/env.sh exports: every client setting that names a host or a framework."""
    nn, jhs, thrift = (cluster_node(name) for name in ("namenode", "historyserver", "thrift"))
    return {
        "HADOOP_CONF_DIR": str(CLUSTER_CLIENT / "conf" / "hadoop"),
        "HBASE_CONF_DIR": str(CLUSTER_CLIENT / "conf" / "hbase"),
        "HADOOP_LOG_DIR": str(CLUSTER_CLIENT / "log"),
        "DATALAKE_WEBHDFS_URL": f"http://{nn.address('http')}",
        "HBASE_THRIFT_HOST": thrift.host,
        "HBASE_THRIFT_PORT": str(thrift.ports["thrift"]),
        "DATALAKE_MR_FRAMEWORK": "yarn",
        "DATALAKE_JOBHISTORY_URL": f"http://{jhs.address('http')}",
    }


def write_cluster_env() -> Path:
    lines = ["# Written by `make cluster` (stack/stackctl.py). Source it after stack/env.sh:",
             "#   . stack/env.sh && . var/cluster/env.sh",
             "# and every client (hdfs, mrjob/Hadoop, happybase, Airflow tasks) talks to the cluster."]
    lines += [f"export {key}={value}" for key, value in cluster_env().items()]
    hosts = ",".join(node.host for node in CLUSTER_NODES)
    lines.append(f'export NO_PROXY="{hosts}${{NO_PROXY:+,$NO_PROXY}}"')
    (CLUSTER_CLIENT / "log").mkdir(parents=True, exist_ok=True)
    tmp = CLUSTER_ENV.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(CLUSTER_ENV)
    return CLUSTER_ENV


def cluster_summary() -> list[str]:
    """What the cluster's masters say about their workers (each line a real answer)."""
    nn, rm, master = cluster_node("namenode"), cluster_node("resourcemanager"), cluster_node("hmaster")
    lines = []
    for what, ask in (
            ("HDFS", lambda: "live DataNodes: " + ", ".join(sorted(live_datanodes(nn.address("http"))))),
            ("YARN", lambda: "RUNNING NodeManagers: " + ", ".join(
                sorted(node["nodeHostName"] for node in running_nodemanagers(rm.address("http"))))),
            ("HBase", lambda: "live region servers: " + ", ".join(sorted(live_regionservers(master.address("http")))))):
        try:
            lines.append(f"  {what:6s} {ask()}")
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as error:
            lines.append(f"  {what:6s} not answering ({type(error).__name__}: {error})")
    return lines


def hdfs_prepared(base: str = WEBHDFS) -> list[str]:
    """After a start with the NameNode up: HDFS set up for the lake's service user (prepare_hdfs)."""
    user, root = lake_service_user_and_root()
    changed = prepare_hdfs(user, root, base)
    return [f"  HDFS prepared for the lake's user {user} (/tmp, /user/{user}, {root})"
            + (f": {'; '.join(changed)}" if changed else ": nothing to change")]


def _cluster_after_start() -> list[str]:
    env = write_cluster_env()
    nn, rm, jhs, master = (cluster_node(name) for name in ("namenode", "resourcemanager", "historyserver", "hmaster"))
    prepared = hdfs_prepared(f"http://{nn.address('http')}/webhdfs/v1") if port_open(nn.ports["http"], nn.host) else []
    return prepared + cluster_summary() + [
        f"web UIs: NameNode http://{nn.address('http')}, YARN http://{rm.address('http')}, "
        f"JobHistory http://{jhs.address('http')}, HBase http://{master.address('http')}",
        f"clients: . stack/env.sh && . {_shown(env)}"]


CLUSTER_GROUPS = {"hdfs": ["namenode", "datanode1", "datanode2"],
                  "yarn": ["resourcemanager", "nodemanager1", "nodemanager2", "historyserver"],
                  "hbase": ["zookeeper", "hmaster", "regionserver1", "regionserver2", "thrift"]}
CLUSTER = Profile(
    name="cluster", title="the multi-node cluster", groups=CLUSTER_GROUPS, render=render_cluster,
    after_start=_cluster_after_start, logs=f"{CLUSTER_DIR}/<node>/log", parallel=True,
    services=[_cluster_service(node) for node in CLUSTER_NODES],
    # the master shuts its region servers down (`HMaster stop`), before ZooKeeper and HDFS go
    stop_order=("thrift", "hmaster", "regionserver2", "regionserver1", "zookeeper", "historyserver",
                "nodemanager2", "nodemanager1", "resourcemanager", "datanode2", "datanode1", "namenode"),
    epilog="Nodes: " + ", ".join(f"{node.name} {node.host}" for node in CLUSTER_NODES))
PROFILES = {profile.name: profile for profile in (STACK, CLUSTER)}


# ---------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start, stop and check the local Hadoop/YARN/HBase stack (logs in var/log/), "
                    "or with --profile cluster the multi-node cluster (var/cluster/<node>/).",
        epilog=STACK.epilog + ". " + CLUSTER.epilog)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="stack",
                        help="stack: the single-node stack (default); cluster: the multi-node cluster")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("start", "start services and wait until they answer (idempotent)"),
                       ("stop", "stop the services this stack started"),
                       ("status", "show which services run and answer; exit 1 if any does not"),
                       ("render", "only write the configuration files (var/conf, or var/cluster/*/conf)"),
                       ("stopped", "print the names of the services that do not run, one a line")):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("groups", nargs="*", metavar="GROUP",
                             help=f"any of {', '.join(ALL_GROUPS)} (default: all); with the cluster also "
                                  "node names (datanode2 ...)")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    names = list(profile.groups) + ([service.name for service in profile.services] if profile is CLUSTER else [])
    unknown = sorted(set(args.groups) - set(names))
    if unknown:
        parser.error(f"unknown service group(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    groups = [name for name in names if name in (args.groups or ALL_GROUPS)]
    try:
        if args.command == "start":
            cmd_start(groups, profile)
        elif args.command == "stop":
            cmd_stop(groups, profile)
        elif args.command == "status":
            status = cmd_status(groups, profile)
            if profile is CLUSTER:
                print("\n".join(cluster_summary()))
            return status
        elif args.command == "stopped":
            for service in profile.selected(groups):
                if service.pid() is None:
                    print(service.name)
        elif profile is CLUSTER:
            render_cluster()
        else:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            render_configs("yarn" if yarn_running() else "local")
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
