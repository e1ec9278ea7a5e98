"""Private local directories of the jobs (the pseudonym key, mrjob's files), swept after a kill.

Each job, and each shipped copy of the pseudonym key, gets its own mode-700 directory named by the
process that made it (pid, start time, host); the next run removes the directories of processes
that are gone, since a SIGKILL skips every ``finally``.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


#: under the local scratch: one directory per job (and per shipped pseudonym key), mode 700
PRIVATE_DIRS = "private"


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid,
    it names one process even after the pid is reused; "0" where /proc cannot tell."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def owner_tag() -> str:
    """``<pid>+<start>+<host>``: how the names of this process's private files start."""
    return f"{os.getpid()}+{_process_start(os.getpid())}+{socket.gethostname()}"


def private_dir(scratch: str | Path, label: str) -> Path:
    """A new mode-700 directory ``<scratch>/private/<pid>+<start>+<host>+<label>+<random>`` (parent
    mode 700 too): what is in it is this process's alone, and :func:`sweep_private_dirs` removes it
    once this process is gone, however it ended."""
    parent = Path(scratch) / PRIVATE_DIRS
    parent.mkdir(parents=True, exist_ok=True)
    os.chmod(parent, 0o700)
    return Path(tempfile.mkdtemp(prefix=f"{owner_tag()}+{label}+", dir=parent))  # mkdtemp: mode 700


def owner_alive(name: str) -> bool:
    """Whether the process that named ``name`` (``<pid>+<start>+<host>+...``) still runs; True when the
    name is not ours to judge (another host, or not such a name)."""
    try:
        pid_text, start, owner_host = name.split("+", 3)[:3]
        pid = int(pid_text)
    except ValueError:
        return True
    if owner_host != socket.gethostname():
        return True
    if start != "0" and Path("/proc").is_dir():
        return _process_start(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_private_dirs(scratch: str | Path) -> list[Path]:
    """Remove the private directories whose process is gone (a SIGKILL skips every ``finally``)."""
    parent = Path(scratch) / PRIVATE_DIRS
    removed = []
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return removed
    for name in names:
        if not owner_alive(name):
            shutil.rmtree(parent / name, ignore_errors=True)
            removed.append(parent / name)
    if removed:
        log.info("removed %d private scratch dir(s) of processes that are gone under %s", len(removed), parent)
    return removed
