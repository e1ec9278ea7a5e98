"""Raw-zone names, the checkpoint format and the resume point that makes reruns exactly-once."""
from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest

from collection.rawzone import Checkpoint, PartBuffer, parse_part_name, part_name, resume_point

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


def test_first_run_starts_just_below_the_interval():
    assert resume_point((FIRST, AFTER), None, []) == FIRST - 1


def test_a_checkpoint_before_the_interval_does_not_pull_in_older_statuses():
    assert resume_point((FIRST, AFTER), 400, []) == FIRST - 1


def test_resume_from_a_checkpoint_inside_the_interval():
    assert resume_point((FIRST, AFTER), 1500, [(1000, 1500)]) == 1500


def test_a_part_renamed_before_the_checkpoint_moved_counts():
    # crash between the rename of part 1501-1700 and the checkpoint write
    assert resume_point((FIRST, AFTER), 1500, [(1000, 1500), (1501, 1700)]) == 1700


def test_a_checkpoint_past_the_interval_leaves_the_decision_to_the_interval_parts():
    # a later day ran after this one crashed: finish this one from its own parts
    assert resume_point((FIRST, AFTER), 5000, [(1000, 1500)]) == 1500
    # a complete day: its parts reach its last status, so the rerun fetches nothing older
    assert resume_point((FIRST, AFTER), 5000, [(1000, 1999)]) == 1999
    assert resume_point((FIRST, AFTER), 5000, []) == FIRST - 1


def test_parts_of_neighbouring_days_are_ignored():
    # the next day's partition is scanned too; its own parts must not move this interval
    assert resume_point((FIRST, AFTER), None, [(2000, 2600), (300, 900)]) == FIRST - 1


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
