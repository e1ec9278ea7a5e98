"""The one way the project opens HBase: happybase over the Thrift v1 server, checked at once.

The HBase stage (hbase/tables.py ``connect``) and the analysis (analysis/hbase_frames.py) both open
their connections here, each raising its own error type with the advice of this one message.
"""
from __future__ import annotations

import socket

import happybase
from thriftpy2.thrift import TException
from thriftpy2.transport import TTransportException

from datalake.errors import DatalakeError

#: what a Thrift call raises when the server is down, hung, or refuses the request
THRIFT_ERRORS = (TTransportException, TException, OSError, socket.timeout, EOFError, BrokenPipeError)


def describe_target(host: str, port: int, table_prefix: str) -> str:
    prefix = f"table prefix {table_prefix!r}" if table_prefix else "no table prefix"
    return f"HBase Thrift server {host}:{port} ({prefix})"


def open_hbase(host: str, port: int, table_prefix: str = "", timeout_s: float = 120.0,
               error: type[DatalakeError] = DatalakeError) -> happybase.Connection:
    """An open connection (binary protocol, buffered transport: the Thrift v1 server's defaults).

    ``table_prefix`` "" means no prefix (happybase would otherwise name tables ``_name``).
    ``timeout_s`` bounds every Thrift call, so a hung server fails instead of blocking forever.
    Raises ``error`` saying what to do when the server cannot be reached.
    """
    target = describe_target(host, port, table_prefix)
    try:
        connection = happybase.Connection(host, int(port), timeout=int(timeout_s * 1000), autoconnect=True,
                                          table_prefix=table_prefix or None)
        connection.tables()  # the first real call: proves a Thrift v1 server answers
    except THRIFT_ERRORS as exc:
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise error(
            f"cannot reach the {target}: {type(exc).__name__}: {detail}. Start the local stack with `make start` "
            "(`make status` shows what runs), or point HBASE_THRIFT_HOST/HBASE_THRIFT_PORT (in Airflow the "
            "Connection hbase_default) at a running HBase Thrift (v1, binary protocol, buffered transport) "
            "server.") from exc
    return connection
