"""The gzip check of raw parts before curate (mapreduce/rawcheck.py), on bytes built here."""
from __future__ import annotations

import contextlib
import gzip
import json
import random
import zlib

import pytest
from hdfs import HdfsError

from mapreduce.rawcheck import gzip_damage, quarantine_file_name, quarantine_lines

LINES = b"".join(json.dumps({"id": str(number), "content": "x" * (number % 97)}).encode() + b"\n"
                 for number in range(3000))
PART = gzip.compress(LINES, compresslevel=3, mtime=0)


def chunked(data: bytes, size: int):
    return [data[start:start + size] for start in range(0, len(data), size)] or [b""]


def damage(data: bytes, chunk: int = 65536):
    out = bytearray()
    return gzip_damage(chunked(data, chunk), out.extend), bytes(out)


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_complete_parts_are_not_damaged_whatever_the_read_size(chunk):
    assert damage(PART, chunk) == (None, LINES)
    two_members = PART + gzip.compress(b"more\n")
    assert damage(two_members, chunk) == (None, LINES + b"more\n")
    empty_member = zlib.compressobj(3, zlib.DEFLATED, 31)  # what an erasure leaves of an emptied part
    assert damage(empty_member.compress(b"") + empty_member.flush(), chunk) == (None, b"")


@pytest.mark.parametrize("cut", [1, 2, 10, 11, 500, len(PART) // 2, len(PART) - 8, len(PART) - 1])
def test_a_truncated_part_is_damaged_and_what_precedes_the_cut_is_kept(cut):
    found, data = damage(PART[:cut])
    assert found is not None and found.startswith("truncated"), found
    assert LINES.startswith(data)


def test_garbage_after_a_valid_header_or_member_and_bad_checksums():
    header = PART[:10]
    found, data = damage(header + bytes(random.Random(1).randrange(256) for _ in range(5000)))
    assert found.startswith("corrupt gzip data in member 1") and data == b""
    found, data = damage(PART + b"garbage after the member")
    assert found.startswith("bytes that are not gzip data after 1 gzip member(s)") and data == LINES
    assert damage(PART + b"\0")[0].startswith("truncated")            # one byte: not even a header
    crc = bytearray(PART)
    crc[-8] ^= 0xFF
    assert "incorrect data check" in damage(bytes(crc))[0]
    assert damage(b"")[0] == "empty: no gzip member"
    assert damage(b"plain text\n")[0].startswith("bytes that are not gzip data at the start")


def test_the_check_agrees_with_pythons_gzip_reader_on_random_damage():
    rng = random.Random(7)
    for _ in range(200):
        data = bytearray(PART)
        kind = rng.choice(["cut", "flip", "append"])
        if kind == "cut":
            data = data[:rng.randrange(len(data))]
        elif kind == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        try:
            gzip.decompress(bytes(data))
            readable = True
        except (OSError, EOFError, zlib.error):
            readable = False
        assert (damage(bytes(data), rng.choice([1, 100, 1 << 16]))[0] is None) == readable, kind


def test_a_gzip_bomb_is_checked_in_bounded_pieces():
    pieces = []
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB from about 64 kB
    assert gzip_damage(chunked(bomb, 1 << 20), pieces.append) is None
    assert sum(map(len, pieces)) == 64 << 20 and max(map(len, pieces)) <= 4 << 20


def test_the_quarantine_file_of_a_damaged_part():
    path = "/datalake/raw/mastodon/instance=alpha.example/dt=2026-11-18/part-11-19.jsonl.gz"
    assert quarantine_file_name(path) == "instance=alpha.example.part-11-19.jsonl"
    lines, recovered = quarantine_lines(path, "truncated: ...", 1234, b'{"id": "11"}\n{"id": "1')
    assert recovered == 2
    assert [json.loads(line) for line in lines] == [
        {"reason": "corrupt_gzip", "source": path, "line": "", "damage": "truncated: ...", "bytes": 1234,
         "lines_recovered": 2},
        {"reason": "corrupt_gzip", "source": path, "line": '{"id": "11"}'},
        {"reason": "corrupt_gzip", "source": path, "line": '{"id": "1'},
    ]


class _FlakyClient:
    """client.read that fails ``failures`` times before its first byte (or, ``mid_read``, after it)."""

    def __init__(self, data: bytes, failures: int, mid_read: bool = False):
        self.data, self.failures, self.mid_read, self.calls = data, failures, mid_read, 0

    @contextlib.contextmanager
    def read(self, path, chunk_size):
        self.calls += 1
        failing = self.calls <= self.failures

        def chunks():
            if failing and not self.mid_read:
                raise HdfsError("java.io.EOFException: End of File Exception between local host and localhost:8020")
            yield self.data[:10]
            if failing:
                raise HdfsError("Connection reset by peer")
            yield self.data[10:]
        yield chunks()


def test_a_read_failing_before_its_first_byte_is_tried_again_not_one_cut_in_the_middle(monkeypatch):
    from mapreduce import rawcheck

    monkeypatch.setattr(rawcheck, "READ_PAUSE", 0.0)
    part = gzip.compress(b'{"id": "1"}\n' * 50)
    flaky = _FlakyClient(part, failures=rawcheck.READ_ATTEMPTS - 1)
    assert rawcheck._read(flaky, "/raw/part.gz") == (None, len(part))
    assert flaky.calls == rawcheck.READ_ATTEMPTS

    dead = _FlakyClient(part, failures=rawcheck.READ_ATTEMPTS)
    with pytest.raises(rawcheck.LakeError, match="reading the raw part /raw/part.gz to check it failed"):
        rawcheck._read(dead, "/raw/part.gz")
    assert dead.calls == rawcheck.READ_ATTEMPTS

    cut = _FlakyClient(part, failures=1, mid_read=True)  # data arrived: the caller's on_data saw it
    with pytest.raises(rawcheck.LakeError, match="Connection reset"):
        rawcheck._read(cut, "/raw/part.gz")
    assert cut.calls == 1
