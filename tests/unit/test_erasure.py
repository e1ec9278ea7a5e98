"""Erasure of one person, line by line (pure functions; the stack is in tests/integration/test_personal_data.py)."""
from __future__ import annotations

import gzip
import hashlib
import hmac
import json

import pytest

from datalake.pseudonyms import erasure_digest
from privacy import redaction
from privacy.errors import ErasureError
from privacy.identity import ERASED, Matcher, Person, canonical
from privacy.reapply import listed_handles_in_line
from privacy.redaction import (KEEP, REDACT, REMOVE, erase_from_curated_line, erase_from_quarantine_line,
                               erase_from_raw_line, mastodon_json)
from privacy.zones import decode_file, encode_file, join_lines, split_lines
from datalake.settings import ConfigError, Secret, Settings
from mapreduce import records
from tests.fixtures.mapreduce.statuses import line, mention, status

KEY = "unit-test-key"
SETTINGS = Settings(pseudonymize=True, pseudonym_key=Secret(KEY))
ANN = Person.from_handle("ann@alpha.example", SETTINGS)


def matcher() -> Matcher:
    return Matcher(ANN)


def mentioning(host: str = "beta.example", acct_of_ann: str = "ann@alpha.example") -> dict:
    value = status(acct="bob", host=host, uri=f"https://{host}/users/bob/statuses/7",
                   content=f"<p>{mention('ann@alpha.example', 'alpha.example')} look "
                           '<a href="https://www.example.com/x" rel="nofollow">example.com/x</a> 😀</p>')
    value["mentions"] = [{"id": "42", "username": "ann", "url": "https://alpha.example/@ann", "acct": acct_of_ann},
                         {"id": "43", "username": "carl", "url": "https://gamma.example/@carl",
                          "acct": "carl@gamma.example"}]
    return value


# ---- who

def test_handles_are_made_canonical_like_curate_does():
    assert canonical(" @Ann@Alpha.Example ") == "ann@alpha.example"
    for bad in ("ann", "ann@", "@alpha.example", "https://alpha.example/@ann", "ann bob@alpha.example", ""):
        with pytest.raises(ErasureError, match="user@host"):
            canonical(bad)


def test_person_keys_pseudonym_and_list_digest_are_different_hmacs():
    expected_pseudonym = hmac.new(KEY.encode(), b"ann@alpha.example", hashlib.sha256).hexdigest()[:16]
    assert ANN.user_key == expected_pseudonym == records.user_key("ann@alpha.example", KEY.encode())
    assert ANN.digest == hmac.new(KEY.encode(), b"erasure-list\x00ann@alpha.example", hashlib.sha256).hexdigest()
    assert not ANN.digest.startswith(ANN.user_key)
    assert "ann" not in ANN.label and ANN.digest[:12] in ANN.label
    plain = Person.from_handle("Ann@alpha.example", Settings(pseudonymize=False, pseudonym_key=Secret(KEY)))
    assert plain.user_key == "ann@alpha.example" and plain.digest == ANN.digest


def test_pseudonymizing_without_a_key_says_what_to_do():
    with pytest.raises(ConfigError, match="DATALAKE_PSEUDONYM_KEY"):
        Person.from_handle("ann@alpha.example", Settings(pseudonymize=True, pseudonym_key=Secret(None)))


# ---- raw lines

def test_the_persons_statuses_are_removed_local_and_remote_copies():
    local = line(status(acct="ann", host="alpha.example"))
    remote = line(status(acct="Ann@Alpha.example", host="beta.example"))
    assert erase_from_raw_line(local, matcher(), "alpha.example") == redaction.LineResult(REMOVE, reason="authored")
    assert erase_from_raw_line(remote, matcher(), "beta.example").action == REMOVE


def test_namesakes_stay_untouched():
    # the same username on another instance, a longer username, a longer host
    for value, domain in ((status(acct="ann", host="beta.example", uri="https://beta.example/users/ann/statuses/1"),
                           "beta.example"),
                          (status(acct="ann26", host="alpha.example",
                                  uri="https://alpha.example/users/ann26/statuses/1"),
                           "alpha.example"),
                          (status(acct="ann@alpha.example.org", host="beta.example",
                                  uri="https://alpha.example.org/users/ann/statuses/1"), "beta.example")):
        raw = line(value)
        assert erase_from_raw_line(raw, matcher(), domain) == redaction.LineResult(KEEP), value["account"]["acct"]


def test_a_local_account_takes_the_partitions_domain():
    theirs = line(status(acct="ann", host="alpha.example"))
    namesake = line(status(acct="ann", host="beta.example", uri="https://beta.example/users/ann/statuses/1"))
    assert erase_from_raw_line(theirs, matcher(), "alpha.example").action == REMOVE
    assert erase_from_raw_line(namesake, matcher(), "beta.example").action == KEEP   # that is ann@beta.example
    assert erase_from_raw_line(namesake, matcher(), None).action == KEEP             # unknown: curate quarantines it


def test_a_boost_of_their_status_is_removed():
    boost = status(acct="bob", host="beta.example", uri="https://beta.example/users/bob/statuses/9/activity")
    boost["reblog"] = status(acct="ann@alpha.example", host="beta.example")
    assert erase_from_raw_line(line(boost), matcher(), "beta.example") == redaction.LineResult(REMOVE, reason="boost")


def test_mentions_of_them_are_redacted_without_changing_any_metric():
    original = mentioning()
    result = erase_from_raw_line(line(original), matcher(), "beta.example")
    assert result.action == REDACT and result.reason == "mention"
    redacted = json.loads(result.line)
    assert [entry["acct"] for entry in redacted["mentions"]] == ["carl@gamma.example"]
    assert "alpha.example/@ann" not in result.line.decode() and "ann@alpha" not in result.line.decode()
    assert f"@{ERASED}" in redacted["content"] and 'class="u-url mention"' in redacted["content"]
    # the curated record (every metric's input) is the same before and after
    key = KEY.encode()
    assert (records.curated_record(redacted, "beta.example", key).record
            == records.curated_record(original, "beta.example", key).record)
    assert records.link_hosts(redacted["content"]).hosts == ["example.com"]


def test_a_local_mention_on_their_own_instance_is_redacted():
    value = mentioning(host="alpha.example", acct_of_ann="ann")
    result = erase_from_raw_line(line(value), matcher(), "alpha.example")
    assert result.action == REDACT
    assert [entry["acct"] for entry in json.loads(result.line)["mentions"]] == ["carl@gamma.example"]


def test_their_handle_or_profile_in_any_text_is_redacted_host_kept():
    value = status(acct="bob", host="beta.example", uri="https://beta.example/users/bob/statuses/8",
                   content="<p>ask @ann@Alpha.example or see https://alpha.example/users/ann/statuses/1</p>",
                   spoiler_text="about ann@alpha.example")
    result = erase_from_raw_line(line(value), matcher(), "beta.example")
    redacted = json.loads(result.line)
    assert redacted["content"] == f"<p>ask @{ERASED} or see https://alpha.example/{ERASED}/statuses/1</p>"
    assert redacted["spoiler_text"] == f"about {ERASED}"


def test_a_quote_of_their_status_is_dropped_like_a_deleted_quote():
    value = status(acct="bob", host="beta.example", uri="https://beta.example/users/bob/statuses/8")
    value["quote"] = {"state": "accepted", "quoted_status": status(acct="ann@alpha.example", host="beta.example")}
    redacted = json.loads(erase_from_raw_line(line(value), matcher(), "beta.example").line)
    assert redacted["quote"] == {"state": "deleted", "quoted_status": None}


def test_unrelated_lines_are_kept_byte_for_byte():
    raw = line(status(acct="bob", host="beta.example", uri="https://beta.example/users/bob/statuses/8",
                      content="<p>channel announcement: hannah@beta.example</p>"))
    assert erase_from_raw_line(raw, matcher(), "beta.example") == redaction.LineResult(KEEP)


def test_unreadable_lines_that_name_them_are_removed_others_kept():
    truncated = line(status(acct="ann@alpha.example", host="beta.example"))[:300]
    assert erase_from_raw_line(truncated, matcher(), "beta.example") == redaction.LineResult(REMOVE, reason="unreadable")
    local = b'{"id":"1","account":{"acct":"ann","username":"ann"'
    assert erase_from_raw_line(local, matcher(), "alpha.example").action == REMOVE
    assert erase_from_raw_line(local, matcher(), "beta.example").action == KEEP
    assert erase_from_raw_line(b'{"id": "2", "content": "\xff', matcher(), "alpha.example").action == KEEP
    escaped = b'{"url":"https:\\/\\/alpha.example\\/@ann", "x":'
    assert erase_from_raw_line(escaped, matcher(), "beta.example").action == REMOVE


def test_profile_urls_on_another_web_domain_are_learned_from_their_statuses():
    value = status(acct="ann@alpha.example", host="beta.example")
    value["account"]["url"] = "https://social.alpha.example/@ann"
    m = matcher()
    other = mentioning()
    other["content"] = '<p><a href="https://social.alpha.example/@ann" class="u-url mention">@ann</a></p>'
    other["mentions"] = []
    assert erase_from_raw_line(line(other), m, "beta.example").action == KEEP  # not known yet
    assert erase_from_raw_line(line(value), m, "beta.example").action == REMOVE
    assert m.learned == {"https://social.alpha.example/@ann"}
    assert erase_from_raw_line(line(other), m, "beta.example").action == REDACT  # the next pass finds it


def test_only_urls_that_name_them_are_learned():
    m = matcher()
    assert not m.learn("https://alpha.example/")            # a bare instance URL would erase every link to it
    assert not m.learn("https://alpha.example/accounts/12345")
    assert not m.learn("https://alpha.example/@ann")         # already derived from the handle
    assert m.learn("https://social.alpha.example/profile/Ann/")
    assert m.is_profile_url("https://social.alpha.example/profile/ann") and not m.is_profile_url("https://alpha.example/")


def test_mastodon_json_escapes_like_rails_and_round_trips():
    value = {"content": "<p>a & b</p>", "s": "line\u2028sep", "e": "été 😀"}
    encoded = mastodon_json(value)
    assert b"<" not in encoded and b">" not in encoded and b"&" not in encoded and b"\xe2\x80\xa8" not in encoded
    assert json.loads(encoded) == value and "été 😀".encode() in encoded
    lone = json.loads('{"x": "\\ud800"}')
    assert json.loads(mastodon_json(lone)) == lone


# ---- quarantine and curated lines

def test_quarantine_records_follow_their_raw_line():
    source = "hdfs:///datalake/raw/mastodon/instance=alpha.example/dt=2026-11-18/part-1-2.jsonl.gz"
    theirs = records.encode_record(records.quarantine_record(
        "missing_field:content", source, line(status(acct="ann", host="alpha.example"))))
    assert erase_from_quarantine_line(theirs, matcher()).action == REMOVE
    other = mentioning(host="alpha.example", acct_of_ann="ann")
    del other["content"]
    record = records.quarantine_record("missing_field:content", source, line(other))
    result = erase_from_quarantine_line(records.encode_record(record), matcher())
    assert result.action == REDACT
    redacted = json.loads(result.line)
    assert redacted["reason"] == "missing_field:content" and redacted["source"] == source
    assert "alpha.example/@ann" not in redacted["line"]
    # the same as the raw line's redaction: a later curate of the erased raw zone gives this record
    assert redacted["line"].encode() == erase_from_raw_line(line(other), matcher(), "alpha.example").line
    bystander = records.encode_record(records.quarantine_record("bad_json", source, b'{"id": "1"'))
    assert erase_from_quarantine_line(bystander, matcher()).action == KEEP


def test_curated_records_are_matched_on_the_user_key():
    mine = records.encode_record({"uri": "u1", "user": ANN.user_key, "followers": 1})
    other = records.encode_record({"uri": "u2", "user": "0123456789abcdef", "followers": 1})
    assert erase_from_curated_line(mine, ANN.user_key).action == REMOVE
    assert erase_from_curated_line(other, ANN.user_key).action == KEEP
    assert erase_from_curated_line(b"not json", ANN.user_key).action == KEEP


# ---- files and the erasure list

def test_lines_and_gzip_round_trip_and_an_emptied_part_is_valid_gzip():
    assert split_lines(b"a\nb\n") == ([b"a", b"b"], True)
    assert split_lines(b"a\nb") == ([b"a", b"b"], False)
    assert split_lines(b"") == ([], False)
    assert join_lines([b"a", b"b"], True) == b"a\nb\n" and join_lines([], True) == b""
    packed = encode_file(b"a\nb\n", True)
    assert decode_file(packed) == (b"a\nb\n", True) and gzip.decompress(packed) == b"a\nb\n"
    assert gzip.decompress(encode_file(b"", True)) == b""
    assert decode_file(b"plain\n") == (b"plain\n", False)


def test_listed_handles_are_recognised_by_digest_in_authors_boosts_and_mentions():
    key = KEY.encode()
    entries = {erasure_digest("ann@alpha.example", key): {}}
    cache: dict = {}
    assert listed_handles_in_line(line(status(acct="ann", host="alpha.example")), "alpha.example", key, entries,
                                  cache) == {"ann@alpha.example"}
    assert listed_handles_in_line(line(mentioning()), "beta.example", key, entries, cache) == {"ann@alpha.example"}
    bystander = status(acct="bob", host="beta.example", uri="https://beta.example/users/bob/statuses/8")
    assert listed_handles_in_line(line(bystander), "beta.example", key, entries, cache) == set()
    assert listed_handles_in_line(b"{broken", "beta.example", key, entries, cache) == set()


# ---- the command line

@pytest.mark.parametrize("argv", [["--help"], ["erase", "--help"], ["retention", "--help"],
                                  ["reapply-erasures", "--help"]])
def test_every_command_has_help(argv, capsys):
    from privacy.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0 and "usage: python -m privacy" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["erase", "--handle", "ann"], "is not a handle: give it as user@host"),
    (["erase"], "--handle"),
    (["retention", "--days", "-1"], "is not a number of days"),
    (["reapply-erasures", "--date", "2026-13-01"], "is not a date YYYY-MM-DD"),
])
def test_bad_usage_exits_2_with_the_reason(argv, message, capsys):
    from privacy.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_a_missing_key_is_a_configuration_error(monkeypatch, capsys):
    from privacy.cli import main

    monkeypatch.setenv("DATALAKE_PSEUDONYMIZE", "1")
    monkeypatch.delenv("DATALAKE_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("DATALAKE_PSEUDONYM_KEY_FILE", "/nonexistent/pseudonym.key")
    assert main(["erase", "--handle", "ann@alpha.example", "--dry-run"]) == 2
    assert "error: configuration:" in capsys.readouterr().err


def test_hostile_content_is_redacted_in_linear_time():
    import time

    from privacy.identity import Matcher, Person
    from privacy.redaction import _redact_anchors

    matcher = Matcher(Person("ann@alpha.example", "k", None))
    mention = '<a href="https://alpha.example/@ann" class="u-url mention">@<span>ann</span></a>'
    for bomb in ("<a>" * 300_000, "<a " * 300_000, "<a href=x>" * 100_000 + mention):
        started = time.monotonic()
        redacted = _redact_anchors(bomb, matcher)
        assert time.monotonic() - started < 20, bomb[:10]
        assert "ann" not in redacted and (f"@{ERASED}</a>" in redacted) == (mention in bomb)
