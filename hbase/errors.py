"""The one error type of the HBase boundary."""
from __future__ import annotations

from datalake.errors import DatalakeError


class LoadError(DatalakeError):
    """Creating, loading or reading the HBase tables failed.

    The message says which table/day/file, what failed, and what to do, e.g.
    ``"user_table / day 2026-11-18: writing daily cells failed (...); the load is safe to re-run:
    python -m hbase load --date 2026-11-18 --metrics users"``.
    """
