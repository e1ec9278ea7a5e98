"""Reusable pieces of the fault-injection suite (issue 17).

A fault test runs a stage (or a chain of them) once cleanly and once with a fault, lets the
pipeline retry, and compares the two outcomes whole:

* :func:`lake_listing`: every file under a lake root except scratch (``_work/``, ``_tmp.*``),
  with its size and SHA-256, paths relative to the root so that two roots compare;
* :func:`hbase_dump`: every cell of every table of a table prefix;
* :func:`restart_service` / :func:`service_stopped`: one service of the local stack
  (namenode, datanode, hbase, thrift, ...) stopped and started again through stack/stackctl.py,
  returning once it answers;
* :class:`Watched` and :func:`kill_when_log_shows`: a subprocess whose output is followed line by
  line, so that a fault is injected at the moment its log shows a given line (SIGKILL of its
  whole process group, like an OOM kill or a lost node, or a service restart);
  ``python_command(code, tap_renames=True)`` adds a line before and after every rename of a file
  into place, for kills in the middle of an atomic write.

The helpers know nothing of any one stage: a test says what to run and when to strike.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import posixpath
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from datalake.settings import REPO_ROOT, Secret

SCRATCH_NAMES = ("_work",)
TEMP_PREFIX = "_tmp."
#: JSON fields that say when something was written, not what: they differ between any two runs
TIME_FIELDS = ("updated_at", "requested_at", "completed_at")


# ---------------------------------------------------------------------------------------------
# The lake and HBase, whole

def without_time_fields(path: str, data: bytes) -> bytes:
    """A ``.json`` file with its :data:`TIME_FIELDS` removed (at any depth), in canonical form."""
    if not path.endswith(".json"):
        return data

    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in TIME_FIELDS}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    try:
        return json.dumps(strip(json.loads(data)), sort_keys=True).encode()
    except ValueError:
        return data


def lake_listing(client, root: str, *, normalize: Callable[[str, bytes], bytes] | None = without_time_fields,
                 skip: Callable[[str], bool] | None = None) -> dict[str, tuple[int, str]]:
    """{path relative to ``root``: (size, sha256 of the content)} of every file under ``root``,
    scratch and temporary names left out. ``normalize(path, data)`` rewrites a file's content
    before hashing (default: drop the time fields of JSON files); ``skip(relative path)`` leaves
    more out."""
    listing = {}
    if client.status(root, strict=False) is None:
        return listing
    for directory, subdirectories, names in client.walk(root, allow_dir_changes=True):
        relative_dir = posixpath.relpath(directory, root)
        subdirectories[:] = [name for name in subdirectories if not name.startswith(TEMP_PREFIX)
                             and not (relative_dir == "." and name in SCRATCH_NAMES)]
        for name in names:
            if name.startswith(TEMP_PREFIX):
                continue
            relative = posixpath.normpath(posixpath.join(relative_dir, name))
            if skip is not None and skip(relative):
                continue
            with client.read(posixpath.join(directory, name)) as reader:
                data = reader.read()
            if normalize is not None:
                data = normalize(relative, data)
            listing[relative] = (len(data), hashlib.sha256(data).hexdigest())
    return listing


def hbase_dump(host: str, port: int, table_prefix: str) -> dict[str, dict[bytes, dict[bytes, bytes]]]:
    """{table (without the prefix): {row: {column: value}}} of every table of ``table_prefix``."""
    import happybase

    connection = happybase.Connection(host, port, table_prefix=table_prefix or None, autoconnect=True)
    try:
        return {name.decode(): {row: dict(cells) for row, cells in connection.table(name).scan(batch_size=1000)}
                for name in sorted(connection.tables())}
    finally:
        connection.close()


def lake_and_hbase(client, settings) -> tuple[dict, dict]:
    """(:func:`lake_listing` of the lake root, :func:`hbase_dump` of the table prefix) of ``settings``."""
    return lake_listing(client, settings.root), hbase_dump(settings.hbase_host, settings.hbase_port,
                                                           settings.table_prefix)


def differences(clean: dict, faulted: dict, limit: int = 20) -> list[str]:
    """What differs between two listings or dumps, readable in an assertion message."""
    found = []
    for key in sorted(set(clean) | set(faulted), key=repr):
        if key not in faulted:
            found.append(f"only in the clean run: {key!r}")
        elif key not in clean:
            found.append(f"only in the faulted run: {key!r}")
        elif clean[key] != faulted[key]:
            if isinstance(clean[key], dict) and isinstance(faulted[key], dict):
                found += [f"{key!r}: {line}" for line in differences(clean[key], faulted[key], limit)]
            else:
                found.append(f"{key!r}: {clean[key]!r:.80} != {faulted[key]!r:.80}")
        if len(found) >= limit:
            break
    return found[:limit]


# ---------------------------------------------------------------------------------------------
# Services of the local stack

def _stackctl():
    if "stackctl" not in sys.modules:
        spec = importlib.util.spec_from_file_location("stackctl", REPO_ROOT / "stack" / "stackctl.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["stackctl"] = module  # its dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["stackctl"]


def stop_service(name: str) -> None:
    """Stop one service of the local stack (a name of stackctl's table: namenode, thrift, ...)."""
    stackctl = _stackctl()
    stackctl.stop_service(stackctl.BY_NAME[name])


def start_service(name: str) -> float:
    """Start it again and return once it answers (stackctl's own readiness probe); seconds taken."""
    stackctl = _stackctl()
    started = time.monotonic()
    stackctl.start_service(stackctl.BY_NAME[name])
    return time.monotonic() - started


def restart_service(name: str) -> float:
    """Stop and start one service; returns once it answers again, with the seconds it was away."""
    started = time.monotonic()
    stop_service(name)
    start_service(name)
    return time.monotonic() - started


@contextlib.contextmanager
def service_stopped(name: str) -> Iterator[None]:
    """The service is down inside the block, and answers again after it (whatever the block raised)."""
    stop_service(name)
    try:
        yield
    finally:
        start_service(name)


# ---------------------------------------------------------------------------------------------
# Subprocesses struck at a moment their output shows

@dataclass
class Watched:
    """A subprocess in a session of its own, stdout and stderr merged and read line by line."""

    command: list[str]
    env: dict | None = None
    cwd: str | os.PathLike | None = None
    lines: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        errors="replace", env=self.env, cwd=self.cwd or REPO_ROOT,
                                        start_new_session=True)
        self._queue: queue.Queue = queue.Queue()
        self._drained = False
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 600.0) -> str:
        """The first new output line matching the regular expression ``pattern``; AssertionError
        with the output when the process ends or ``timeout`` passes first."""
        wanted = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout:.0f}s:\n{self.output(40)}")
            if line is None:
                self._drained = True
                self.process.wait()
                raise AssertionError(f"the process ended (code {self.process.returncode}) before a line matching "
                                     f"{pattern!r}:\n{self.output(40)}")
            self.lines.append(line)
            if wanted.search(line):
                return line

    def kill_after(self, patterns: list[str], what: str, timeout: float = 600.0) -> None:
        """Wait for a line matching each of ``patterns`` in turn, then SIGKILL (also when one does
        not come); AssertionError naming ``what`` (the moment) if the process ended by itself first."""
        try:
            for pattern in patterns:
                self.wait_for(pattern, timeout)
        finally:
            code = self.kill()
        assert code == -signal.SIGKILL, f"it ended by itself (code {code}) before the kill {what}:\n{self.output(30)}"

    def kill(self) -> int:
        """SIGKILL to the whole process group (the JVMs a stage started die with it); its exit code."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.wait()

    def wait(self, timeout: float = 900.0) -> int:
        """Let it finish, keeping its output; its exit code."""
        self.process.wait(timeout=timeout)
        while not self._drained and (line := self._queue.get()) is not None:
            self.lines.append(line)
        self._drained = True  # the end of its output was read: a second wait or kill does not wait for it again
        return self.process.returncode

    def output(self, last: int | None = None) -> str:
        return "\n".join(self.lines[-last:] if last else self.lines)


def kill_when_log_shows(command: list[str], pattern: str, *, env: dict | None = None, timeout: float = 600.0) -> Watched:
    """Run ``command`` and SIGKILL its process group as soon as a line of its output matches ``pattern``."""
    watched = Watched(command, env=env)
    try:
        watched.wait_for(pattern, timeout)
    finally:
        watched.kill()
    return watched


#: Prepended to a subprocess's code by ``python_command(..., tap_renames=True)``: every HDFS rename
#: of a file into place (``datalake.lake.rename_over``, which every atomic write of the lake ends
#: with) prints ``RENAME <n> before <destination>`` with the temporary file written, and ``RENAME
#: <n> after <destination>`` once it is in place, each followed by a short pause, so that a kill
#: at either line lands exactly there: a file written but not renamed, or renamed and nothing after.
RENAME_TAP = """
import time as _time
import datalake.lake as _lake
_real_rename_over, _renames = _lake.rename_over, [0]
def _tapped_rename_over(client, source, destination):
    _renames[0] += 1
    print(f"RENAME {_renames[0]} before {destination}", flush=True)
    _time.sleep(0.3)
    _real_rename_over(client, source, destination)
    print(f"RENAME {_renames[0]} after {destination}", flush=True)
    _time.sleep(0.3)
_lake.rename_over = _tapped_rename_over
"""


def python_command(code: str, *, tap_renames: bool = False) -> list[str]:
    """``python -c code`` with this interpreter (the venv), for a stage driven in a subprocess;
    ``tap_renames``: with :data:`RENAME_TAP` first."""
    return [sys.executable, "-c", (RENAME_TAP if tap_renames else "") + code]


def subprocess_env(**overrides: str) -> dict:
    """This process's environment with the repository on PYTHONPATH, plus ``overrides``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(overrides)
    return env


def lake_env(settings, **overrides: str) -> dict:
    """:func:`subprocess_env` pointing a stage's subprocess at the lake, tables, framework and
    pseudonymization of ``settings`` (a lake of the test's own), plus ``overrides``."""
    key = settings.pseudonym_key.reveal()
    return subprocess_env(
        DATALAKE_ROOT=settings.root, HBASE_TABLE_PREFIX=settings.table_prefix, DATALAKE_HDFS_USER=settings.hdfs_user,
        DATALAKE_WEBHDFS_URL=settings.webhdfs_url, DATALAKE_MR_FRAMEWORK=settings.mr_framework,
        DATALAKE_PSEUDONYMIZE="1" if settings.pseudonymize else "0", **({"DATALAKE_PSEUDONYM_KEY": key} if key else {}),
        **overrides)


# ---------------------------------------------------------------------------------------------
# The day's chain after collection, as the DAG runs it

#: the day of tests/faults/conftest.py's ``chain_day``, and the key its lakes pseudonymize with
CHAIN_DAY = dt.date(2026, 8, 24)
KEY = "kill-matrix-key-5b0e"


def fault_lake(settings, name: str):
    """Settings of a lake and table prefix of the test's own (``name``), the local job runner,
    pseudonymized with the suite's key."""
    return settings.with_overrides(root=posixpath.join(settings.root, "faults", name),
                                   table_prefix=f"{settings.table_prefix}f{name.replace('-', '')}", mr_framework="local",
                                   pseudonymize=True, pseudonym_key=Secret(KEY))


def day_chain_code(day) -> str:
    """Code for :func:`python_command`: the MapReduce stage and the HBase load of ``day``, each
    raising what failed, configured from the environment (:func:`lake_env`)."""
    return f"""
import datetime as dt, logging
import hbase, mapreduce
from datalake.settings import Settings
logging.basicConfig(level=logging.INFO)
settings, days = Settings.from_env(), [dt.date.fromisoformat("{day.isoformat()}")]
mapreduce.run(settings, days).raise_for_failures()
hbase.run(settings, days).raise_for_failures()
"""


def run_day_chain(settings, day) -> None:
    """:func:`day_chain_code` in this process (a clean run, or the retry after a fault)."""
    import hbase
    import mapreduce

    mapreduce.run(settings, [day]).raise_for_failures()
    hbase.run(settings, [day]).raise_for_failures()
