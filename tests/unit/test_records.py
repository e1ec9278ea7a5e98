"""The record functions of mapreduce/records.py on statuses shaped like Mastodon's API returns
them. Expected values are written out by hand."""
from __future__ import annotations

import json

import pytest

from mapreduce import records
from mapreduce.records import BadRecord
from tests.fixtures.mapreduce.statuses import DELETE, hashtag, line, link, mention, modified, status

KEY = b"test-key"


# ---------------------------------------------------------------------------------------------
# language

@pytest.mark.parametrize("language, expected", [
    (None, "und"), ("", "und"), ("  ", "und"), ("EN", "en"), ("en", "en"), ("zh-TW", "zh-tw"), ("pt-BR", "pt-br"),
])
def test_language_code(language, expected):
    assert records.language_code(status(language=language)) == expected


def test_language_code_when_the_field_is_absent():
    assert records.language_code(modified(status(), language=DELETE)) == "und"


# ---------------------------------------------------------------------------------------------
# tags

def test_tags_are_nfkc_lowercased_and_counted_once_per_status():
    value = status(tags=["Python", "python", "ＰＹＴＨＯＮ", "Café", "ÉTÉ", "ﬁsh", "日本語"])
    assert records.tag_names(value) == ["café", "fish", "python", "été", "日本語"]


def test_tags_empty_or_missing():
    assert records.tag_names(status(tags=[])) == []
    assert records.tag_names(modified(status(), tags=DELETE)) == []
    assert records.tag_names(status(tags=["", " "])) == []


# ---------------------------------------------------------------------------------------------
# link hosts

def test_link_hosts_of_real_mastodon_html():
    content = ("<p>" + mention("bob@beta.example", "beta.example") + " look "
               + link("https://WWW.Example.COM:8443/a?b=c") + " and " + link("http://news.example.org/x")
               + " again " + link("https://www.example.com/other") + " "
               + hashtag("Python", "alpha.example") + "</p>")
    assert records.link_hosts(content) == records.Links(["example.com", "news.example.org"], 0)


def test_link_hosts_idn_to_punycode_and_trailing_dot():
    content = ('<p><a href="https://Bücher.example/buch">b</a> <a href="https://münchen.DE./">m</a> '
               '<a href="https://www.xn--bcher-kva.example/">again</a></p>')
    assert records.link_hosts(content).hosts == ["xn--bcher-kva.example", "xn--mnchen-3ya.de"]


def test_link_without_host_is_counted_not_crashed():
    content = ('<p><a href="mailto:ann@alpha.example">mail</a> <a href="/relative/path">rel</a> '
               '<a>no href</a> <a href="http://[::1">bad ipv6</a> <a href="https://ok.example">ok</a></p>')
    assert records.link_hosts(content) == records.Links(["ok.example"], 4)


def test_mention_and_hashtag_classes_are_not_external_links():
    content = ('<p><a href="https://beta.example/@bob" class="u-url mention">@bob</a> '
               '<a href="https://alpha.example/tags/x" class="mention hashtag" rel="tag">#x</a> '
               '<a href="https://alpha.example/tags/y" class="Hashtag">#y</a></p>')
    assert records.link_hosts(content) == records.Links([], 0)


def test_link_hosts_of_odd_html():
    assert records.link_hosts("") == records.Links([], 0)
    assert records.link_hosts('<p><a href="https://unclosed.example/x">no end') == records.Links(["unclosed.example"], 0)
    assert records.link_hosts('<p>&lt;a href="https://not.a.link"&gt;</p>') == records.Links([], 0)


@pytest.mark.parametrize("host, expected", [
    ("WWW.Example.com", "example.com"), ("www.", "www"), ("www.www.example", "www.example"), ("example.com.", "example.com"),
    ("Bücher.example", "xn--bcher-kva.example"), ("", None), ("   ", None),
])
def test_normalize_host(host, expected):
    assert records.normalize_host(host) == expected


# ---------------------------------------------------------------------------------------------
# emojis

def test_unicode_emojis_once_per_status_from_visible_text():
    content = ('<p>Family 👨‍👩‍👧 thumbs 👍🏽 flag 🇫🇷 smile 😀😀 😀 entity &#128512; '
               '<a href="https://x.example" title="🎉">link</a></p><p>again 😀</p>')
    assert records.unicode_emojis(content) == sorted({"👨‍👩‍👧", "👍🏽", "🇫🇷", "😀"})


def test_status_emojis_custom_and_unicode_not_the_content_warning():
    value = status(content="<p>:blobcat: meow 🐱 :blobcat:</p>", spoiler_text="spoiler 🙈",
                   emojis=["blobcat", "blobfox", "blobcat"])
    assert records.status_emojis(value) == [":blobcat:", ":blobfox:", "🐱"]


def test_no_emojis():
    assert records.status_emojis(status(content="<p>plain text: no emoji :) </p>")) == []


# ---------------------------------------------------------------------------------------------
# media, interactions, account month

def test_media_types_each_once_and_unknown_types():
    value = status(media=["image", "image", "video", "gifv", "audio"])
    assert records.media_types(value) == ["audio", "gifv", "image", "video"]
    odd = status(media=["image"])
    odd["media_attachments"] += [{"id": "2", "type": "hologram"}, {"id": "3", "type": None}]
    assert records.media_types(odd) == ["image", "unknown"]
    assert records.media_types(status(media=[])) == []


def test_media_keys():
    assert records.media_keys(["video", "image"]) == ["toot_with_media", "type:image", "type:video"]
    assert records.media_keys([]) == []


def test_interactions_and_zero_followers():
    value = status(favourites=3, reblogs=2, replies=1, followers=0)
    assert records.interactions(value) == 6
    assert records.curated_record(value, "alpha.example", None).record["followers"] == 0


@pytest.mark.parametrize("created_at, expected", [
    ("2024-05-01T00:00:00.000Z", "2024-05"), ("2016-11-23", "2016-11"), ("2023-12-31T23:30:00-02:00", "2024-01"),
    (None, None), ("garbage", None), ("", None),
])
def test_account_month(created_at, expected):
    assert records.account_month({"created_at": created_at}) == expected


@pytest.mark.parametrize("created_at, expected", [
    ("2026-11-18T10:00:00.000Z", "2026-11-18T10:00:00.000Z"),
    ("2026-11-18T10:00:00Z", "2026-11-18T10:00:00.000Z"),
    ("2026-11-18T12:00:00.123456+02:00", "2026-11-18T10:00:00.123Z"),
])
def test_normalize_created_at(created_at, expected):
    assert records.normalize_created_at(created_at) == expected


# ---------------------------------------------------------------------------------------------
# handle, user key, opt-out

@pytest.mark.parametrize("acct, instance, expected", [
    ("Ann", "alpha.example", "ann@alpha.example"),
    ("Bob@Beta.Example", "alpha.example", "bob@beta.example"),
    ("@cy", "Alpha.Example", "cy@alpha.example"),
])
def test_canonical_handle(acct, instance, expected):
    assert records.canonical_handle({"acct": acct}, instance) == expected


def test_local_account_without_known_instance_is_bad():
    with pytest.raises(BadRecord, match="unknown_instance"):
        records.canonical_handle({"acct": "ann"}, None)


@pytest.mark.parametrize("path, expected", [
    ("hdfs://localhost:8020/datalake/raw/mastodon/instance=alpha.example/dt=2026-11-18/part-1-9.jsonl.gz", "alpha.example"),
    ("file:///tmp/raw/instance=Beta.Example/dt=2026-11-18/part-1.jsonl", "beta.example"),
    ("hdfs:///somewhere/else/part-0", None), (None, None),
])
def test_instance_from_path(path, expected):
    assert records.instance_from_path(path) == expected


def test_user_key_pseudonym_and_plain_handle():
    # HMAC-SHA256(b"test-key", handle), first 16 hex characters (computed once with the hmac module)
    assert records.user_key("ann@alpha.example", KEY) == "e504885da6e59923"
    assert records.user_key("bob@beta.example", KEY) == "2143b8e0769a28c6"
    assert records.user_key("ann@alpha.example", None) == "ann@alpha.example"


@pytest.mark.parametrize("account, expected", [
    ({"noindex": True, "note": ""}, True),
    ({"noindex": False, "note": "<p>Please, " + hashtag("NoBot", "alpha.example") + "</p>"}, True),
    ({"noindex": None, "note": "<p>#NOINDEX</p>"}, True),
    ({"note": "<p>tags: &#35;nobot</p>"}, True),
    ({"noindex": False, "note": "<p>#nobots are fine, #indexme</p>"}, False),
    ({"noindex": False, "note": "<p>I like bots</p>"}, False),
    ({"note": None}, False),
])
def test_noindex(account, expected):
    assert records.is_noindex(account) is expected


# ---------------------------------------------------------------------------------------------
# parsing and validation

def test_parse_raw_line_rejections():
    with pytest.raises(BadRecord, match="bad_json"):
        records.parse_raw_line(line(status())[:-30])  # truncated
    with pytest.raises(BadRecord, match="bad_utf8"):
        records.parse_raw_line(b'{"uri": "\xff\xfe"}')
    with pytest.raises(BadRecord, match="not_an_object"):
        records.parse_raw_line(b'[1, 2]')
    with pytest.raises(BadRecord, match="too_large"):
        records.parse_raw_line(b"{" + b" " * records.MAX_LINE_BYTES + b"}")
    assert records.parse_raw_line(line(status()))["uri"] == "https://alpha.example/users/ann/statuses/113500000000000001"


@pytest.mark.parametrize("changes, reason", [
    ({"uri": DELETE}, "missing_field:uri"),
    ({"uri": 12}, "wrong_type:uri"),
    ({"uri": ""}, "bad_value:uri"),
    ({"uri": "https://a.example/x y"}, "bad_value:uri"),
    ({"created_at": DELETE}, "missing_field:created_at"),
    ({"created_at": None}, "missing_field:created_at"),
    ({"created_at": 1700000000}, "wrong_type:created_at"),
    ({"created_at": "yesterday"}, "bad_value:created_at"),
    ({"content": DELETE}, "missing_field:content"),
    ({"content": ["<p>x</p>"]}, "wrong_type:content"),
    ({"favourites_count": "3"}, "wrong_type:favourites_count"),
    ({"reblogs_count": True}, "wrong_type:reblogs_count"),
    ({"replies_count": -1}, "bad_value:replies_count"),
    ({"account": DELETE}, "missing_field:account"),
    ({"account": "ann"}, "wrong_type:account"),
    ({"account__acct": DELETE}, "missing_field:account.acct"),
    ({"account__acct": " "}, "bad_value:account.acct"),
    ({"account__followers_count": "12"}, "wrong_type:account.followers_count"),
    ({"account__followers_count": 1.5}, "wrong_type:account.followers_count"),
    ({"account__created_at": 2024}, "wrong_type:account.created_at"),
    ({"account__noindex": "yes"}, "wrong_type:account.noindex"),
    ({"language": 7}, "wrong_type:language"),
    ({"tags": "python"}, "wrong_type:tags"),
    ({"tags": [{"name": 3}]}, "wrong_type:tags.name"),
    ({"emojis": [{"url": "x"}]}, "wrong_type:emojis.shortcode"),
    ({"media_attachments": ["image"]}, "wrong_type:media_attachments"),
])
def test_validate_status_reasons(changes, reason):
    with pytest.raises(BadRecord) as caught:
        records.validate_status(modified(status(), **changes))
    assert caught.value.reason == reason


def test_valid_edge_cases_pass_validation():
    for value in (status(content=""), status(language=None), status(followers=0),
                  modified(status(), tags=DELETE, emojis=DELETE, media_attachments=DELETE),
                  status(account_created_at=None), modified(status(), account__noindex=DELETE)):
        records.validate_status(value)


# ---------------------------------------------------------------------------------------------
# the curated record, the winner among copies, encodings

def test_curated_record_of_a_rich_status():
    value = status(
        uri="https://alpha.example/users/ann/statuses/1", created_at="2026-11-18T10:00:00Z", language="EN",
        content=("<p>" + mention("bob@beta.example", "beta.example") + " read " + link("https://www.Example.com/a")
                 + " 😀😀 :blobcat: " + hashtag("Python", "alpha.example") + "</p>"),
        acct="Ann", followers=12, favourites=4, reblogs=2, replies=1, tags=["Python", "FEDI"],
        emojis=["blobcat"], media=["image", "video", "image"])
    curated = records.curated_record(value, "alpha.example", KEY)
    assert curated.record == {  # uri: HMAC-SHA256(KEY, uri)[:32], computed once with the hmac module
        "uri": "9d4828e39bac6b2e6f75f1b3262f8f9a", "created_at": "2026-11-18T10:00:00.000Z",
        "language": "en", "user": "e504885da6e59923", "followers": 12, "account_month": "2024-05",
        "interactions": 7, "link_hosts": ["example.com"], "media_types": ["image", "video"],
        "tags": ["fedi", "python"], "emojis": [":blobcat:", "😀"],
        "application": None, "author_host": "alpha.example", "reply": False, "sensitive": False,
        "content_warning": False, "poll": False, "bot": False, "edited": False,
        # VADER on "@ bob read https:// www.Example.com/a 😀😀 :blobcat: # Python": each 😀 reads
        # "grinning face", "grinning" is 1.5 in the lexicon: 3.0 / sqrt(3.0² + 15) = 0.6124
        "sentiment": "positive", "sentiment_score": 0.6124}
    assert list(curated.record) == ["uri", "created_at", "language", "user", "followers", "account_month",
                                    "interactions", "link_hosts", "media_types", "tags", "emojis",
                                    "application", "author_host", "reply", "sensitive", "content_warning", "poll",
                                    "bot", "edited", "sentiment", "sentiment_score"]
    assert (curated.links_without_host, curated.account_month_missing, curated.bad_keys) == (0, False, {})


def test_curated_record_of_a_remote_account_without_pseudonym():
    value = status(acct="Bob@Beta.example", host="alpha.example", account_created_at=None,
                   content='<p><a href="mailto:x@y">mail</a></p>')
    curated = records.curated_record(value, "alpha.example", None)
    assert curated.record["user"] == "bob@beta.example"
    assert curated.record["uri"] == value["uri"]  # not pseudonymizing: the uri itself
    assert curated.record["account_month"] is None
    assert (curated.links_without_host, curated.account_month_missing) == (1, True)


def test_winner_rank_origin_then_interactions_then_smallest_line():
    origin = records.winner_rank(True, 0, b'{"id":"9"}')
    popular = records.winner_rank(False, 50, b'{"id":"1"}')
    other = records.winner_rank(False, 50, b'{"id":"2"}')
    quiet = records.winner_rank(False, 3, b'{"id":"0"}')
    assert sorted([quiet, other, popular, origin]) == [origin, popular, other, quiet]


def test_is_origin_copy():
    assert records.is_origin_copy("https://Alpha.example/users/ann/statuses/1", "alpha.example")
    assert not records.is_origin_copy("https://alpha.example/users/ann/statuses/1", "beta.example")
    assert not records.is_origin_copy("https://alpha.example/x", None)


def test_encode_record_refuses_lone_surrogates_and_keeps_utf8():
    assert records.encode_record({"tag": "été", "e": "😀"}) == '{"tag":"été","e":"😀"}'.encode()
    with pytest.raises(UnicodeEncodeError):
        records.encode_record(json.loads('{"tag": "\\ud800"}'))


def test_quarantine_record_keeps_the_whole_line_even_when_not_utf8():
    assert records.quarantine_record("bad_utf8", "hdfs:///raw/part-1", b'{"a": "\xff"}') == {
        "reason": "bad_utf8", "source": "hdfs:///raw/part-1", "line": '{"a": "\\xff"}'}


def test_parse_curated_line():
    assert records.parse_curated_line(b'{"user": "u1", "language": "en"}') == {"user": "u1", "language": "en"}
    assert records.parse_curated_line(b"not json") is None
    assert records.parse_curated_line(b'{"language": "en"}') is None


@pytest.mark.parametrize("text", [
    "keycaps 1️⃣ #️⃣ *⃣ and 12️⃣ digits 123", "flags 🇫🇷🇩🇪 then 🏴󠁧󠁢󠁥󠁮󠁧󠁿 end", "zwj 👩🏽‍💻x👨‍👩‍👧‍👦", "© ® ™ ‼️ text",
    "日本語😀のテキスト", "a😀b😀c", "mixed é ü ñ ❤️‍🔥 🫠", "plain ascii only", "",
])
def test_unicode_emojis_finds_what_emoji_list_finds_on_the_whole_text(text):
    import emoji

    assert records.unicode_emojis(text) == sorted({match["emoji"] for match in emoji.emoji_list(text)})


def test_parse_content_once_for_text_and_links():
    parsed = records.parse_content('<p>caf&eacute; <a href="https://x.example" class="">x</a><br>🎉</p>')
    assert parsed.text == "café x\n🎉"
    assert parsed.links == [("https://x.example", [])]
    assert records.parse_content("plain &amp; simple") == records.Content("plain & simple", [], ("plain & simple",))


# ---------------------------------------------------------------------------------------------
# the bad-key rule (DESIGN.md "Bad input")

def test_is_bad_key_bounds_utf8_bytes_not_characters():
    assert not records.is_bad_key("a" * 1024)
    assert records.is_bad_key("a" * 1025)
    assert not records.is_bad_key("é" * 512)      # 1,024 bytes
    assert records.is_bad_key("é" * 513)          # 1,026 bytes in 513 characters
    assert records.is_bad_key("😀" * 257)          # 4 bytes each
    assert not records.is_bad_key("")


def test_is_bad_key_refuses_every_control_character_and_only_those():
    import sys
    import unicodedata

    controls = [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cc"]
    assert len(controls) == 65
    assert all(records.is_bad_key(f"tag{character}x") for character in controls)
    # format characters (Cf: zero-width joiner, RTL override, BOM), separators and combining marks
    # are odd but not control characters: a key may hold them
    for character in ("\u200d", "\u202e", "\ufeff", "\u2028", "\u00a0", "\u0301", "\U000e0067"):
        assert not records.is_bad_key(f"tag{character}x"), repr(character)


def test_curated_record_leaves_bad_keys_out_and_counts_them():
    long_host = "a" * 39_990 + ".example"
    value = status(
        uri="https://alpha.example/users/ann/statuses/1", language="en",
        content=("<p>" + link(f"https://{long_host}/x") + " " + link("https://ok.example/") + " "
                 + link("https://ctl\u007fhost.example/") + " :blob\u0007cat: 😀</p>"),
        tags=["t" * 2000, "nul\u0000tag", "python"], emojis=["blob\u0007cat", "b" * 1100, "blobfox"])
    curated = records.curated_record(value, "alpha.example", None)
    assert curated.bad_keys == {"link_host": 2, "tag": 2, "emoji": 2}
    assert curated.record["link_hosts"] == ["ok.example"]
    assert curated.record["tags"] == ["python"]
    assert curated.record["emojis"] == [":blobfox:", "😀"]
    # the status still counts everywhere else
    assert (curated.record["user"], curated.record["language"]) == ("ann@alpha.example", "en")


def test_a_bad_tag_is_judged_after_nfkc_normalization():
    # U+FDFA (one character, 3 bytes) becomes 18 characters under NFKC
    value = status(tags=["\ufdfa" * 32, "\ufdfa" * 31])  # 1,056 and 1,023 bytes
    curated = records.curated_record(value, "alpha.example", None)
    assert curated.bad_keys == {"tag": 1}
    assert len(curated.record["tags"]) == 1 and len(curated.record["tags"][0].encode()) <= 1024


@pytest.mark.parametrize("acct", ["a" * 1100, "ann\u0007", "ann@" + "h" * 1100 + ".example", "\u009bann@beta.example"])
def test_a_bad_handle_gives_no_user_and_the_status_still_counts(acct):
    value = status(acct=acct, language="fr", tags=["python"], media=["image"])
    for key in (None, KEY):
        curated = records.curated_record(value, "alpha.example", key)
        assert curated.bad_keys == {"user": 1}
        assert curated.record["user"] is None
        assert (curated.record["language"], curated.record["tags"], curated.record["media_types"]) == (
            "fr", ["python"], ["image"])


@pytest.mark.parametrize("language", ["en\u0000", "x" * 1025, "e\u001bn"])
def test_a_bad_language_counts_as_und(language):
    curated = records.curated_record(status(language=language), "alpha.example", None)
    assert (curated.record["language"], curated.bad_keys) == ("und", {"language": 1})


def test_a_curated_record_without_user_is_a_curated_record():
    assert records.parse_curated_line(b'{"user": null, "language": "en"}') == {"user": None, "language": "en"}
    assert records.parse_curated_line(b'{"user": 5, "language": "en"}') is None


@pytest.mark.parametrize("acct", ["eve@../x", "eve@..", "eve@x/../y", "eve@host.example:8443", "eve@host..example",
                                  "eve@.host.example", "eve@host.example.", "eve@-host.example", "eve@ho st.example",
                                  "eve@host\u009b.example", "eve@host\\example", "eve@a@b.example"])
def test_a_handle_whose_host_is_not_a_host_name_is_a_bad_value(acct):
    with pytest.raises(BadRecord, match="bad_value:account.acct"):
        records.canonical_handle({"acct": acct}, "alpha.example")


@pytest.mark.parametrize("acct, expected", [("Eve@Bücher.example", "eve@bücher.example"),
                                            ("eve@my_host.example", "eve@my_host.example"),
                                            ("eve@xn--bcher-kva.example", "eve@xn--bcher-kva.example")])
def test_host_names_of_any_script_with_inner_hyphens_or_underscores_are_kept(acct, expected):
    assert records.canonical_handle({"acct": acct}, "alpha.example") == expected


@pytest.mark.parametrize("field", ["favourites_count", "reblogs_count", "replies_count", "account__followers_count"])
def test_counts_beyond_32_bits_are_bad_values(field):
    records.validate_status(modified(status(), **{field: 2 ** 31 - 1}))
    for huge in (2 ** 31, 2 ** 63, 2 ** 70):
        with pytest.raises(BadRecord, match=f"bad_value:{field.replace('__', '.')}"):
            records.validate_status(modified(status(), **{field: huge}))


def test_html_that_makes_html_parser_rescan_the_document_parses_in_linear_time():
    import time

    # each of these, 1 MB, took html.parser from 20 s to many minutes (it rescans the rest of the
    # document from every "<" that opens no complete tag)
    for bomb in ("</" * 500_000, "<a" * 500_000, "<!" * 500_000, "</a" * 333_333):
        started = time.monotonic()
        parsed = records.parse_content(bomb)
        assert time.monotonic() - started < 30, bomb[:4]
        assert parsed.text == bomb and parsed.links == []
    # real Mastodon HTML is not changed by the escaping of stray "<"
    content = ('<p>a &lt; b <a href="https://x.example/" rel="nofollow">x</a><br /><span class="h-card">'
               '<a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a></span> 😀</p>')
    parsed = records.parse_content(content)
    assert (parsed.text, parsed.links) == ("a < b x\n@bob 😀", [
        ("https://x.example/", []), ("https://b.example/@bob", ["u-url", "mention"])])


# ---------------------------------------------------------------------------------------------
# memos: a copy's HTML is read once per process

def test_a_copy_of_known_content_gives_the_record_of_a_first_reading(monkeypatch):
    content = ('<p>so happy &amp; glad 🎉 <a href="https://www.Example.org/x">x</a> '
               '<a href="https://alpha.example/tags/t" class="mention hashtag">#<span>t</span></a></p>')
    origin = status(content=content, language="en", favourites=3)
    copy = status(content=content, language="en", favourites=1, acct="ann@alpha.example", host="beta.example")
    with monkeypatch.context() as patched:  # a memo that keeps nothing: every reading is a first one
        patched.setattr(records, "content_facts", records._Memo(records.ContentFacts, max_bytes=0))
        cold = records.curated_record(copy, "beta.example", KEY)
        assert not records.content_facts.values
    records.curated_record(origin, "alpha.example", KEY)
    assert content in records.content_facts.values
    assert records.curated_record(copy, "beta.example", KEY) == cold
    assert cold.record["link_hosts"] == ["example.org"] and cold.record["emojis"] == ["🎉"]
    assert cold.record["sentiment"] == "positive" and cold.record["interactions"] == 1


def test_a_copy_in_another_language_is_scored_only_when_english():
    content = "<p>terrible awful day</p>"
    german = records.curated_record(status(content=content, language="de"), "alpha.example", None).record
    english = records.curated_record(status(content=content, language="en"), "alpha.example", None).record
    assert (german["sentiment"], german["sentiment_score"]) == (None, None)
    assert english["sentiment"] == "negative" and english["sentiment_score"] < -0.5


def test_memo_keeps_its_byte_budget_oldest_out_first_and_no_long_keys():
    calls = []
    memo = records._Memo(lambda key: calls.append(key) or key.upper(), max_bytes=3 * (records.MEMO_ENTRY_BYTES + 60),
                         max_key=20)
    for key in ("a", "b", "c", "d", "a" * 21):
        assert memo(key) == key.upper()
    assert list(memo.values) == ["b", "c", "d"] and memo.bytes <= memo.max_bytes
    assert memo("c") == "C" and memo("a" * 21) == "A" * 21 and memo("a") == "A"
    assert calls == ["a", "b", "c", "d", "a" * 21, "a" * 21, "a"]
    assert list(memo.values) == ["c", "d", "a"]


def test_note_opt_out_is_memoized_per_note():
    note = "<p>I write here #NoBot</p>"
    assert records.is_noindex({"note": note}) and records.is_noindex({"note": note})
    assert note in records._note_opts_out.values
    assert not records.is_noindex({"note": "<p>#nobots are fine</p>"})


# ---------------------------------------------------------------------------------------------
# Mastodon's own HTML without html.parser: the same Content as html.parser gives

_TOKENS = (
    "<p>", "</p>", "<br>", "<br />", "<br/>", "</br>", "<span>", "</span>", '<span class="invisible">',
    '<span class="h-card" translate="no">', "<a>", "</a>", '<a href="https://www.Example.com/a?x=1&amp;y=2">',
    '<a href="https://beta.example/@bob" class="u-url mention">', '<a class="mention hashtag" rel="tag" href="t">',
    '<a href="one" href="two">', '<a href="&quot;q&quot;" class="">', '<a href="" />', '<a href="x"/>',
    "<A HREF='x'>", "<a href=x>", '<a href="x" >', "<a\thref=\"x\">", "<script>", "</script>", "<style>x</style>",
    "<b>", "</i>", "<em>", "</em>", "<strong>", "</strong>", "<del>", "<code>", "</code>", "<pre>", "<blockquote>",
    "</blockquote>", "<ul>", "<li>", "</li>", "</ol>", "<abbr>", "<bdi>", "<textarea>", "</textarea>", "<title>",
    "<xmp>", "<plaintext>", "<!-- c -->", "<!doctype html>", "<", "</", "<<", "< p>", "<p", '<a href="x', "a < b", "1>0",
    "&amp;", "&lt;3", "&#x1F600;", "&#39;", "&nbsp;", "&", "&amp", "&bogus;", "&#;", "'", '"', "\n", "\r\n", "\x00",
    " ", "  ", "word", "héllo", "😀", "#tag", "@ann", "x" * 40,
)


def _html_soup(rng, tokens: int, choices=_TOKENS) -> str:
    return "".join(rng.choice(choices) for _ in range(tokens))


def test_mastodon_html_reads_as_html_parser_reads_it():
    import random

    from collection.standin import Federation
    from tests.fixtures.mapreduce.hostile import HOSTILE

    federation = Federation(seed=7, statuses_per_day=150)
    standin = {json.loads(body)["content"] for domain in federation.domains
               for body in federation.raw_statuses(domain, federation.start)}
    hostile = set()
    for case in HOSTILE:
        try:
            content = records.parse_raw_line(case.line).get("content")
        except BadRecord:
            continue
        if isinstance(content, str):
            hostile.add(content)
    rng = random.Random(15)
    soup = {_html_soup(rng, rng.randint(1, 12)) for _ in range(20_000)}
    mastodon_tokens = [token for token in _TOKENS if records._parse_mastodon_html(token) is not None]
    mastodon_soup = {_html_soup(rng, rng.randint(1, 30), mastodon_tokens) for _ in range(5_000)}
    real = [("<p>" + mention("bob@beta.example", "beta.example") + " read " + link("https://www.Example.com/a?b=1&amp;c")
             + " 😀 " + hashtag("Python", "alpha.example") + "</p><p>two<br />lines &lt;3</p>")]
    fast_read, left_to_html_parser = set(), set()
    for content in sorted(standin | hostile | soup | mastodon_soup) + real:
        fast = records._parse_mastodon_html(content)
        if fast is not None:
            fast_read.add(content)
            assert fast == records._parse_with_html_parser(content), content
        else:
            left_to_html_parser.add(content)
        assert records.parse_content(content) == (fast or records._parse_with_html_parser(content))
    assert not left_to_html_parser & (standin | mastodon_soup | set(real))
    assert len(mastodon_tokens) > 30
    # the odd soup goes both ways: many documents read fast, many more left to html.parser
    assert len(fast_read) > len(standin | mastodon_soup) + 1_000 and len(left_to_html_parser) > 10_000
