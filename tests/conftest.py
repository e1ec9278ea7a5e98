"""Shared fixtures. Integration tests talk to the real local stack (`make test` starts it);
each test session works under its own HDFS root and HBase table prefix, removed at the end."""
from __future__ import annotations

import os
import socket
import uuid

import pytest

from datalake.settings import Settings

RUN_ID = uuid.uuid4().hex[:8]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def stack() -> None:
    """Fail (never skip) when the stack an integration test needs is not running."""
    missing = [name for name, port in (("HDFS NameNode", 9870), ("HBase Thrift", 9090)) if not _port_open(port)]
    if missing:
        pytest.fail(f"the local stack is not running ({', '.join(missing)} not answering); "
                    "run the tests with `make test`, which starts it")


@pytest.fixture(scope="session")
def settings(stack) -> Settings:
    base = Settings.from_env()
    return base.with_overrides(root=f"/test-{RUN_ID}/datalake", table_prefix=f"t{RUN_ID}")


@pytest.fixture(scope="session")
def hdfs_client(settings):
    from datalake.lake import hdfs_client as make_client

    client = make_client(settings)
    yield client
    if not os.environ.get("DATALAKE_KEEP_TEST_DATA"):
        client.delete(f"/test-{RUN_ID}", recursive=True)


def _hbase(settings):
    import happybase

    return happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=settings.table_prefix,
                                autoconnect=True)


@pytest.fixture(scope="session")
def hbase_test_tables(settings):
    """Drops the session's tables at its end, over a connection of its own."""
    yield
    if not os.environ.get("DATALAKE_KEEP_TEST_DATA"):
        from hbase.inspect import drop_tables

        drop_tables(settings.hbase_host, settings.hbase_port, settings.table_prefix)


@pytest.fixture(scope="module")
def hbase_connection(settings, hbase_test_tables):
    """A Thrift connection per test module: the Thrift server closes a connection left idle for a
    minute (hbase.thrift.server.socket.read.timeout), and the fault tests restart the server."""
    connection = _hbase(settings)
    yield connection
    connection.close()
