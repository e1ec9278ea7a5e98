"""The HDFS data-lake layout (DESIGN.md) and the WebHDFS operations every stage shares.

Paths are built only here. Writers never let a reader see half a file: data goes to a
temporary name in the same directory and is renamed into place (WebHDFS RENAME with
``renameoptions=OVERWRITE`` replaces a file in one step on the NameNode).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import posixpath
import re
import uuid
from dataclasses import dataclass
from typing import Iterator

from hdfs import HdfsError, InsecureClient

from datalake.errors import LakeError
from datalake.settings import Settings

TMP_PREFIX = "_tmp."
__all__ = ["LakeError", "LakeLayout", "TMP_PREFIX", "delete_quietly", "exists", "hdfs_client", "layout",
           "list_files", "list_names", "partition_name_day", "prepare_lake", "read_bytes", "read_json", "rename_over",
           "replace_directory", "temp_sibling", "write_atomic"]

log = logging.getLogger(__name__)

#: a day's partition ``dt=YYYY-MM-DD``, or a copy of one beside it under a temporary name
#: (``_tmp.dt=YYYY-MM-DD.<random>``, ``….old``: a directory swap that was killed, :func:`replace_directory`)
_PARTITION_NAME = re.compile(r"^(?:dt=(\d{4}-\d{2}-\d{2})|_tmp\.dt=(\d{4}-\d{2}-\d{2})\..+)$")


@dataclass(frozen=True)
class LakeLayout:
    """Where each zone lives under the lake root (default /datalake)."""

    root: str = "/datalake"

    @property
    def raw_root(self) -> str:
        """The directory of every instance's raw partitions (``instance=<host>/dt=<day>``)."""
        return posixpath.join(self.root, "raw", "mastodon")

    @property
    def curated_root(self) -> str:
        return posixpath.join(self.root, "curated", "statuses")

    @property
    def quarantine_root(self) -> str:
        """The directory of every stage's quarantine (``<stage>/dt=<day>``)."""
        return posixpath.join(self.root, "quarantine")

    def erasure_list(self) -> str:
        """The erasure list: keyed digests of the handles erased (never a handle); datalake/erasure.py."""
        return posixpath.join(self.root, "state", "privacy", "erasure-list.json")

    def raw_instance(self, instance_host: str) -> str:
        return posixpath.join(self.root, "raw", "mastodon", f"instance={instance_host}")

    def raw_partition(self, instance_host: str, day: dt.date) -> str:
        return posixpath.join(self.raw_instance(instance_host), f"dt={day.isoformat()}")

    def raw_day_glob(self, day: dt.date) -> str:
        return posixpath.join(self.root, "raw", "mastodon", "instance=*", f"dt={day.isoformat()}")

    def checkpoint(self, instance_host: str) -> str:
        return posixpath.join(self.root, "state", "mastodon", f"instance={instance_host}", "checkpoint.json")

    def collection_day_state(self, instance_host: str, day: dt.date) -> str:
        """How far an instance's day was collected (collection/rawzone.py DayState)."""
        return posixpath.join(self.root, "state", "mastodon", f"instance={instance_host}", "days",
                              f"dt={day.isoformat()}.json")

    @property
    def collection_state_root(self) -> str:
        """The directory of every instance's state (``instance=<host>/checkpoint.json``, ``days/``)."""
        return posixpath.join(self.root, "state", "mastodon")

    def pending(self, day: dt.date) -> str:
        """Tokens saying the day's raw partitions changed since it was last loaded (one file per change)."""
        return posixpath.join(self.pending_root, f"dt={day.isoformat()}")

    @property
    def pending_root(self) -> str:
        return posixpath.join(self.root, "state", "pipeline", "pending")

    def curated(self, day: dt.date) -> str:
        return posixpath.join(self.root, "curated", "statuses", f"dt={day.isoformat()}")

    @property
    def curated_parquet_root(self) -> str:
        """The Parquet copy of the curated zone (``dt=<day>/part-*.parquet``), for pandas / DuckDB / Spark."""
        return posixpath.join(self.root, "curated", "statuses_parquet")

    def curated_parquet(self, day: dt.date) -> str:
        return posixpath.join(self.curated_parquet_root, f"dt={day.isoformat()}")

    def aggregates(self, metric: str, day: dt.date) -> str:
        return posixpath.join(self.root, "aggregates", metric, f"dt={day.isoformat()}")

    def quarantine(self, stage: str, day: dt.date) -> str:
        return posixpath.join(self.root, "quarantine", stage, f"dt={day.isoformat()}")

    def hbase_manifest(self, metric: str, day: dt.date) -> str:
        """Row keys the HBase loader wrote for a metric's day (to remove stale cells on reload)."""
        return posixpath.join(self.root, "state", "hbase", metric, f"dt={day.isoformat()}.json")

    def lock(self, name: str) -> str:
        """A lock of the lake (datalake/locks.py): ``state/locks/<name>.json``."""
        return posixpath.join(self.root, "state", "locks", f"{name}.json")

    @property
    def work_root(self) -> str:
        return posixpath.join(self.root, "_work")

    def work(self, name: str) -> str:
        """Scratch space for a run (job outputs before they are renamed into a zone)."""
        return posixpath.join(self.work_root, name)


_INSTANCE_IN_PATH = re.compile(r"/instance=([^/]+)/")


def instance_from_path(path: str | None) -> str | None:
    """The instance domain of a raw-zone path (``.../instance=<domain>/dt=.../part-...``)."""
    match = _INSTANCE_IN_PATH.search(path or "")
    return match.group(1).strip().lower() if match else None


#: Modes of the zones under the lake root (docs/personal-data.md, "Who may read what"). The
#: private zones hold personal data in clear (raw, quarantine), the collector's and the loader's
#: state and the runs' scratch: only the lake's HDFS user may enter them, whatever the modes of
#: the files inside. The analytic zones hold pseudonyms and counts: every HDFS user may read them.
PRIVATE_ZONES = ("raw", "quarantine", "state", "_work")
ANALYTIC_ZONES = ("curated", "aggregates")
PRIVATE_MODE, ANALYTIC_MODE, ROOT_MODE = "700", "755", "755"


def prepare_lake(client: InsecureClient, lake: LakeLayout, user: str) -> list[str]:
    """Create the lake root and its zones with their modes, and bring a private zone that is more
    open than 700 back to 700 (the NameNode enforces them with ``dfs.permissions.enabled``).
    An analytic zone that exists keeps the mode an operator gave it. Every stage that writes calls
    this first; it costs two or three NameNode calls. Returns what it changed. LakeError when
    ``user`` may not do it (the root belongs to someone else: an administrator creates it for the
    service user, as `stack/stackctl.py` does on the local stack)."""
    changed = []
    try:
        if client.status(lake.root, strict=False) is None:
            client.makedirs(lake.root, permission=ROOT_MODE)
            changed.append(f"created {lake.root} ({ROOT_MODE})")
        present = dict(client.list(lake.root, status=True))
        for zone, mode in [(zone, PRIVATE_MODE) for zone in PRIVATE_ZONES] + [(zone, ANALYTIC_MODE) for zone in ANALYTIC_ZONES]:
            path = posixpath.join(lake.root, zone)
            status = present.get(zone)
            if status is None:
                client.makedirs(path, permission=mode)
                client.set_permission(path, mode)  # the NameNode applies its umask to MKDIRS
                changed.append(f"created {path} ({mode})")
            elif mode == PRIVATE_MODE and status["permission"] != PRIVATE_MODE:
                if status["owner"] != user:
                    raise LakeError(f"{path} is mode {status['permission']} and owned by {status['owner']}, not by the "
                                    f"lake's HDFS user {user}: it holds personal data; `hdfs dfs -chown -R {user} {path}` "
                                    f"and `-chmod 700` it as an HDFS administrator")
                client.set_permission(path, PRIVATE_MODE)
                changed.append(f"{path}: mode {status['permission']} -> {PRIVATE_MODE}")
                log.warning("%s was mode %s: back to %s (it holds personal data or the lake's state)", path,
                            status["permission"], PRIVATE_MODE)
    except HdfsError as error:
        raise LakeError(f"preparing the lake {lake.root} as HDFS user {user} failed: {error}; the root must exist and "
                        f"belong to {user} (an HDFS administrator: `hdfs dfs -mkdir -p {lake.root} && hdfs dfs -chown "
                        f"{user} {lake.root}`)") from error
    return changed


def hdfs_client(settings: Settings, timeout: float = 60.0) -> InsecureClient:
    return InsecureClient(settings.webhdfs_url, user=settings.hdfs_user, timeout=timeout)


def layout(settings: Settings) -> LakeLayout:
    return LakeLayout(settings.root)


def temp_sibling(path: str) -> str:
    """A unique temporary name beside ``path`` (same directory, so the rename stays local)."""
    return posixpath.join(posixpath.dirname(path), f"{TMP_PREFIX}{posixpath.basename(path)}.{uuid.uuid4().hex[:12]}")


def rename_over(client: InsecureClient, source: str, destination: str) -> None:
    """Rename a file onto ``destination``, replacing it atomically if it exists."""
    try:
        client._rename(source, destination=destination, renameoptions="OVERWRITE")  # noqa: SLF001
    except HdfsError as error:
        raise LakeError(f"HDFS rename {source} -> {destination} failed: {error}") from error


def write_atomic(client: InsecureClient, path: str, data: bytes | Iterator[bytes]) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    tmp = temp_sibling(path)
    try:
        client.makedirs(posixpath.dirname(path))
        client.write(tmp, data=data, overwrite=True)
        rename_over(client, tmp, path)
    except HdfsError as error:
        delete_quietly(client, tmp)
        raise LakeError(f"writing {path} on HDFS failed: {error}") from error
    except BaseException:
        delete_quietly(client, tmp)
        raise


def replace_directory(client: InsecureClient, source: str, destination: str) -> None:
    """Move a finished output directory into place, replacing what was there.

    HDFS cannot rename a directory onto a non-empty one, so the old one is first renamed
    aside, then the new one into place, then the old one deleted: at no point is data lost,
    and a reader sees the old or the new partition whole.
    """
    try:
        client.makedirs(posixpath.dirname(destination))
        old = None
        if client.status(destination, strict=False) is not None:
            old = temp_sibling(destination) + ".old"
            client.rename(destination, old)
        client.rename(source, destination)
        if old:
            client.delete(old, recursive=True)
        # a swap killed between its renames left its old copy aside: superseded now, like ours
        aside = f"{TMP_PREFIX}{posixpath.basename(destination)}."
        for name in list_names(client, posixpath.dirname(destination)):
            if name.startswith(aside) and name.endswith(".old"):
                delete_quietly(client, posixpath.join(posixpath.dirname(destination), name))
    except HdfsError as error:
        raise LakeError(f"moving {source} into place at {destination} failed: {error}") from error


def partition_name_day(name: str) -> dt.date | None:
    """The day of a partition's directory name, or of a leftover copy of one (``_tmp.dt=<day>.…``), so
    that retention and erasure reach the copies too; None for any other name."""
    match = _PARTITION_NAME.match(name)
    if not match:
        return None
    try:
        return dt.date.fromisoformat(match.group(1) or match.group(2))
    except ValueError:
        return None


def delete_quietly(client: InsecureClient, path: str) -> None:
    """Delete a path (recursively) if it exists; any failure is ignored: for cleanup of temporary
    files and scratch directories, which must never hide the error being handled."""
    try:
        client.delete(path, recursive=True)
    except Exception:  # noqa: BLE001 - cleanup of a temp file must not hide the real error
        pass


def _missing(error: HdfsError) -> bool:
    text = str(error)
    return getattr(error, "exception", None) == "FileNotFoundException" or "FileNotFoundException" in text \
        or "does not exist" in text or text.endswith(" not found.")


def exists(client: InsecureClient, path: str) -> bool:
    try:
        return client.status(path, strict=False) is not None
    except HdfsError as error:
        raise LakeError(f"checking {path} on HDFS failed: {error}") from error


def read_bytes(client: InsecureClient, path: str) -> bytes | None:
    """The whole content of a (small) file; None when it does not exist."""
    try:
        with client.read(path) as reader:
            return reader.read()
    except HdfsError as error:
        if _missing(error):
            return None
        raise LakeError(f"reading {path} on HDFS failed: {error}") from error


def read_json(client: InsecureClient, path: str):
    """A small JSON file (state, manifests, lists) parsed; None when it does not exist.
    ValueError names the file when it is not JSON."""
    data = read_bytes(client, path)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None


def list_names(client: InsecureClient, path: str) -> list[str]:
    """The sorted entry names of a directory; [] when it does not exist, LakeError on other failures."""
    try:
        return sorted(client.list(path))
    except HdfsError as error:
        if _missing(error):
            return []
        raise LakeError(f"listing {path} on HDFS failed: {error}") from error


def list_files(client: InsecureClient, directory: str) -> list[str]:
    """Full paths of the finished data files in a directory (no temp, _SUCCESS or hidden files)."""
    return [posixpath.join(directory, name) for name in list_names(client, directory)
            if not name.startswith((TMP_PREFIX, "_", "."))]
