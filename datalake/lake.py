"""The HDFS data-lake layout (DESIGN.md) and the WebHDFS operations every stage shares.

Paths are built only here. Writers never let a reader see half a file: data goes to a
temporary name in the same directory and is renamed into place (WebHDFS RENAME with
``renameoptions=OVERWRITE`` replaces a file in one step on the NameNode).
"""
from __future__ import annotations

import datetime as dt
import posixpath
import uuid
from dataclasses import dataclass
from typing import Iterator

from hdfs import HdfsError, InsecureClient

from datalake.settings import Settings

TMP_PREFIX = "_tmp."


class LakeError(Exception):
    """An HDFS operation of the lake failed; the message names the path and the cause."""


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

    def work(self, name: str) -> str:
        """Scratch space for a run (job outputs before they are renamed into a zone)."""
        return posixpath.join(self.root, "_work", name)


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
        _delete_quietly(client, tmp)
        raise LakeError(f"writing {path} on HDFS failed: {error}") from error
    except BaseException:
        _delete_quietly(client, tmp)
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
    except HdfsError as error:
        raise LakeError(f"moving {source} into place at {destination} failed: {error}") from error


def _delete_quietly(client: InsecureClient, path: str) -> None:
    try:
        client.delete(path, recursive=True)
    except Exception:  # noqa: BLE001 - cleanup of a temp file must not hide the real error
        pass


def list_names(client: InsecureClient, path: str) -> list[str]:
    """The sorted entry names of a directory; [] when it does not exist, LakeError on other failures."""
    try:
        return sorted(client.list(path))
    except HdfsError as error:
        if "FileNotFoundException" in str(error) or "does not exist" in str(error):
            return []
        raise LakeError(f"listing {path} on HDFS failed: {error}") from error


def list_files(client: InsecureClient, directory: str) -> list[str]:
    """Full paths of the finished data files in a directory (no temp, _SUCCESS or hidden files)."""
    try:
        names = client.list(directory)
    except HdfsError:
        return []
    return [posixpath.join(directory, name) for name in sorted(names)
            if not name.startswith((TMP_PREFIX, "_", "."))]
