"""The erasure reaches a copy of a partition that a killed directory swap left beside it.

``datalake.lake.replace_directory`` renames the old partition to ``_tmp.dt=<day>.<random>.old``
before it moves the new one into place; a kill between the two renames leaves that copy, with
the same people in it, until a later swap of the day removes it. A lake is laid out by hand on the
stack's HDFS (a curated partition, a leftover copy of it, a raw partition); the erasure runs
without its MapReduce/HBase step (``recompute=False``) so that only the zones are looked at.
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import posixpath

import pytest

from datalake.lake import read_bytes, write_atomic
from datalake.settings import Secret
from privacy.erasure import erase_handle
from tests.fixtures.mapreduce.statuses import line, status

KEY = "leftover-test-key"
DAY = "2026-11-25"
CURATED = f"curated/statuses/dt={DAY}/part-00000"
LEFTOVER = f"curated/statuses/_tmp.dt={DAY}.0a1b2c3d4e5f.old/part-00000"
RAW = f"raw/mastodon/instance=alpha.example/dt={DAY}/part-1-2.jsonl.gz"


def _user_key(handle: str) -> str:
    return hmac.new(KEY.encode(), handle.encode(), hashlib.sha256).hexdigest()[:16]


def _curated_line(uri: str, handle: str) -> bytes:
    return json.dumps({"uri": hashlib.sha256(uri.encode()).hexdigest()[:32], "user": _user_key(handle),
                       "created_at": f"{DAY}T10:00:00.000Z", "language": "en"}).encode()


@pytest.fixture()
def lake(settings, hdfs_client):
    lake = settings.with_overrides(root=f"{settings.root}-leftovers", pseudonymize=True, pseudonym_key=Secret(KEY))
    curated = b"\n".join([_curated_line("a1", "ann@alpha.example"), _curated_line("b1", "bob@beta.example")]) + b"\n"
    raw = b"\n".join(line(status(local_id=local_id, uri=f"https://alpha.example/users/{acct}/statuses/{local_id}",
                                 acct=acct, host="alpha.example"))
                     for local_id, acct in (("113500000000000001", "ann"), ("113500000000000002", "cy"))) + b"\n"
    for path, data in ((CURATED, curated), (LEFTOVER, curated), (RAW, gzip.compress(raw))):
        write_atomic(hdfs_client, posixpath.join(lake.root, path), data)
    yield lake
    hdfs_client.delete(lake.root, recursive=True)


def test_the_erasure_reaches_a_partitions_leftover_copy(lake, hdfs_client):
    report = erase_handle(lake, "ann@alpha.example", recompute=False)
    for path in (CURATED, LEFTOVER):
        records = [json.loads(text) for text in read_bytes(hdfs_client, posixpath.join(lake.root, path)).splitlines()]
        assert [record["user"] for record in records] == [_user_key("bob@beta.example")], path
    raw = gzip.decompress(read_bytes(hdfs_client, posixpath.join(lake.root, RAW))).decode()
    assert "/users/ann/" not in raw and "/users/cy/" in raw
    assert report.removed("curated") == {DAY: 2} and report.removed("raw") == {DAY: 1}
    assert posixpath.join(lake.root, LEFTOVER) in {change.path for change in report.changes}
