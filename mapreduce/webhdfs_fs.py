"""mrjob's calls on HDFS through WebHDFS in this process, instead of a ``hadoop fs`` JVM each.

Before a job on YARN mrjob makes its HDFS working directory and uploads the job's files one
``hadoop fs -mkdir``/``-put`` at a time, and removes the directory after: every call starts a JVM
(2-3 s on a 2-core machine), 10-12 s of a small job. :class:`WebHdfsFilesystem` does the writing
and testing calls (mkdir, put, touchz, rm, exists, du) with the lake's WebHDFS client, on the
same NameNode (``DATALAKE_WEBHDFS_URL``) as the same user; globs, listing and reading (ls, cat,
md5sum: mrjob's log parsing after a failure) stay with ``hadoop fs``.
"""
from __future__ import annotations

import posixpath
from urllib.parse import urlparse

from hdfs.util import HdfsError
from mrjob.fs.base import Filesystem

_GLOB = set("*?[{")


def _is_glob(path: str) -> bool:
    return bool(_GLOB & set(path))


class WebHdfsFilesystem(Filesystem):
    """``hdfs://`` paths through ``client`` (an hdfs.InsecureClient); what it leaves to
    ``fallback`` (mrjob's HadoopFilesystem) goes there."""

    def __init__(self, client, fallback):
        self._client, self._fallback = client, fallback

    def can_handle_path(self, path):
        return path.startswith("hdfs://")

    @staticmethod
    def _path(uri: str) -> str:
        return urlparse(uri).path or "/"

    def _io(self, what: str, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except HdfsError as error:  # mrjob expects IOError from a filesystem
            raise IOError(f"WebHDFS {what} failed: {error}") from error

    def mkdir(self, path):
        self._io(f"mkdir {path}", self._client.makedirs, self._path(path))

    def put(self, src, path):
        if path.endswith("/"):
            path = posixpath.join(path, posixpath.basename(src))
        self._io(f"put {src} -> {path}", self._client.upload, self._path(path), src, overwrite=False)

    def touchz(self, path):
        self._io(f"touchz {path}", self._client.write, self._path(path), data=b"", overwrite=False)

    def rm(self, path_glob):
        if _is_glob(path_glob):
            return self._fallback.rm(path_glob)
        self._io(f"rm {path_glob}", self._client.delete, self._path(path_glob), recursive=True)

    def exists(self, path_glob):
        if _is_glob(path_glob):
            return self._fallback.exists(path_glob)
        return self._io(f"status {path_glob}", self._client.status, self._path(path_glob), strict=False) is not None

    def du(self, path_glob):
        if _is_glob(path_glob):
            return self._fallback.du(path_glob)
        summary = self._io(f"du {path_glob}", self._client.content, self._path(path_glob), strict=False)
        return summary["length"] if summary else 0

    def ls(self, path_glob):
        return self._fallback.ls(path_glob)

    def _cat_file(self, path):
        return self._fallback._cat_file(path)  # noqa: SLF001

    def md5sum(self, path):
        return self._fallback.md5sum(path)
