"""Raw-zone names, the checkpoint format and the resume point that makes reruns exactly-once."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from collection.rawzone import (Checkpoint, DayState, PartBuffer, PartitionIndex, decode_index, encode_index,
                                index_name, ids_in_part, parse_part_name, part_name)

FIRST, AFTER = 1000, 2000  # the id range of a data interval: [FIRST, AFTER)


def test_part_names_carry_the_first_and_last_id():
    assert part_name(117628836308559234, 117631730498225500) == \
        "part-117628836308559234-117631730498225500.jsonl.gz"
    assert parse_part_name("part-117628836308559234-117631730498225500.jsonl.gz") == \
        (117628836308559234, 117631730498225500)


@pytest.mark.parametrize("name", ["_tmp.part-1-2.jsonl.gz.0a1b2c", "part-1-2.jsonl", "part-2-1.jsonl.gz",
                                  "_SUCCESS", ".part-1-2.jsonl.gz.crc", "part-a-b.jsonl.gz", "checkpoint.json"])
def test_anything_but_a_finished_part_has_no_id_range(name):
    assert parse_part_name(name) is None


def test_part_name_refuses_a_backwards_range():
    with pytest.raises(ValueError):
        part_name(5, 4)


def test_checkpoint_json_is_the_documented_record_with_the_id_as_a_string():
    checkpoint = Checkpoint("alpha.example", "http://127.0.0.1:8701", 117631730498225500, "2026-11-19T00:05:00.000Z")
    record = json.loads(checkpoint.to_json())
    assert record == {"instance": "alpha.example", "base_url": "http://127.0.0.1:8701",
                      "high_water_id": "117631730498225500", "updated_at": "2026-11-19T00:05:00.000Z"}
    assert Checkpoint.from_json(checkpoint.to_json()) == checkpoint


@pytest.mark.parametrize("text", ["{}", "not json", '{"instance": "a", "high_water_id": "x"}'])
def test_a_broken_checkpoint_does_not_parse(text):
    with pytest.raises((ValueError, KeyError)):
        Checkpoint.from_json(text)


def test_an_index_lists_the_ids_of_its_part_sorted_and_reads_back():
    data = encode_index([15, 11, 12])
    assert gzip.decompress(data) == b"11\n12\n15\n"
    assert decode_index(data) == {11, 12, 15}
    assert index_name("part-11-15.jsonl.gz") == "_ids.part-11-15.gz"


def test_the_ids_of_a_part_are_its_statuses_top_level_ids_not_nested_ones():
    buffer = PartBuffer(dt.date(2026, 11, 18))
    buffer.add(11, b'{"id":"11","account":{"id":"999"},"content":"x"}')
    buffer.add(12, b'{"id" : "12","media_attachments":[{"id":"5"}]}')
    assert ids_in_part(buffer.finish()) == {11, 12}
    assert buffer.ids == [11, 12]


class _Zone:
    """A stand-in for RawZone.read_index that counts which part indexes were read."""

    def __init__(self, indexes):
        self.indexes, self.reads = indexes, []

    def read_index(self, day, name):
        self.reads.append(name)
        return self.indexes[name]


def test_a_partition_index_reads_only_the_parts_an_id_falls_in():
    zone = _Zone({"a": {100, 150, 200}, "b": {300, 400}, "c": {120, 250}})
    index = PartitionIndex(zone, dt.date(2026, 11, 18), [(100, 200, "a"), (300, 400, "b"), (120, 250, "c")])
    assert not index.holds(500) and not index.holds(50) and zone.reads == []  # outside every range: no read
    assert index.holds(150) and sorted(zone.reads) == ["a", "c"]  # overlapping parts (a late part) both read
    assert not index.holds(160) and not index.holds(310) and zone.reads[-1] == "b"
    index.add([501])
    assert index.holds(501) and index.total() == 8 and len(zone.reads) == 3


def test_day_state_round_trips_and_says_why():
    state = DayState("alpha.example", "https://alpha.example", dt.date(2026, 11, 18), "incomplete",
                     "stopped by max_pages=2", 80, "2026-11-19T00:05:00.000Z")
    assert DayState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert set(state.to_dict()) == {"instance", "base_url", "day", "state", "reason", "statuses", "updated_at"}


def test_part_buffer_is_a_gzip_member_of_newline_terminated_lines():
    buffer = PartBuffer(dt.date(2026, 11, 18), level=6)
    lines = [b'{"id":"11","content":"\\u003cp\\u003eh\xc3\xa9\\u003c/p\\u003e"}', b'{"id":"12"}', b'{"id":"15"}']
    for status_id, line in zip((11, 12, 15), lines):
        buffer.add(status_id, line)
    assert (buffer.count, buffer.first_id, buffer.last_id, buffer.name()) == (3, 11, 15, "part-11-15.jsonl.gz")
    assert gzip.decompress(buffer.finish()) == b"\n".join(lines) + b"\n"


def test_part_buffer_refuses_ids_out_of_order():
    buffer = PartBuffer(dt.date(2026, 11, 18))
    buffer.add(12, b"{}")
    with pytest.raises(ValueError, match="id order"):
        buffer.add(12, b"{}")
