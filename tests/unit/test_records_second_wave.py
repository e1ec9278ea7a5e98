"""The second wave's record rules (DESIGN.md "Second wave"): application, hour, kinds of toot,
author instance, sentiment. VADER's compound score is x / sqrt(x² + 15) for the sum x of the
lexicon valences of a text's words (vader_lexicon.txt inside the vaderSentiment package); the
expectations below are computed that way by hand."""
from __future__ import annotations

import pytest

from mapreduce import records
from tests.fixtures.mapreduce.statuses import modified, poll, status


@pytest.mark.parametrize("application, expected", [
    ({"name": "  Ivory  ", "website": "https://tapbots.com"}, "Ivory"),
    ({"name": "Web", "website": None}, "Web"),
    ({"name": "   ", "website": None}, None),       # a name of spaces is no name
    ({"name": "\u00a0\t", "website": None}, None),  # nor one of other blanks
    ({"name": None}, None),
    ({"website": "https://x.example"}, None),
    (None, None),                                   # a remote copy: Mastodon shows no application
    ("Web", None),                                  # not the API's shape: no application
])
def test_application_name(application, expected):
    assert records.application_name(modified(status(), application=application)) == expected


def test_app_key_unknown_when_no_name():
    assert records.app_key("Ivory") == "Ivory"
    assert records.app_key(None) == "unknown"


@pytest.mark.parametrize("created_at, hour", [
    ("2026-11-18T00:00:00.000Z", "00"), ("2026-11-18T09:59:59.999Z", "09"), ("2026-11-18T23:59:59.999Z", "23"),
    ("2026-11-18T01:30:00+02:00", "23"),  # an offset is converted to UTC first
])
def test_utc_hour(created_at, hour):
    assert records.utc_hour(created_at) == hour


def test_utc_hour_of_a_bad_timestamp_is_a_bad_record():
    with pytest.raises(records.BadRecord, match="created_at"):
        records.utc_hour("yesterday")


def test_kinds_of_a_plain_status_are_all_false():
    assert records.toot_kinds(status()) == {"reply": False, "sensitive": False, "content_warning": False,
                                            "poll": False, "bot": False, "edited": False}


def test_kinds_of_a_reply_with_a_content_warning_and_a_poll_by_a_bot_edited():
    value = status(spoiler_text="spoilers", poll=poll("yes", "no"), in_reply_to_id="113500000000000000", bot=True,
                   edited_at="2026-11-18T10:05:00.000Z")
    assert records.toot_kinds(value) == {"reply": True, "sensitive": True, "content_warning": True, "poll": True,
                                         "bot": True, "edited": True}


def test_sensitive_without_content_warning_and_a_blank_warning():
    assert records.toot_kinds(status(sensitive=True)) == {**records.toot_kinds(status()), "sensitive": True}
    blank = status(spoiler_text="  \n ", sensitive=False)
    assert records.toot_kinds(blank)["content_warning"] is False


def test_kind_keys_add_all_and_with_link():
    record = {"reply": True, "sensitive": False, "content_warning": True, "poll": True, "bot": False,
              "edited": False, "link_hosts": ["example.com"]}
    assert records.kind_keys(record) == ["all", "reply", "content_warning", "poll", "with_link"]
    assert records.kind_keys({**record, "reply": False, "content_warning": False, "poll": False,
                              "link_hosts": []}) == ["all"]


def test_author_host_of_a_local_and_of_a_remote_author_on_an_instance_we_do_not_collect():
    local = records.curated_record(status(acct="ann", host="alpha.example"), "alpha.example", None).record
    remote = records.curated_record(status(acct="Dot@Delta.example", host="alpha.example"), "alpha.example", None).record
    assert (local["author_host"], remote["author_host"]) == ("alpha.example", "delta.example")


# ---------------------------------------------------------------------------------------------
# sentiment

def _sentiment(content: str, language: str = "en"):
    value = status(content=content, language=language)
    record = records.curated_record(value, "alpha.example", None).record
    return record["sentiment"], record["sentiment_score"]


def test_text_nodes_are_joined_by_single_spaces_and_that_flips_the_sentiment():
    content = "<p>un<b>happy</b></p>"
    # joined by spaces: "un happy"; "un" is not in the lexicon, "happy" is 2.7: 2.7 / sqrt(2.7² + 15)
    assert records.sentiment_text(content) == "un happy"
    assert _sentiment(content) == ("positive", 0.5719)
    # joined without spaces it would read "unhappy" (-1.8: -1.8 / sqrt(1.8² + 15) = -0.4215), negative
    assert records.sentiment_label(records.sentiment_score("unhappy")) == "negative"


def test_paragraphs_and_breaks_separate_words():
    assert records.sentiment_text("<p>not</p><p>bad</p>") == "not bad"
    assert records.sentiment_text("good<br>day") == "good day"
    assert records.sentiment_text("<p>  a </p>\n<p> b</p>") == "a b"


def test_entities_are_unescaped_before_scoring():
    # "<3" is 1.9 in the lexicon: 1.9 / sqrt(1.9² + 15) = 0.4404; "&lt;3" would score 0
    assert records.sentiment_text("<p>I &lt;3 it</p>") == "I <3 it"
    assert _sentiment("<p>I &lt;3 it</p>") == ("positive", 0.4404)
    assert _sentiment("I &lt;3 it") == ("positive", 0.4404)  # plain text, no tag


def test_en_gb_is_english():
    # "love" is 3.2: 3.2 / sqrt(3.2² + 15) = 0.6369
    assert _sentiment("<p>I love it</p>", language="en-GB") == ("positive", 0.6369)
    assert _sentiment("<p>I love it</p>", language="EN") == ("positive", 0.6369)


def test_negative_and_neutral():
    # "terrible" is -2.1: -2.1 / sqrt(2.1² + 15) = -0.4767
    assert _sentiment("<p>what a terrible day</p>") == ("negative", -0.4767)
    assert _sentiment("<p>the data lake</p>") == ("neutral", 0.0)
    assert _sentiment("") == ("neutral", 0.0)  # a media-only English status


@pytest.mark.parametrize("language", ["fr", "de", "eng", "und", "enx"])
def test_other_languages_are_not_scored(language):
    assert _sentiment("<p>I love it</p>", language=language) == (None, None)
    assert records.status_sentiment(language, "<p>I love it</p>") == (None, None)


def test_a_null_language_is_not_scored():
    record = records.curated_record(status(content="<p>I love it</p>", language=None), "alpha.example", None).record
    assert (record["language"], record["sentiment"], record["sentiment_score"]) == ("und", None, None)


@pytest.mark.parametrize("score, label", [(0.05, "positive"), (0.0499, "neutral"), (0.0, "neutral"),
                                          (-0.0499, "neutral"), (-0.05, "negative"), (1.0, "positive")])
def test_sentiment_thresholds(score, label):
    assert records.sentiment_label(score) == label


def test_the_content_warning_is_not_scored():
    value = status(content="<p>the data lake</p>", spoiler_text="terrible news")
    assert records.curated_record(value, "alpha.example", None).record["sentiment"] == "neutral"


def test_a_huge_text_is_scored_on_its_first_thousand_words_in_bounded_time():
    import time

    text = records.sentiment_text("<p>" + "terrible " * 3 + "long words 😀 " * 20_000 + "</p>")
    assert len(text.split()) == records.SENTIMENT_MAX_WORDS
    started = time.monotonic()
    label, _ = records.status_sentiment("en", "<p>" + "terrible " * 3 + "long words 😀 " * 20_000 + "</p>")
    assert time.monotonic() - started < 5  # without the bound: hours (VADER is quadratic)
    assert label in records.SENTIMENTS
