"""The HBase stage: the aggregates zone → the HBase tables (happybase over Thrift), and day_table.

The stage contract (datalake/report.py): :func:`run` over settings and days returns a
:class:`hbase.stage.HBaseReport`; ``python -m hbase`` and the DAG call it.
"""
from __future__ import annotations


def run(settings, days, metrics=None, **options):
    """Load each of ``days`` into HBase, write its day_table row; see hbase/stage.py."""
    from hbase.stage import run as run_stage

    return run_stage(settings, days, metrics, **options)


def person_in_hbase(settings):
    """A person's rows in HBase, for the erasure (hbase/erasure.py ``PersonInHBase``; a context manager)."""
    from hbase.erasure import PersonInHBase

    return PersonInHBase(settings)


def days_of(rows) -> set[str]:
    """The days a person's rows hold (``daily:<dt>`` cells)."""
    from hbase.erasure import days_of as rows_days

    return rows_days(rows)
