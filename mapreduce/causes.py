"""What a failed job's log says went wrong, for the one line of its MapReduceError.

* :func:`last_error_line`: the tasks' last Python exception, else the root of the last Java
  exception chain, else the last streaming error.
* :func:`unanswered_service`: when the job lost a Hadoop service (Hadoop's "Call From <host> to
  <host:port> failed on connection exception", or on a socket exception when it went away in
  the middle of a call), which service listens at that address
  in the job's Hadoop configuration: the HDFS NameNode of ``fs.defaultFS``, the YARN
  ResourceManager, the JobHistory server. A bare "Connection refused" names no one.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

_PYTHON_ERROR = re.compile(r"^[A-Z]\w*(?:Error|Exception|Exit): .+")
_JAVA_ERROR = re.compile(r"^(?:[a-z]\w*\.)+[A-Z]\w*(?:Error|Exception)(?:: .*)?$|.*class not found.*")
_FAILED_CALL = re.compile(r"Call From \S+ to ([\w.\-]+):(\d+) failed on (connection|socket|local) exception")

#: (file, property, what listens there, Hadoop's default port): the services a job calls
SERVICES = (
    ("core-site.xml", "fs.defaultFS", "the HDFS NameNode", "8020"),
    ("yarn-site.xml", "yarn.resourcemanager.address", "the YARN ResourceManager", "8032"),
    ("mapred-site.xml", "mapreduce.jobhistory.address", "the MapReduce JobHistory server", "10020"),
)


def _read_lines(log_path: Path) -> list[str]:
    try:
        return log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def last_error_line(log_path: Path) -> str:
    """`` - cause: <text>``, the cause of a failure as the job log shows it, or ''."""
    lines = _read_lines(log_path)
    texts = [line.split("mrjob.logs.step:", 1)[-1].strip() for line in lines]
    hadoop_errors = [line.split("mrjob.logs.step:", 1)[-1].strip() for line in lines if " ERROR mrjob.logs.step:" in line]
    for text in reversed(texts):
        if _PYTHON_ERROR.match(text):
            return " - cause: " + text[:500]
    for text in reversed(texts):  # the root of a Java exception chain
        if text.startswith("Caused by: "):
            return " - cause: " + text[len("Caused by: "):][:500]
    for text in reversed(texts):
        if _JAVA_ERROR.match(text):
            return " - cause: " + text[:500]
    if hadoop_errors:
        return " - cause: " + hadoop_errors[-1][:500]
    return ""


def hadoop_property(conf_dir: str, file: str, name: str) -> str | None:
    """The value of property ``name`` in ``conf_dir``/``file`` (e.g. mapred-site.xml), or None."""
    try:
        root = ET.parse(Path(conf_dir) / file).getroot()
    except (OSError, ET.ParseError):
        return None
    for prop in root.iter("property"):
        if prop.findtext("name") == name:
            return (prop.findtext("value") or "").strip()
    return None


def service_at(port: str, conf_dir: str) -> str | None:
    """Which service of the Hadoop configuration in ``conf_dir`` listens on ``port``, or None."""
    for file, name, service, default_port in SERVICES:
        value = hadoop_property(conf_dir, file, name) if conf_dir else None
        configured_port = value.rstrip("/").rsplit(":", 1)[-1] if value and ":" in value.split("//")[-1] else None
        if port == (configured_port or default_port):
            return f"{service} ({name})"
    return None


def unanswered_service(log_path: Path, conf_dir: str) -> str:
    """`` - the call to <host:port>, <service>, failed (...)`` when the log shows a call to a
    service that was not there or went away, or ''."""
    for line in reversed(_read_lines(log_path)):
        match = _FAILED_CALL.search(line)
        if match:
            host, port, kind = match.groups()
            service = service_at(port, conf_dir) or "a Hadoop service"
            return (f" - the call to {host}:{port}, {service}, failed ({kind} exception): check that it runs, then "
                    "rerun the day (the job starts again from its input)")
    return ""
