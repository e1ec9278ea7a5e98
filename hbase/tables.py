"""The tables of DESIGN.md (the seven, the second wave's five, and day_table), how they are created,
and the Thrift connection to them.

Every table has the families ``data`` (all-time values) and ``daily`` (one qualifier per day).
Settings chosen for this access pattern (point reads/writes by row key, small values, a value
rewritten on every reload of a day):

* ``VERSIONS => 1``: a reload overwrites a cell; old versions would only cost space and reads.
* ``BLOOMFILTER => ROW``: the loader reads back the rows it touched with multi-gets; row bloom
  filters let a get skip store files that cannot hold the row.
* ``COMPRESSION => GZ``: works with the JDK's own codec, no native Hadoop libraries needed.
* ``BLOCKCACHE => true``: stated explicitly because the Thrift v1 ``ColumnDescriptor`` defaults
  ``blockCacheEnabled`` to *false* (a table created over Thrift with the defaults has no block
  cache, unlike one created from the shell).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import happybase

from datalake import hbase_connection
from datalake.hbase_connection import THRIFT_ERRORS, open_hbase
from datalake.settings import Settings
from hbase.errors import LoadError

log = logging.getLogger(__name__)

FAMILY_OPTIONS = dict(max_versions=1, bloom_filter_type="ROW", compression="GZ", block_cache_enabled=True)
FAMILIES = {"data": dict(FAMILY_OPTIONS), "daily": dict(FAMILY_OPTIONS)}

# metric (aggregates zone directory) -> the tables its load writes, main table first
METRIC_TABLES: dict[str, tuple[str, ...]] = {
    "languages": ("language_table",),
    "users": ("user_table",),
    "growth": ("croissance_table", "croissance_accounts_table"),
    "urls": ("url_table",),
    "media": ("toot_with_media_table",),
    "tags": ("tag_table",),
    "emojis": ("emoji_table",),
    "apps": ("app_table",),
    "hours": ("hour_table",),
    "kinds": ("toot_kind_table",),
    "instances": ("instance_table",),
    "sentiment": ("sentiment_table",),
}
METRICS: tuple[str, ...] = tuple(METRIC_TABLES)
#: one row per day: is it whole (hbase/day_table.py)
DAY_TABLE = "day_table"
METRIC_TABLE_NAMES: tuple[str, ...] = tuple(table for tables in METRIC_TABLES.values() for table in tables)
ALL_TABLES: tuple[str, ...] = METRIC_TABLE_NAMES + (DAY_TABLE,)
COUNT_METRICS = ("languages", "urls", "media", "tags", "emojis", "apps", "hours", "kinds", "instances", "sentiment")

__all__ = ["THRIFT_ERRORS", "connect", "ensure_tables"]
DEFAULT_TIMEOUT_S = 120.0


def describe_target(settings: Settings) -> str:
    return hbase_connection.describe_target(settings.hbase_host, settings.hbase_port, settings.table_prefix)


def connect(settings: Settings, timeout_s: float = DEFAULT_TIMEOUT_S) -> happybase.Connection:
    """An open connection to the configured HBase; LoadError, saying what to do, when it cannot be reached."""
    return open_hbase(settings.hbase_host, settings.hbase_port, settings.table_prefix, timeout_s, error=LoadError)


@dataclass(frozen=True)
class EnsureResult:
    created: tuple[str, ...]
    existing: tuple[str, ...]


def ensure_tables(connection: happybase.Connection, tables: tuple[str, ...] | list[str] = ALL_TABLES) -> EnsureResult:
    """Create the tables that are missing; existing tables are left untouched.

    An existing table must still have both families, else the load could not write to it:
    that is a LoadError saying which family is missing. Safe to run concurrently (a table
    created meanwhile by another process counts as existing).
    """
    unknown = [name for name in tables if name not in ALL_TABLES]
    if unknown:
        raise LoadError(f"unknown table(s) {', '.join(unknown)}; the tables are {', '.join(ALL_TABLES)}")
    try:
        present = {name.decode("utf-8") for name in connection.tables()}
    except THRIFT_ERRORS as exc:
        raise LoadError(f"listing the HBase tables failed: {type(exc).__name__}: {exc}; "
                        "check that HBase and its Thrift server run (`make status`)") from exc
    created, existing = [], []
    for name in tables:
        if name in present:
            existing.append(name)
            _check_families(connection, name)
            continue
        try:
            connection.create_table(name, FAMILIES)
            created.append(name)
            log.info("created HBase table %s (families data, daily: VERSIONS 1, BLOOMFILTER ROW, "
                     "COMPRESSION GZ)", _full_name(connection, name))
        except THRIFT_ERRORS as exc:
            # another loader may have created it between our listing and our create
            if name.encode() in connection.tables():
                existing.append(name)
                continue
            raise LoadError(f"table {_full_name(connection, name)}: creating it failed: "
                            f"{type(exc).__name__}: {exc}; check the HBase master log (var/log/) "
                            "and the master UI http://localhost:16010") from exc
    return EnsureResult(tuple(created), tuple(existing))


def _check_families(connection: happybase.Connection, name: str) -> None:
    try:
        families = {family.decode("utf-8") for family in connection.table(name).families()}
    except THRIFT_ERRORS as exc:
        raise LoadError(f"table {_full_name(connection, name)}: reading its families failed: {exc}") from exc
    missing = sorted(set(FAMILIES) - families)
    if missing:
        raise LoadError(
            f"table {_full_name(connection, name)} exists without the column famil"
            f"{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)} that the loader writes; "
            f"add {'it' if len(missing) == 1 else 'them'} in the HBase shell (alter '{_full_name(connection, name)}', "
            "{NAME => 'daily', VERSIONS => 1, BLOOMFILTER => 'ROW', COMPRESSION => 'GZ'}) "
            "or drop the table and let the loader create it")


def _full_name(connection: happybase.Connection, name: str) -> str:
    return connection._table_name(name).decode("utf-8")  # noqa: SLF001 - the name HBase shows


def table_for(name_or_metric: str) -> str:
    """``languages`` or ``language_table`` -> ``language_table`` (for the CLI)."""
    if name_or_metric in ALL_TABLES:
        return name_or_metric
    if name_or_metric in METRIC_TABLES:
        return METRIC_TABLES[name_or_metric][0]
    raise LoadError(f"unknown table or metric {name_or_metric!r}; tables: {', '.join(ALL_TABLES)}; "
                    f"metrics: {', '.join(METRICS)}")
