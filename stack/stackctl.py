#!/usr/bin/env python3
"""Start, stop and check the local Hadoop (HDFS, YARN) and HBase (+ Thrift) stack.

Every service is a real Apache JVM started from the jars `make setup` fetched. `start` is
idempotent, waits until each service really answers (HTTP/JMX/Thrift, not a sleep) and prints
how long each took; when one does not come up it names the service, its log file and the
likely cause. `stop` stops, by pid, what `start` started.

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
import time
import urllib.error
import urllib.parse
import urllib.request
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


class StackError(Exception):
    """A service did not start or stop; the message says which, where its log is and why."""


# ---------------------------------------------------------------------------- probes

def http_json(url: str, timeout: float = 3.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def jmx_bean(port: int, query: str) -> dict:
    beans = http_json(f"http://127.0.0.1:{port}/jmx?qry={query}")["beans"]
    return beans[0] if beans else {}


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def thrift_table_names(port: int = 9090, timeout: float = 5.0) -> list[str]:
    """Call HBase Thrift v1 getTableNames() over the binary protocol, buffered transport.

    Hand-encoded so that the readiness check needs no Thrift library: a message header
    (strict version 1, CALL), the method name, a sequence id and an empty argument struct.
    """
    name = b"getTableNames"
    request = struct.pack(">iI", -2147418111, len(name)) + name + struct.pack(">i", 1) + b"\x00"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
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


def namenode_ready() -> str | None:
    status = jmx_bean(9870, "Hadoop:service=NameNode,name=NameNodeStatus")
    return None if status.get("State") == "active" else f"state {status.get('State')!r}"


def datanode_ready() -> str | None:
    info = jmx_bean(9870, "Hadoop:service=NameNode,name=NameNodeInfo")
    live = json.loads(info.get("LiveNodes") or "{}")
    if not live:
        return "no live DataNode registered yet"
    if info.get("Safemode"):
        return "NameNode still in safe mode"
    return None


def resourcemanager_ready() -> str | None:
    state = http_json("http://127.0.0.1:8088/ws/v1/cluster/info")["clusterInfo"]["state"]
    return None if state == "STARTED" else f"state {state}"


def nodemanager_ready() -> str | None:
    metrics = http_json("http://127.0.0.1:8088/ws/v1/cluster/metrics")["clusterMetrics"]
    return None if metrics.get("activeNodes", 0) >= 1 else "no active NodeManager yet"


def historyserver_ready() -> str | None:
    http_json("http://127.0.0.1:19888/ws/v1/history/info")
    return None


def hbase_ready() -> str | None:
    server = jmx_bean(16010, "Hadoop:service=HBase,name=Master,sub=Server")
    if str(server.get("tag.isActiveMaster")).lower() != "true":
        return "master not active yet"
    if server.get("numRegionServers", 0) < 1:
        return "no region server yet"
    return None


def thrift_ready() -> str | None:
    thrift_table_names()
    return None


# ---------------------------------------------------------------------------- services

@dataclass
class Service:
    name: str
    title: str
    ports: list[int]
    command: Callable[[], list[str]]
    ready: Callable[[], str | None]
    main_class: str
    timeout: float = 120.0
    env: dict = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    @property
    def pidfile(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    def pid(self) -> int | None:
        """The pid of the running service, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            self.pidfile.unlink(missing_ok=True)
            return None
        if self.main_class not in cmdline:  # the pid was reused by something else
            self.pidfile.unlink(missing_ok=True)
            return None
        return pid


def java_cmd(heap: str, lib: Path, conf: Path, main_class: str, *args: str, props=()) -> list[str]:
    """A JVM command line as HBase's bin/hbase would build it, on the JDK the launchers pick."""
    shell = (f". {STACK_DIR / 'bin' / 'java-env.sh'} && exec \"$JAVA_HOME/bin/java\" "
             f"-Xmx{heap} $JDK17_OPENS \"$@\"")
    return ["bash", "-c", shell, "java",
            "-Djava.net.preferIPv4Stack=true", f"-Dhbase.log.dir={LOG_DIR}",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}", *props,
            "-cp", f"{conf}:{lib}/*", main_class, *args]


def hadoop_daemon(command: str) -> Callable[[], list[str]]:
    return lambda: [str(HADOOP_BIN), command]


SERVICES = [
    Service("namenode", "HDFS NameNode", [8020, 9870], hadoop_daemon("namenode"), namenode_ready,
            "org.apache.hadoop.hdfs.server.namenode.NameNode"),
    Service("datanode", "HDFS DataNode", [9866, 9864, 9867], hadoop_daemon("datanode"), datanode_ready,
            "org.apache.hadoop.hdfs.server.datanode.DataNode"),
    Service("resourcemanager", "YARN ResourceManager", [8088, 8032, 8030, 8031, 8033],
            hadoop_daemon("resourcemanager"), resourcemanager_ready,
            "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"),
    Service("nodemanager", "YARN NodeManager", [8042, 8041, 8040, 13562], hadoop_daemon("nodemanager"),
            nodemanager_ready, "org.apache.hadoop.yarn.server.nodemanager.NodeManager"),
    Service("historyserver", "MapReduce JobHistory server", [19888, 10020, 10033],
            hadoop_daemon("historyserver"), historyserver_ready,
            "org.apache.hadoop.mapreduce.v2.hs.JobHistoryServer"),
    Service("hbase", "HBase (master + region server + ZooKeeper)", [16010, 16000, 16020, 2181],
            lambda: java_cmd("2g", HBASE_LIB, CONF_DIR / "hbase", "org.apache.hadoop.hbase.master.HMaster",
                             "start", props=["-Dhbase.root.logger=INFO,console"]),
            hbase_ready, "org.apache.hadoop.hbase.master.HMaster", timeout=180.0),
    Service("thrift", "HBase Thrift server", [9090, 9095],
            lambda: java_cmd("512m", HBASE_LIB, CONF_DIR / "hbase", "org.apache.hadoop.hbase.thrift.ThriftServer",
                             "-b", "127.0.0.1", "-p", "9090", "-threadpool", "start"),
            thrift_ready, "org.apache.hadoop.hbase.thrift.ThriftServer", timeout=180.0),
]
BY_NAME = {service.name: service for service in SERVICES}


# ---------------------------------------------------------------------------- config

def java_settings() -> tuple[str, str]:
    """JAVA_HOME and the JVM flags, as the launchers' java-env.sh picks them (one probe of the JDKs)."""
    out = subprocess.run(["bash", "-c", f". {STACK_DIR / 'bin' / 'java-env.sh'} && echo \"$JAVA_HOME\" && echo $JDK17_OPENS"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise StackError(out.stderr.strip())
    home, opens = (out.stdout.split("\n", 1) + [""])[:2]
    return home.strip(), " ".join(opens.split())


def render_configs(mr_framework: str) -> None:
    """Write var/conf/{hadoop,hbase} from the templates in stack/conf, with this machine's paths."""
    java_home, jdk17_opens = java_settings()
    values = {
        "@VAR@": str(VAR),
        "@HADOOP_CONF_DIR@": str(CONF_DIR / "hadoop"), "@HADOOP_LIB@": str(HADOOP_LIB),
        "@HADOOP_HOME@": str(HADOOP_HOME), "@JAVA_HOME@": java_home,
        "@JDK17_OPENS@": jdk17_opens, "@MR_FRAMEWORK@": mr_framework,
    }
    for product in ("hadoop", "hbase"):
        target = CONF_DIR / product
        target.mkdir(parents=True, exist_ok=True)
        for template in sorted((STACK_DIR / "conf" / product).iterdir()):
            text = template.read_text()
            for key, value in values.items():
                text = text.replace(key, value)
            tmp = target / (template.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(target / template.name)


def yarn_running() -> bool:
    return BY_NAME["resourcemanager"].pid() is not None


# ---------------------------------------------------------------------------- HDFS as an administrator

#: What a cluster administrator sets up in HDFS for YARN and MapReduce with permissions on. Every
#: job user's client and ApplicationMaster write under the staging dir (<user>/.staging, then
#: history/done_intermediate/<user>, which the JobHistory server moves to history/done): world-
#: writable with the sticky bit, so that nobody removes another user's files.
HDFS_DIRECTORIES = [("/tmp", "1777"), ("/tmp/hadoop-yarn", "1777"), ("/tmp/hadoop-yarn/staging", "1777"),
                    ("/tmp/hadoop-yarn/staging/history", "1777"),
                    ("/tmp/hadoop-yarn/staging/history/done_intermediate", "1777"), ("/user", "755")]
WEBHDFS = "http://127.0.0.1:9870/webhdfs/v1"


def webhdfs(method: str, path: str, op: str, user: str | None = None, **params) -> dict:
    query = {"op": op, **params, **({"user.name": user} if user else {})}
    request = urllib.request.Request(f"{WEBHDFS}{urllib.parse.quote(path)}?{urllib.parse.urlencode(query)}",
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


def prepare_hdfs(service_user: str, lake_root: str) -> list[str]:
    """As the HDFS superuser (the owner of ``/``, who formatted the NameNode): the directories of
    :data:`HDFS_DIRECTORIES`, the service user's home ``/user/<name>`` (mode 700: mrjob's files,
    the pseudonym key's copy for YARN) and the lake root (mode 755), both owned by the service
    user. Idempotent; returns what it changed."""
    admin = webhdfs("GET", "/", "GETFILESTATUS")["FileStatus"]["owner"]
    changed = []
    wanted = HDFS_DIRECTORIES + [(f"/user/{service_user}", "700"), (lake_root, "755")]
    for path, mode in wanted:
        status = _hdfs_status(path, admin)
        if status is None:
            webhdfs("PUT", path, "MKDIRS", admin, permission=mode)
            changed.append(f"created {path}")
        if status is None or status["permission"] != mode:
            webhdfs("PUT", path, "SETPERMISSION", admin, permission=mode)
            changed.append(f"{path} mode {mode}")
        if path in (f"/user/{service_user}", lake_root) and (status is None or status["owner"] != service_user):
            webhdfs("PUT", path, "SETOWNER", admin, owner=service_user)
            changed.append(f"{path} owner {service_user}")
    return changed


def _hdfs_status(path: str, user: str) -> dict | None:
    try:
        return webhdfs("GET", path, "GETFILESTATUS", user)["FileStatus"]
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
    return "see the log"


def format_namenode_once() -> None:
    name_dir = VAR / "hdfs" / "name" / "current" / "VERSION"
    if name_dir.exists():
        return
    print("formatting the NameNode (first start) ...", flush=True)
    with open(LOG_DIR / "namenode-format.log", "w") as log:
        result = subprocess.run([str(HADOOP_BIN), "namenode", "-format", "-nonInteractive", "-force"],
                                stdout=log, stderr=subprocess.STDOUT, env=service_env())
    if result.returncode != 0:
        raise StackError(f"HDFS NameNode: format failed; log: {LOG_DIR / 'namenode-format.log'}\n"
                         + log_tail(LOG_DIR / "namenode-format.log"))


def service_env() -> dict:
    env = dict(os.environ)
    env.update(HADOOP_CONF_DIR=str(CONF_DIR / "hadoop"), HADOOP_LOG_DIR=str(LOG_DIR),
               HADOOP_HOME=str(HADOOP_HOME), HBASE_CONF_DIR=str(CONF_DIR / "hbase"))
    env.pop("HADOOP_ROOT_LOGGER", None)
    return env


def check_preconditions(service: Service) -> None:
    for port in service.ports:
        if port_open(port):
            raise StackError(f"{service.title}: port {port} is already in use by another process "
                             f"(not one this stack started); stop it or free the port (`ss -ltnp`). "
                             f"Log: {service.log}")
    free = shutil.disk_usage(VAR).free
    if free < MIN_FREE_BYTES:
        raise StackError(f"{service.title}: only {free >> 20} MB free under {VAR}; "
                         f"it needs at least {MIN_FREE_BYTES >> 20} MB. Free some disk.")


def wait_ready(service: Service, process: subprocess.Popen | None, started: float) -> None:
    last_reason = "not answering yet"
    while time.monotonic() - started < service.timeout:
        if process is not None and process.poll() is not None:
            service.pidfile.unlink(missing_ok=True)
            raise StackError(f"{service.title} exited with code {process.returncode} while starting: "
                             f"{likely_cause(service)}.\n  log: {service.log}\n{log_tail(service.log)}")
        try:
            reason = service.ready()
        except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError) as error:
            reason = f"{type(error).__name__}: {error}"
        if reason is None:
            return
        last_reason = reason
        time.sleep(0.5)
    raise StackError(f"{service.title} did not become ready within {service.timeout:.0f}s "
                     f"(last check: {last_reason}); {likely_cause(service)}.\n"
                     f"  log: {service.log}\n{log_tail(service.log)}")


def start_service(service: Service) -> None:
    started = time.monotonic()
    pid = service.pid()
    if pid is not None:
        wait_ready(service, None, started)
        print(f"  {service.title:45s} already running (pid {pid})", flush=True)
        return
    check_preconditions(service)
    if service.name == "namenode":
        format_namenode_once()
    with open(service.log, "ab") as log:
        log.write(f"\n===== starting {service.name} at {time.strftime('%Y-%m-%d %H:%M:%S')} =====\n".encode())
        log.flush()
        process = subprocess.Popen(service.command(), stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=VAR, env=service_env(),
                                   start_new_session=True)
    service.pidfile.write_text(str(process.pid))
    wait_ready(service, process, started)
    print(f"  {service.title:45s} ready in {time.monotonic() - started:5.1f}s (pid {process.pid}, "
          f"log {service.log.relative_to(ROOT) if service.log.is_relative_to(ROOT) else service.log})",
          flush=True)


def stop_service(service: Service, timeout: float = 45.0) -> None:
    pid = service.pid()
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if _is_zombie(pid):
            break
        time.sleep(0.3)
    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
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
    names = [name for group in groups for name in GROUPS[group]]
    return [service for service in SERVICES if service.name in names]


def ensure_setup() -> None:
    missing = [str(path) for path in (HADOOP_LIB, HBASE_LIB, HADOOP_HOME / "bin" / "hadoop") if not path.exists()]
    if missing:
        raise StackError("the stack is not set up (missing " + ", ".join(missing) + "); run `make setup`.")


def cmd_start(groups: list[str]) -> None:
    ensure_setup()
    for directory in (LOG_DIR, RUN_DIR, VAR / "tmp"):
        directory.mkdir(parents=True, exist_ok=True)
    render_configs("yarn" if "yarn" in groups or yarn_running() else "local")
    print(f"starting {', '.join(groups)} (logs in {LOG_DIR})", flush=True)
    total = time.monotonic()
    for service in selected(groups):
        start_service(service)
    if BY_NAME["namenode"].pid() is not None:
        user, root = lake_service_user_and_root()
        changed = prepare_hdfs(user, root)
        print(f"  HDFS prepared for the lake's user {user} (/tmp, /user/{user}, {root})"
              + (f": {'; '.join(changed)}" if changed else ": nothing to change"), flush=True)
    print(f"stack ready in {time.monotonic() - total:.1f}s", flush=True)


def cmd_stop(groups: list[str]) -> None:
    for service in reversed(selected(groups)):
        stop_service(service)
    if CONF_DIR.exists() and HADOOP_LIB.exists():
        render_configs("yarn" if yarn_running() else "local")


def cmd_status(groups: list[str]) -> int:
    failures = 0
    for service in selected(groups):
        pid = service.pid()
        if pid is None:
            state = "stopped"
            failures += 1
        else:
            try:
                reason = service.ready()
            except (OSError, urllib.error.URLError, ValueError, KeyError, IndexError) as error:
                reason = f"{type(error).__name__}: {error}"
            state = f"running (pid {pid})" + ("" if reason is None else f", NOT READY: {reason}")
            failures += reason is not None
        print(f"  {service.title:45s} {state}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start, stop and check the local Hadoop/YARN/HBase stack (logs in var/log/).",
        epilog="Web UIs: NameNode http://localhost:9870, YARN http://localhost:8088, "
               "JobHistory http://localhost:19888, HBase http://localhost:16010")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("start", "start services and wait until they answer (idempotent)"),
                       ("stop", "stop the services this stack started"),
                       ("status", "show which services run and answer; exit 1 if any does not"),
                       ("render", "only write the configuration files into var/conf")):
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("groups", nargs="*", metavar="GROUP",
                             help=f"any of {', '.join(ALL_GROUPS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.groups) - set(ALL_GROUPS))
    if unknown:
        parser.error(f"unknown service group(s) {', '.join(unknown)}; choose from {', '.join(ALL_GROUPS)}")
    groups = [group for group in ALL_GROUPS if group in (args.groups or ALL_GROUPS)]
    try:
        if args.command == "start":
            cmd_start(groups)
        elif args.command == "stop":
            cmd_stop(groups)
        elif args.command == "status":
            return cmd_status(groups)
        else:
            (LOG_DIR).mkdir(parents=True, exist_ok=True)
            render_configs("yarn" if yarn_running() else "local")
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
