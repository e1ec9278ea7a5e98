"""The pure parts of the Mastodon client: raw statuses, Link headers, timelines, clocks, errors."""
from __future__ import annotations

import json

import pytest

from collection.errors import redact
from collection.mastodon_client import (RetryPolicy, ServerClock, normalize_domain, parse_link_header, parse_reset,
                                        parse_statuses, parse_timeline, query_id, refusal_message)


def test_each_status_keeps_the_exact_bytes_the_server_sent_oldest_first():
    first = ('{"id":"200","created_at":"2026-11-18T10:00:00.000Z",'
             '"content":"\\u003cp\\u003ecaf\u00e9 \U0001F418\\u003c/p\\u003e"}')
    second = '{"id":"100", "created_at" : "2026-11-18T09:00:00.000Z", "n": 1.50, "e": "\\u00e9"}'
    body = f"[{first},\n  {second}]".encode("utf-8")  # newest first, as Mastodon answers
    statuses = parse_statuses(body)
    assert [status.status_id for status in statuses] == [100, 200]
    assert statuses[0].line == second.encode("utf-8")  # spacing, 1.50 and \u00e9 untouched
    assert statuses[1].line == first.encode("utf-8")
    assert statuses[1].created_at == "2026-11-18T10:00:00.000Z"
    assert json.loads(statuses[1].line)["content"] == "<p>café \U0001F418</p>"


def test_newlines_between_tokens_are_dropped_so_a_status_fits_on_a_line():
    body = b'[\n  {\n    "id": "7",\n    "created_at": "2026-11-18T10:00:00.000Z",\r\n    "text": "a\\nb"\n  }\n]\n'
    (status,) = parse_statuses(body)
    assert b"\n" not in status.line and b"\r" not in status.line
    assert json.loads(status.line) == {"id": "7", "created_at": "2026-11-18T10:00:00.000Z", "text": "a\nb"}


def test_an_empty_page():
    assert parse_statuses(b"[]") == []
    assert parse_statuses(b" [ ] \n") == []


@pytest.mark.parametrize("body", [b'{"error": "x"}', b'[{"id": "1"}', b'[{"id": "1"}] trailing', b"[1, 2]",
                                  b'[{"id": 12}]', b'[{"created_at": "2026-11-18T10:00:00.000Z"}]',
                                  b'[{"id": "1"} {"id": "2"}]', b"<html>502</html>", b"\xff["])
def test_anything_but_an_array_of_statuses_with_string_ids_is_refused(body):
    with pytest.raises((ValueError, UnicodeDecodeError)):
        parse_statuses(body)


def test_mastodon_link_header():
    header = ('<https://alpha.example/api/v1/timelines/public?local=true&max_id=109>; rel="next", '
              '<https://alpha.example/api/v1/timelines/public?local=true&min_id=120>; rel="prev"')
    links = parse_link_header(header)
    assert links == {"next": "https://alpha.example/api/v1/timelines/public?local=true&max_id=109",
                     "prev": "https://alpha.example/api/v1/timelines/public?local=true&min_id=120"}
    assert query_id(links["prev"], "min_id") == 120
    assert query_id(links["next"], "max_id") == 109
    assert query_id(links["next"], "min_id") is None


def test_link_header_edge_cases():
    assert parse_link_header(None) == {}
    assert parse_link_header("") == {}
    assert parse_link_header('<https://a.example/x?max_id=1>; rel=next') == {"next": "https://a.example/x?max_id=1"}
    assert parse_link_header('<https://a.example/x>; title="a, b"; rel="next prev"') == \
        {"next": "https://a.example/x", "prev": "https://a.example/x"}


def test_timelines_by_configuration():
    assert parse_timeline("public").endpoint == "/api/v1/timelines/public"
    assert parse_timeline("public").params == ()
    assert parse_timeline("").name == "public"
    local = parse_timeline("local")
    assert (local.endpoint, local.params) == ("/api/v1/timelines/public", (("local", "true"),))
    tag = parse_timeline("tag:#Café")
    assert (tag.name, tag.endpoint) == ("tag:Café", "/api/v1/timelines/tag/Caf%C3%A9")
    for wrong in ("home", "tag:", "federated"):
        with pytest.raises(ValueError, match="MASTODON_TIMELINE"):
            parse_timeline(wrong)


def test_retry_backoff_doubles_up_to_a_ceiling():
    policy = RetryPolicy(attempts=8, initial_backoff=0.5, max_backoff=3.0)
    assert [policy.backoff(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_rate_limit_reset_formats():
    assert parse_reset("2026-11-18T10:00:05.500000Z") == 1794996005.5
    assert parse_reset("1794996005") == 1794996005.0
    assert parse_reset("soon") is None
    assert parse_reset(None) is None


def test_server_clock_offset_is_the_tightest_of_the_truncated_date_headers():
    clock = ServerClock()
    assert clock.offset is None
    # server time = local time - 3.0 s; Date headers truncate to the second
    date = "Wed, 18 Nov 2026 10:00:00 GMT"  # 1794996000
    clock.observe(date, received_at=1794996003.0 + 0.7)  # server was at ...00.7
    clock.observe(date, received_at=1794996003.0 + 0.05)  # server was at ...00.05
    clock.observe("not a date", received_at=0)
    assert clock.offset == pytest.approx(3.05)
    assert clock.to_local(1794996010.0) == pytest.approx(1794996013.05)


def test_instance_domains_name_partitions_safely():
    assert normalize_domain("Alpha.Example") == "alpha.example"
    assert normalize_domain("https://alpha.example/") == "alpha.example"
    assert normalize_domain("localhost:3000") == "localhost:3000"
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"
    for bad in (None, "", "a/b", "../x", "alpha example", 42, "dt=2026"):
        assert normalize_domain(bad) is None


def test_a_refusal_says_what_to_configure():
    public = parse_timeline("public")
    message = refusal_message(public, 422, "This method requires an authenticated user", has_token=False)
    for needed in ("HTTP 422", "timelines_access", "MASTODON_ACCESS_TOKEN", "mastodon_default",
                   "MASTODON_TIMELINE=local", "tag:<name>"):
        assert needed in message
    assert "not accepted" in refusal_message(public, 401, "The access token is invalid", has_token=True)


def test_redact_hides_every_occurrence_of_a_secret():
    assert redact("token abc and abc", "abc", None) == "token *** and ***"
    assert redact("nothing", None, "") == "nothing"
