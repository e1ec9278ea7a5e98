"""The per-day manifest of loaded row keys: ``/datalake/state/hbase/<metric>/dt=<D>.json``.

It answers "which rows may hold a ``daily:<D>`` cell of this metric?", so that a reload of the
day removes the cells of rows the new load no longer has (a day that shrank), and recomputes
their all-time cells.

Write order (why an interrupted load cannot leave a stale cell behind): before the first
mutation the loader writes the manifest in state ``loading`` with the union of the previous
manifest's keys and the new keys; only after the last mutation does it write the new keys alone
in state ``loaded``. Any row a load (even a crashed one) may have written is therefore always
listed, and the next load of the day cleans it up, whatever input that next load gets.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Mapping

from hdfs import HdfsError

from datalake.lake import LakeError, write_atomic
from hbase.errors import LoadError

LOADING = "loading"
LOADED = "loaded"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    metric: str
    day: dt.date
    state: str  # LOADING | LOADED
    tables: Mapping[str, frozenset[str]] = field(default_factory=dict)
    updated_at: str = ""

    def keys(self, table: str) -> frozenset[str]:
        return self.tables.get(table, frozenset())

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT_VERSION, "metric": self.metric, "day": self.day.isoformat(), "state": self.state,
            "updated_at": self.updated_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "rows": {table: len(keys) for table, keys in sorted(self.tables.items())},
            "tables": {table: sorted(keys) for table, keys in sorted(self.tables.items())},
        }, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, source: str = "manifest") -> "Manifest":
        try:
            record = json.loads(data.decode("utf-8"))
            return cls(metric=record["metric"], day=dt.date.fromisoformat(record["day"]), state=record["state"],
                       tables={table: frozenset(keys) for table, keys in record["tables"].items()},
                       updated_at=record.get("updated_at", ""))
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LoadError(f"{source} is not a loader manifest ({type(exc).__name__}: {exc}); it was damaged or "
                            "written by something else. Move it aside and reload the day: without it, cells of "
                            "rows that left the day since its last load cannot be found and stay") from None


def stale_keys(previous: Manifest | None, current: Mapping[str, set[str] | frozenset[str]]) -> dict[str, set[str]]:
    """Per table, the rows the previous load of the day listed that the current load does not have."""
    if previous is None:
        return {table: set() for table in current}
    return {table: set(previous.keys(table)) - set(keys) for table, keys in current.items()}


def pending(previous: Manifest | None, metric: str, day: dt.date,
            current: Mapping[str, set[str] | frozenset[str]]) -> Manifest:
    """The ``loading`` manifest written before any mutation: previous keys ∪ current keys."""
    tables = {table: frozenset(keys) | (previous.keys(table) if previous else frozenset())
              for table, keys in current.items()}
    return Manifest(metric, day, LOADING, tables)


def loaded(metric: str, day: dt.date, current: Mapping[str, set[str] | frozenset[str]]) -> Manifest:
    return Manifest(metric, day, LOADED, {table: frozenset(keys) for table, keys in current.items()})


def read_manifest(client, path: str) -> Manifest | None:
    try:
        if client.status(path, strict=False) is None:
            return None
        with client.read(path) as reader:
            data = reader.read()
    except (HdfsError, OSError) as exc:
        raise LoadError(f"HDFS: reading the loader manifest {path} failed: {exc}; is HDFS running "
                        "(`make status`)? The load is safe to re-run.") from exc
    return Manifest.from_json(data, source=path)


def write_manifest(client, path: str, manifest: Manifest) -> None:
    try:
        write_atomic(client, path, manifest.to_json())
    except (LakeError, HdfsError, OSError) as exc:
        raise LoadError(f"HDFS: writing the loader manifest {path} failed: {exc}; is HDFS running "
                        "(`make status`)? The load is safe to re-run.") from exc
