"""The pure parts of the Mastodon client: raw statuses, Link headers, timelines, clocks, errors."""
from __future__ import annotations

import json

import pytest

from collection.errors import redact
from collection.policy import RateWindow, RequestPolicy, ServerClock, parse_reset, parse_retry_after
from collection.mastodon_client import (normalize_domain,
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
    policy = RequestPolicy(attempts=8, initial_backoff=0.5, max_backoff=3.0)
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
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"
    assert normalize_domain("alpha.example.") == "alpha.example"
    # DESIGN.md's rule: a host name only; a port, a slash, '..' or any other character is refused
    for bad in (None, "", "a/b", "../x", "..", "a..b", "alpha example", 42, "dt=2026", "localhost:3000",
                "https://alpha.example/x", "alpha\x00.example", "-alpha.example", "a" * 64 + ".example",
                "alpha_example", "alpha.example\n"):
        assert normalize_domain(bad) is None, bad


def test_a_refusal_says_what_to_configure():
    public = parse_timeline("public")
    message = refusal_message(public, 422, "This method requires an authenticated user", has_token=False)
    for needed in ("HTTP 422", "timelines_access", "MASTODON_ACCESS_TOKENS", "mastodon_<host>",
                   "MASTODON_TIMELINE=local", "tag:<name>"):
        assert needed in message
    assert "not accepted" in refusal_message(public, 401, "The access token is invalid", has_token=True)


def test_redact_hides_every_occurrence_of_a_secret():
    assert redact("token abc and abc", "abc", None) == "token *** and ***"
    assert redact("nothing", None, "") == "nothing"


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("120", now=1000.0) == 1120.0
    assert parse_retry_after("Wed, 18 Nov 2026 10:00:00 GMT", now=0) == 1794996000.0
    assert parse_retry_after("soon", now=0) is None and parse_retry_after(None, now=0) is None


def test_pacing_spreads_the_remaining_budget_over_the_window():
    window = RateWindow(limit=300, remaining=100, reset=1050.0, last_request=1000.0)
    assert window.pace_delay(1000.0) == pytest.approx(0.5)  # 50 s left for 100 requests
    assert window.pace_delay(1000.4) == pytest.approx(0.096)  # 0.4 s already passed since the last one
    assert RateWindow(limit=300, remaining=0, reset=1050.0).pace_delay(1000.0) == 50.0  # wait for the reset
    assert RateWindow().pace_delay(1000.0) == 0.0  # no rate-limit headers: no pacing
    assert RateWindow(limit=300, remaining=5, reset=900.0).pace_delay(1000.0) == 0.0  # the window is over


def test_a_429_waits_for_the_later_of_retry_after_and_the_reset():
    window = RateWindow(limit=300, remaining=0, reset=1010.0, retry_at=1030.0)
    assert window.wait_after_429(1000.0, fallback=1.0) == pytest.approx(30.05)
    assert RateWindow().wait_after_429(1000.0, fallback=2.0) == 2.0
