"""The day the chain's fault tests share: one generated day (120 statuses, 3 instances), and its
clean run (the MapReduce stage and the HBase load) computed once for the session. A test strikes
its own faulted lake (``chain_day.lake(name)``) holding the same day and compares it with the clean
run's lake listing and HBase dump: the listings are relative to the lake root and the dumps to
the table prefix, so any two lakes compare.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from datalake.lake import layout
from hbase.inspect import drop_tables
from tests.faults.tools import CHAIN_DAY, fault_lake, lake_and_hbase, run_day_chain
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs


@dataclass
class ChainDay:
    """The clean run's (lake listing, HBase dump), and :meth:`lake` for a faulted lake of the same day."""

    settings: object
    client: object
    day: object
    clean: tuple = ()
    written: list = field(default_factory=list)

    def lake(self, name: str):
        """A lake of its own (:func:`tools.fault_lake`) holding the day's raw zone."""
        lake = fault_lake(self.settings, name)
        self.written.append(lake)
        write_day_to_hdfs(self.client, layout(lake), self.day, parts_per_instance=2)
        return lake


@pytest.fixture(scope="session")
def chain_day(settings, hdfs_client):
    chain = ChainDay(settings, hdfs_client, generate_day(CHAIN_DAY, 120, seed=24))
    try:
        clean = chain.lake("chain-clean")
        run_day_chain(clean, CHAIN_DAY)
        chain.clean = lake_and_hbase(hdfs_client, clean)
        yield chain
    finally:
        for lake in chain.written:
            drop_tables(lake.hbase_host, lake.hbase_port, lake.table_prefix)
            hdfs_client.delete(lake.root, recursive=True)
