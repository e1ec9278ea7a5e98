"""Locks in HDFS, with an owner and an expiry: two collections of one instance, or two HBase
loads, never overlap, whether they come from the daily DAG, the hourly DAG, a retry racing a
zombie task, or the command line.

A lock is the file ``state/locks/<name>.json`` holding ``{"owner", "acquired_at", "expires_at"}``.
Taking it is one NameNode create that fails when the file exists (WebHDFS CREATE with
``overwrite=false``), so of two takers exactly one wins. Its owner deletes it when done; a
holder killed without cleaning up (SIGKILL, a lost node) leaves it to expire: a lock older than
its ``expires_at`` is broken by the next taker, who says so in its log; so is, at once, a lock
whose owner ran on the taker's own host in a process that no longer exists (a killed CLI run).
Expiries are set longer than the holder can run (a task's execution_timeout), so a live holder is
never broken. Breaking an expired lock reads it again just before deleting it; two takers breaking
the same expired lock at the same instant is the one race left, and needs a holder dead for longer
than its expiry.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid

from hdfs import HdfsError

from datalake.errors import LakeError
from datalake.lake import LakeLayout, delete_quietly, read_json

log = logging.getLogger(__name__)


def owner_name(purpose: str) -> str:
    """Who holds a lock: host, process, purpose and a unique part (a retry is another owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{purpose}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str) -> bool:
    """The owner (:func:`owner_name`) ran on this host in a process that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class HdfsLock:
    """One named lock of the lake; ``with HdfsLock(...) as lock: if lock.held: ...``."""

    def __init__(self, client, layout: LakeLayout, name: str, owner: str, ttl_s: float, *,
                 wait_s: float = 0.0, poll_s: float = 2.0, clock=time.time, sleep=time.sleep):
        self.client, self.path, self.name = client, layout.lock(name), name
        self.owner, self.ttl_s, self.wait_s, self.poll_s = owner, ttl_s, wait_s, poll_s
        self.clock, self.sleep = clock, sleep
        self.held = False
        self.holder: dict | None = None  # who held it when it could not be taken

    def acquire(self) -> bool:
        deadline = self.clock() + self.wait_s
        while True:
            if self._create():
                self.held = True
                return True
            self.holder = self._read()
            why = self._why_broken(self.holder)
            if why:
                log.warning("lock %s: breaking the lock of %s (%s)", self.name, self.holder.get("owner"), why)
                if self._read() == self.holder:
                    delete_quietly(self.client, self.path)
                continue
            if self.clock() >= deadline:
                return False
            self.sleep(min(self.poll_s, max(0.0, deadline - self.clock())))

    def _why_broken(self, holder: dict | None) -> str:
        """Why a lock held by ``holder`` may be broken (its expiry passed, its process is gone), or ''."""
        if holder is None:
            return ""
        expires_at = float(holder.get("expires_at", 0))
        if expires_at < self.clock():
            return "expired at " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_at))
        if owner_gone(str(holder.get("owner", ""))):
            return "its process on this host is gone"
        return ""

    def _create(self) -> bool:
        now = self.clock()
        record = {"owner": self.owner, "acquired_at": now, "expires_at": now + self.ttl_s}
        try:
            self.client.makedirs(self.path.rsplit("/", 1)[0])
            self.client.write(self.path, data=json.dumps(record).encode("utf-8"), overwrite=False)
            return True
        except HdfsError as error:
            text = str(error)
            if any(sign in text for sign in ("AlreadyExists", "already exists", "lease is currently owned",
                                             "AlreadyBeingCreated")):
                return False  # another taker was first (its create may still be going on)
            raise LakeError(f"taking the lock {self.path} on HDFS failed: {error}") from error

    def _read(self) -> dict | None:
        try:
            record = read_json(self.client, self.path)
        except ValueError:
            record = None
            status = self.client.status(self.path, strict=False)
            if status is None:
                return None
            # being written by its taker, or left half-written by one that died: it expires a ttl after its creation
            return {"owner": "a taker still writing it", "acquired_at": status["modificationTime"] / 1000,
                    "expires_at": status["modificationTime"] / 1000 + self.ttl_s}
        return record if isinstance(record, dict) else None

    def release(self) -> None:
        """Delete the lock if it is still ours (it may have expired and been taken since)."""
        if not self.held:
            return
        self.held = False
        current = self._read()
        if current is not None and current.get("owner") == self.owner:
            delete_quietly(self.client, self.path)
        else:
            log.warning("lock %s: it was no longer ours when we released it (now %s): our run outlived its expiry",
                        self.name, (current or {}).get("owner"))

    def describe_holder(self) -> str:
        if not self.holder:
            return "another run"
        acquired = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(self.holder.get("acquired_at", 0))))
        return f"{self.holder.get('owner')} (since {acquired})"

    def __enter__(self) -> "HdfsLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
