"""What a Mastodon status means for the lake's metrics: pure functions, one module.

Every job imports this module; unit tests call the functions directly. Nothing here knows
about Hadoop, mrjob or HDFS. The rules follow ../shared/DESIGN.md and docs/data-formats.md:

* a raw line is accepted when it is one JSON object (UTF-8, at most ``MAX_LINE_BYTES``) with the
  fields of ``validate_status``; otherwise ``BadRecord.reason`` says why, and the line is
  quarantined under that reason;
* ``curated_record`` projects an accepted status into the compact curated record;
* ``winner_rank`` orders the copies of one ``uri`` served by several instances.

Required fields (the API always sends them; without them a status cannot be counted right):
``uri`` (non-empty string without whitespace), ``created_at`` (ISO 8601 timestamp),
``content`` (string, may be empty: a media-only status), ``favourites_count``,
``reblogs_count``, ``replies_count`` (integers 0..MAX_COUNT), ``account`` (object) with ``acct``
(non-empty string; ``user@host`` with a host name, see :func:`canonical_handle`) and
``followers_count`` (integer 0..MAX_COUNT).
Optional fields, type-checked when present and not null: ``language`` (string),
``tags`` (list of objects with a string ``name``), ``emojis`` (list of objects with a string
``shortcode``), ``media_attachments`` (list of objects), ``account.created_at`` (string; when
unparseable the account month is null), ``account.note`` (string), ``account.noindex`` (bool).
The second wave's fields are read leniently, never quarantined: ``application`` (an object with a
string ``name``, else none), ``in_reply_to_id``, ``poll``, ``edited_at`` (set when not null or
empty), ``sensitive``, ``account.bot`` (true only when ``true``), ``spoiler_text`` (a string).

Longer than ~400 lines on purpose: STYLE.md wants what a record means in one module that every
job imports and the unit tests call directly.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import sys
import unicodedata
from collections import OrderedDict
from html.parser import HTMLParser
from typing import Any, Iterable, NamedTuple
from urllib.parse import urlsplit

from datalake import pseudonyms

#: Longer raw lines are quarantined as ``too_large`` (a status of a few thousand characters is a
#: few tens of kB of JSON; a line of megabytes is a broken or hostile server).
MAX_LINE_BYTES = 1 << 20
#: Larger counts (followers, favourites, reblogs, replies) are ``bad_value``: the most followed
#: fediverse accounts have a few million followers, and 32 bits keep every sum of a day's counts
#: far from what the readers of the tables hold (int64 in pandas, Parquet and Java).
MAX_COUNT = 2 ** 31 - 1

MEDIA_TYPES = ("image", "video", "gifv", "audio", "unknown")
UNKNOWN_LANGUAGE = "und"
TOOT_WITH_MEDIA = "toot_with_media"

_INSTANCE_IN_PATH = re.compile(r"/instance=([^/]+)/")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_OPT_OUT_IN_NOTE = re.compile(r"#no(?:bot|index)(?![\w])", re.IGNORECASE)


class BadRecord(ValueError):
    """A raw line that cannot become a curated record; ``reason`` is the quarantine reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Parsing and validation

def parse_raw_line(line: bytes | str) -> dict:
    """One raw-zone line → the status object, or BadRecord(bad_utf8|too_large|bad_json|not_an_object)."""
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise BadRecord("too_large")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRecord("bad_utf8") from None
    else:
        text = line
        if len(text) > MAX_LINE_BYTES:
            raise BadRecord("too_large")
    try:
        status = json.loads(text)
    except ValueError:  # JSONDecodeError, and RecursionError-free bad escapes
        raise BadRecord("bad_json") from None
    except RecursionError:
        raise BadRecord("bad_json") from None
    if not isinstance(status, dict):
        raise BadRecord("not_an_object")
    return status


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(obj: dict, name: str, path: str, kind: type | tuple, *, allow_empty: bool = True) -> Any:
    if name not in obj or obj[name] is None:
        raise BadRecord(f"missing_field:{path}")
    value = obj[name]
    if kind is int:
        if not _is_int(value):
            raise BadRecord(f"wrong_type:{path}")
        if not 0 <= value <= MAX_COUNT:
            raise BadRecord(f"bad_value:{path}")
    elif not isinstance(value, kind):
        raise BadRecord(f"wrong_type:{path}")
    if not allow_empty and isinstance(value, str) and not value.strip():
        raise BadRecord(f"bad_value:{path}")
    return value


def _optional_list(obj: dict, name: str, path: str, item_field: str | None) -> list:
    value = obj.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"wrong_type:{path}")
    for item in value:
        if not isinstance(item, dict):
            raise BadRecord(f"wrong_type:{path}")
        if item_field is not None and not isinstance(item.get(item_field), str):
            raise BadRecord(f"wrong_type:{path}.{item_field}")
    return value


def validate_status(status: dict) -> None:
    """Raise BadRecord when a field the metrics need is missing, of the wrong type or unusable."""
    uri = _require(status, "uri", "uri", str, allow_empty=False)
    if _SPACE_OR_CONTROL.search(uri):
        raise BadRecord("bad_value:uri")
    created_at = _require(status, "created_at", "created_at", str)
    if parse_timestamp(created_at) is None:
        raise BadRecord("bad_value:created_at")
    _require(status, "content", "content", str)
    for counter in ("favourites_count", "reblogs_count", "replies_count"):
        _require(status, counter, counter, int)
    account = _require(status, "account", "account", dict)
    _require(account, "acct", "account.acct", str, allow_empty=False)
    _require(account, "followers_count", "account.followers_count", int)
    for name, path in (("created_at", "account.created_at"), ("note", "account.note")):
        if account.get(name) is not None and not isinstance(account[name], str):
            raise BadRecord(f"wrong_type:{path}")
    if account.get("noindex") is not None and not isinstance(account["noindex"], bool):
        raise BadRecord("wrong_type:account.noindex")
    if status.get("language") is not None and not isinstance(status["language"], str):
        raise BadRecord("wrong_type:language")
    _optional_list(status, "tags", "tags", "name")
    _optional_list(status, "emojis", "emojis", "shortcode")
    _optional_list(status, "media_attachments", "media_attachments", None)


# ---------------------------------------------------------------------------------------------
# Timestamps

def parse_timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp (Mastodon's ``2026-11-18T10:00:00.000Z``) as an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def normalize_created_at(value: str) -> str:
    """``created_at`` in one fixed form (UTC, milliseconds, ``Z``) so that strings sort as times."""
    moment = parse_timestamp(value)
    if moment is None:
        raise BadRecord("bad_value:created_at")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def account_month(account: dict) -> str | None:
    """``YYYY-MM`` of the account's creation, or None when missing or unparseable."""
    moment = parse_timestamp(account.get("created_at"))
    return None if moment is None else f"{moment.year:04d}-{moment.month:02d}"


# ---------------------------------------------------------------------------------------------
# Simple fields

def language_code(status: dict) -> str:
    """The status language, lowercased (``EN`` → ``en``, ``zh-TW`` → ``zh-tw``); null/empty → ``und``."""
    language = status.get("language")
    if not isinstance(language, str):
        return UNKNOWN_LANGUAGE
    return language.strip().lower() or UNKNOWN_LANGUAGE


def interactions(status: dict) -> int:
    """favourites + reblogs + replies."""
    return sum(status.get(name) or 0 for name in ("favourites_count", "reblogs_count", "replies_count"))


def tag_names(status: dict) -> list[str]:
    """The status's tags, NFKC-normalized and lowercased, each once, sorted; empty names dropped."""
    names = set()
    for tag in status.get("tags") or ():
        name = unicodedata.normalize("NFKC", tag.get("name") or "").strip().lower()
        if name:
            names.add(name)
    return sorted(names)


def media_types(status: dict) -> list[str]:
    """Each attachment type once, sorted; a type outside MEDIA_TYPES (or none) is ``unknown``."""
    types = set()
    for attachment in status.get("media_attachments") or ():
        kind = attachment.get("type")
        types.add(kind if kind in MEDIA_TYPES else "unknown")
    return sorted(types)


def media_keys(types: Iterable[str]) -> list[str]:
    """Row keys of the media metric for one status: ``toot_with_media`` and ``type:<t>`` per type."""
    types = sorted(set(types))
    return [TOOT_WITH_MEDIA] + [f"type:{kind}" for kind in types] if types else []


def custom_emojis(status: dict) -> list[str]:
    """``:shortcode:`` of each custom emoji of the status's ``emojis`` list."""
    return sorted({f":{emoji['shortcode'].strip(':')}:" for emoji in status.get("emojis") or ()
                   if emoji.get("shortcode", "").strip(":")})


# ---------------------------------------------------------------------------------------------
# HTML content: visible text and external links

class _ContentParser(HTMLParser):
    """Collects the visible text and the ``<a>`` elements of a status's HTML content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[tuple[str | None, list[str]]] = []  # (href, class tokens)
        self.nodes: list[str] = []  # the text nodes, entities unescaped (sentiment joins them)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            attributes = dict(attrs)
            self.links.append((attributes.get("href"), (attributes.get("class") or "").lower().split()))
        elif tag in ("br", "p") and self.text:
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.nodes.append(data)


class Content(NamedTuple):
    """A status's HTML content, parsed once: what a reader sees, and its links."""

    text: str
    links: list[tuple[str | None, list[str]]]   # (href, class tokens) of each <a>
    nodes: tuple[str, ...] = ()                 # the text nodes, in order, entities unescaped


#: A "<" that does not open a complete start or end tag (``<name ...>`` or ``</name>`` with no other
#: "<" before its ">"). Mastodon's sanitizer writes a "<" of the text as ``&lt;`` and emits no
#: comments or declarations, but html.parser rescans the rest of the document from each such
#: "<" (1 MB of ``</`` takes minutes, of ``<a`` longer): they are escaped before parsing, which
#: keeps parsing linear and leaves real Mastodon HTML unchanged. The lookahead stops at the next
#: "<", so the substitution itself is linear too.
_STRAY_LT = re.compile(r"<(?!/?[A-Za-z][^<>]*>)")


#: The tags of Mastodon's own HTML (what its sanitizer lets through in a status: paragraphs, line
#: breaks, links, the spans of mentions and hashtags, the inline and block formatting of 4.x) with
#: lowercase names and double-quoted attributes, each after one space: what
#: ``_parse_mastodon_html`` reads without html.parser. None of them is one that html.parser reads
#: as raw text (script, style). End tags are matched for the same elements (``</br>`` is left to
#: html.parser).
_MASTODON_ELEMENTS = "a|b|blockquote|br|code|del|em|i|li|ol|p|pre|s|span|strong|u|ul"
_MASTODON_TAG = re.compile(rf'<(?:({_MASTODON_ELEMENTS})((?: [a-z][a-z-]*="[^"<>]*")*) ?/?'
                           rf'|/(?:{_MASTODON_ELEMENTS.replace("br|", "")}))>')
_MASTODON_ATTRIBUTE = re.compile(r' ([a-z][a-z-]*)="([^"<>]*)"')


def _parse_mastodon_html(content: str) -> Content | None:
    """What html.parser makes of ``content`` (``_ContentParser``) when every "<" in it opens one of
    ``_MASTODON_TAG``'s tags, read with two regular expressions; None for any other HTML. Same rules:
    a text node is the raw text between two tags, entities unescaped (``html.unescape``, which
    html.parser calls too); an attribute's value is unescaped, the last of a repeated name counts;
    ``<br>`` and ``<p>`` start a line once text was seen. tests/unit/test_records.py compares the
    two on Mastodon's HTML, the stand-in's and generated odd HTML."""
    text: list[str] = []
    links: list[tuple[str | None, list[str]]] = []
    nodes: list[str] = []
    position, end = 0, len(content)
    while position < end:
        opening = content.find("<", position)
        if opening != position:
            chunk = content[position:] if opening < 0 else content[position:opening]
            data = html.unescape(chunk) if "&" in chunk else chunk
            text.append(data)
            nodes.append(data)
            if opening < 0:
                break
        tag = _MASTODON_TAG.match(content, opening)
        if tag is None:
            return None
        name = tag.group(1)
        if name == "a":
            attributes = {key: html.unescape(value) if "&" in value else value
                          for key, value in _MASTODON_ATTRIBUTE.findall(tag.group(2))}
            links.append((attributes.get("href"), (attributes.get("class") or "").lower().split()))
        elif name in ("br", "p") and text:
            text.append("\n")
        position = tag.end()
    return Content("".join(text), links, tuple(nodes))


def parse_content(content: str) -> Content:
    """Parse a status's HTML with html.parser (lenient: odd HTML gives what it understood; a "<"
    that opens no complete tag is text, see ``_STRAY_LT``); Mastodon's own HTML, which is nearly
    every status, the same way at a fraction of the cost (``_parse_mastodon_html``)."""
    if "<" not in content:  # plain text: nothing to parse, only entities to unescape
        text = html.unescape(content) if "&" in content else content
        return Content(text, [], (text,))
    simple = _parse_mastodon_html(content)
    if simple is not None:
        return simple
    return _parse_with_html_parser(content)


def _parse_with_html_parser(content: str) -> Content:
    parser = _ContentParser()
    try:
        parser.feed(_STRAY_LT.sub("&lt;", content))
        parser.close()
    except Exception:  # noqa: BLE001 - keep what the parser understood of odd HTML
        pass
    return Content("".join(parser.text), parser.links, tuple(parser.nodes))


def visible_text(content: str) -> str:
    """The text a reader sees: HTML tags removed, entities unescaped."""
    return parse_content(content or "").text


def normalize_host(host: str) -> str | None:
    """A link host as the urls metric keys it: lowercase, no port, no trailing dot, no leading
    ``www.``, internationalized names in ASCII (punycode). None when it is not a usable host."""
    host = (host or "").strip().rstrip(".").lower()
    if not host:
        return None
    if not host.isascii():
        host = _to_ascii_host(host)
        if host is None:
            return None
    if host.startswith("www.") and len(host) > 4:
        host = host[4:]
    return host


def _to_ascii_host(host: str) -> str | None:
    import idna  # IDNA 2008 (UTS 46 mapping), as browsers do

    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        pass
    try:  # IDNA 2003 still resolves names that IDNA 2008 refuses (e.g. some symbols)
        return host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


class Links(NamedTuple):
    hosts: list[str]        # distinct external link hosts, sorted
    without_host: int       # external <a> whose href has no usable host (counted, not crashed)


def link_hosts(content: str | Content) -> Links:
    """Hosts of the ``<a href>`` of the content whose class has neither ``mention`` nor ``hashtag``."""
    parsed = content if isinstance(content, Content) else parse_content(content or "")
    hosts, without_host = set(), 0
    for href, classes in parsed.links:
        if "mention" in classes or "hashtag" in classes:
            continue
        host = None
        if href:
            try:
                host = normalize_host(urlsplit(href.strip()).hostname or "")
            except ValueError:  # e.g. an unbalanced IPv6 bracket
                host = None
        if host:
            hosts.add(host)
        else:
            without_host += 1
    return Links(sorted(hosts), without_host)


#: Emojis contain no ASCII character except a keycap's base (#, *, 0-9) at their start, so
#: ``emoji_list`` only needs to look at these runs of a text; pure ASCII text has no emoji.
_EMOJI_CANDIDATES = re.compile(r"[#*0-9]?[^\x00-\x7f]+")


def unicode_emojis(content: str | Content) -> list[str]:
    """Distinct Unicode emojis (the ``emoji`` package's ``emoji_list``) in the content's visible text."""
    text = content.text if isinstance(content, Content) else visible_text(content)
    chunks = _EMOJI_CANDIDATES.findall(text)
    if not chunks:
        return []
    import emoji  # imported here: only the jobs that need it pay for loading its tables

    return sorted({match["emoji"] for chunk in chunks for match in emoji.emoji_list(chunk)})


def status_emojis(status: dict, content: Content | ContentFacts | None = None) -> list[str]:
    """Custom ``:shortcode:`` emojis plus Unicode emojis of the content (not the content warning)."""
    if isinstance(content, ContentFacts):
        unicode = content.emojis
    else:
        unicode = unicode_emojis(content if content is not None else parse_content(status.get("content") or ""))
    return sorted(set(custom_emojis(status)) | set(unicode))


# ---------------------------------------------------------------------------------------------
# Accounts: handle, user key, opt-out

def instance_from_path(path: str | None) -> str | None:
    """The instance domain of a raw-zone file path (``.../instance=<domain>/dt=.../part-...``)."""
    match = _INSTANCE_IN_PATH.search(path or "")
    return match.group(1).strip().lower() if match else None


def canonical_handle(account: dict, instance_domain: str | None) -> str:
    """``username@host`` lowercased (datalake/pseudonyms.py); BadRecord(unknown_instance) when a
    local account's serving domain is not known, BadRecord(bad_value:account.acct) when the host is
    not a host name (``../x``, a port, a slash)."""
    try:
        return pseudonyms.canonical_handle(account, instance_domain)
    except pseudonyms.NoHandle as error:
        raise BadRecord(error.reason) from None


status_handle = pseudonyms.status_handle
user_key = pseudonyms.user_key
status_key = pseudonyms.status_key


def is_noindex(account: dict) -> bool:
    """The account opts out of indexing: ``noindex: true`` or #nobot / #noindex in its note."""
    if account.get("noindex") is True:
        return True
    note = account.get("note")
    if not isinstance(note, str) or "#" not in note:  # also covers the entity &#35;
        return False
    return _note_opts_out(note)


# ---------------------------------------------------------------------------------------------
# Second wave: client, hour, kinds of toot, author instance, sentiment (DESIGN.md "Second wave")

UNKNOWN_APPLICATION = "unknown"
#: the rows of toot_kind_table besides ``all``: a curated boolean field of the same name each,
#: then ``with_link`` (the status has a host counted by the urls metric)
KIND_FIELDS = ("reply", "sensitive", "content_warning", "poll", "bot", "edited")
KINDS = ("all", *KIND_FIELDS, "with_link")
SENTIMENTS = ("positive", "neutral", "negative")
#: VADER's compound thresholds (its authors' recommendation): >= positive, <= -negative
SENTIMENT_THRESHOLD = 0.05


def application_name(status: dict) -> str | None:
    """``application.name`` trimmed; None when there is no application, no name or only spaces.
    Mastodon shows the application only on the home instance's copy of a status."""
    application = status.get("application")
    name = application.get("name") if isinstance(application, dict) else None
    if not isinstance(name, str):
        return None
    return name.strip() or None


def app_key(application: str | None) -> str | None:
    """Row key of app_table: the trimmed application name, ``unknown`` when there is none; None for
    a name that breaks the bad-key rule (:func:`is_bad_key`): left out of the metric."""
    if application and is_bad_key(application):
        return None
    return application or UNKNOWN_APPLICATION


def utc_hour(created_at: str) -> str:
    """Row key of hour_table: the UTC hour of ``created_at``, ``00``-``23``."""
    moment = parse_timestamp(created_at)
    if moment is None:
        raise BadRecord("bad_value:created_at")
    return f"{moment.hour:02d}"


def _is_set(value: Any) -> bool:
    return value is not None and value != ""


def toot_kinds(status: dict) -> dict[str, bool]:
    """The kind fields of the curated record (KIND_FIELDS), each a bool:
    reply (``in_reply_to_id`` set), sensitive (``sensitive`` true), content_warning
    (``spoiler_text`` not blank), poll (``poll`` set), bot (account ``bot`` true), edited (``edited_at`` set)."""
    spoiler = status.get("spoiler_text")
    account = status.get("account") or {}
    return {"reply": _is_set(status.get("in_reply_to_id")),
            "sensitive": status.get("sensitive") is True,
            "content_warning": isinstance(spoiler, str) and bool(spoiler.strip()),
            "poll": _is_set(status.get("poll")),
            "bot": account.get("bot") is True,
            "edited": _is_set(status.get("edited_at"))}


def kind_keys(record: dict) -> list[str]:
    """Row keys of toot_kind_table for one curated record: ``all``, each kind it is, ``with_link``."""
    keys = ["all"] + [kind for kind in KIND_FIELDS if record.get(kind)]
    return keys + ["with_link"] if record.get("link_hosts") else keys


def author_host(handle: str) -> str:
    """Row key of instance_table: the author's home host, the host of the canonical handle."""
    return handle.rsplit("@", 1)[1]


def is_english(language: str) -> bool:
    """Sentiment is scored for ``en`` and ``en-*`` (a curated, lowercased language code)."""
    return language == "en" or language.startswith("en-")


#: VADER's time grows with the square of a text's length (0.05 s for 1,000 words, hours for the
#: 60,000 of a 1 MiB status): longer texts are scored on their first SENTIMENT_MAX_WORDS words.
#: Mastodon's default limit is 500 characters, so this only ever cuts odd or hostile statuses.
SENTIMENT_MAX_WORDS = 1000


def sentiment_text(content: str | Content) -> str:
    """The content's text nodes joined by single spaces, entities unescaped: block elements and
    ``<br>`` separate words for VADER as they do for a reader (``<p>un</p><p>happy</p>`` is two
    words). At most SENTIMENT_MAX_WORDS whitespace-separated words."""
    parsed = content if isinstance(content, Content) else parse_content(content or "")
    text = " ".join(node.strip() for node in parsed.nodes if node.strip())
    if text.count(" ") >= SENTIMENT_MAX_WORDS:
        words = text.split()
        if len(words) > SENTIMENT_MAX_WORDS:
            text = " ".join(words[:SENTIMENT_MAX_WORDS])
    return text


_ANALYZER = None


def sentiment_score(text: str) -> float:
    """VADER's compound score (-1..1) of a text; the lexicon ships in the vaderSentiment package."""
    global _ANALYZER
    if _ANALYZER is None:  # imported and built here: only curate pays for loading the lexicon
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYZER = SentimentIntensityAnalyzer()
    return _ANALYZER.polarity_scores(_within_budget(text, _ANALYZER.emojis))["compound"]


#: VADER replaces each emoji by its description (two to five words) before scoring: an emoji costs
#: this many words of SENTIMENT_MAX_WORDS (100,000 emojis would take hours).
EMOJI_WORDS = 4


def _within_budget(text: str, emojis) -> str:
    """The leading words of ``text`` that VADER reads as at most SENTIMENT_MAX_WORDS words, emojis
    counted as EMOJI_WORDS each; ``text`` unchanged when it fits."""
    cost, kept = 0, []
    for word in text.split():
        cost += 1 + EMOJI_WORDS * sum(1 for character in word if character in emojis)
        if cost > SENTIMENT_MAX_WORDS:
            return " ".join(kept)
        kept.append(word)
    return text


def sentiment_label(score: float) -> str:
    """``positive`` (>= 0.05), ``negative`` (<= -0.05), else ``neutral``."""
    if score >= SENTIMENT_THRESHOLD:
        return "positive"
    if score <= -SENTIMENT_THRESHOLD:
        return "negative"
    return "neutral"


def status_sentiment(language: str, content: str | Content | ContentFacts) -> tuple[str | None, float | None]:
    """(label, compound score) of an English status (``en``, ``en-*``), (None, None) otherwise."""
    if not is_english(language):
        return None, None
    score = content.score() if isinstance(content, ContentFacts) else sentiment_score(sentiment_text(content))
    return sentiment_label(score), score


# ---------------------------------------------------------------------------------------------
# Memos: what depends on a piece of HTML alone, computed once per process

#: The copies of a status that several instances serve carry the same HTML content, and an
#: account's note comes with each of its statuses: curate meets most contents twice and a note
#: hundreds of times a day. What is read from the HTML alone (its links, emojis, sentiment text and
#: score; whether a note opts out) is memoized per process, so that a copy costs its JSON and its
#: per-copy fields only. The functions are pure: the record is the same with or without the memo.
#: Each memo holds up to MEMO_BYTES (its keys' and kept texts' sys.getsizeof, plus
#: MEMO_ENTRY_BYTES an entry: about what the process's memory grows by), the oldest out first; a key
#: longer than MEMO_MAX_KEY characters (a hostile megabyte) is not kept. A 100k-status day (62,000
#: distinct contents) fits whole.
MEMO_BYTES = 128 << 20
MEMO_MAX_KEY = 16 << 10
MEMO_ENTRY_BYTES = 600


class _Memo:
    """A bounded memo of a pure function of one string (see MEMO_BYTES); ``size(value)`` is the
    bytes a value keeps beyond MEMO_ENTRY_BYTES."""

    def __init__(self, function, size=lambda _: 0, max_bytes: int = MEMO_BYTES, max_key: int = MEMO_MAX_KEY):
        self.function, self.size, self.max_bytes, self.max_key = function, size, max_bytes, max_key
        self.values: OrderedDict = OrderedDict()
        self.bytes = 0

    def __call__(self, key: str):
        try:
            return self.values[key]
        except KeyError:
            pass
        value = self.function(key)
        if len(key) <= self.max_key:
            self.values[key] = value
            self.bytes += self._bytes(key, value)
            while self.bytes > self.max_bytes:
                self.bytes -= self._bytes(*self.values.popitem(last=False))
        return value

    def _bytes(self, key: str, value) -> int:
        return sys.getsizeof(key) + self.size(value) + MEMO_ENTRY_BYTES


class ContentFacts:
    """What the curated record takes from a status's HTML content: the external link hosts, the
    distinct Unicode emojis, and the VADER score of its text (scored when first asked: only English
    statuses are)."""

    __slots__ = ("links", "emojis", "sentiment_text", "_score")

    def __init__(self, content: str):
        parsed = parse_content(content)
        self.links = link_hosts(parsed)
        self.emojis = unicode_emojis(parsed)
        self.sentiment_text = sentiment_text(parsed)
        self._score: float | None = None

    def score(self) -> float:
        if self._score is None:
            self._score = sentiment_score(self.sentiment_text)
        return self._score


content_facts = _Memo(ContentFacts, size=lambda facts: sys.getsizeof(facts.sentiment_text))
_note_opts_out = _Memo(lambda note: bool(_OPT_OUT_IN_NOTE.search(visible_text(note))))


# ---------------------------------------------------------------------------------------------
# The curated record and the choice among copies

class Curated(NamedTuple):
    record: dict              # the curated record of docs/data-formats.md
    links_without_host: int   # counted by the curate job
    account_month_missing: bool
    bad_keys: dict            # kind (tag, link_host, emoji, user, language) -> keys left out (bad_key)


def curated_record(status: dict, instance_domain: str | None, pseudonym_key: bytes | None) -> Curated:
    """Project a validated status into the curated record (docs/data-formats.md).

    Metric keys that break the bad-key rule (:func:`is_bad_key`) are left out of the record and
    counted in ``bad_keys``; the status still counts everywhere else. A bad handle gives
    ``"user": null`` (the status counts for no user), a bad language ``und``."""
    account = status["account"]
    content = content_facts(status["content"])
    links = content.links
    month = account_month(account)
    bad_keys: dict[str, int] = {}
    language = language_code(status)
    if is_bad_key(language):
        bad_keys["language"] = 1
        language = UNKNOWN_LANGUAGE
    handle = canonical_handle(account, instance_domain)
    if is_bad_key(handle):
        bad_keys["user"] = 1
    sentiment, score = status_sentiment(language, content)
    application = application_name(status)
    if application is not None and is_bad_key(application):
        bad_keys["application"] = 1  # kept in the record; the apps job leaves it out (app_key)
    record = {
        "uri": status_key(status["uri"], pseudonym_key),
        "created_at": normalize_created_at(status["created_at"]),
        "language": language,
        "user": None if "user" in bad_keys else user_key(handle, pseudonym_key),
        "followers": account["followers_count"],
        "account_month": month,
        "interactions": interactions(status),
        "link_hosts": good_keys(links.hosts, "link_host", bad_keys),
        "media_types": media_types(status),
        "tags": good_keys(tag_names(status), "tag", bad_keys),
        "emojis": good_keys(status_emojis(status, content), "emoji", bad_keys),
        # second wave: from the copy that wins (the home instance's when collected)
        "application": application,
        "author_host": None if "user" in bad_keys else author_host(handle),
        **toot_kinds(status),
        "sentiment": sentiment,
        "sentiment_score": score,
    }
    return Curated(record, links.without_host, month is None, bad_keys)


#: DESIGN.md "Bad input": a metric key longer than this in UTF-8, or holding a control character,
#: is left out of its metric (HBase refuses row keys over 32,767 bytes; a key with a NUL or an
#: escape sequence breaks the readers of the tables), so that no single status can keep a day
#: out of HBase.
MAX_KEY_BYTES = 1024
#: Unicode category Cc is exactly C0 (U+0000-U+001F), DEL and C1 (U+007F-U+009F)
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")


def is_bad_key(key: str) -> bool:
    """The key breaks the bad-key rule: over MAX_KEY_BYTES in UTF-8, or a control character (Cc)."""
    if len(key) > MAX_KEY_BYTES or _CONTROL_CHARACTER.search(key):
        return True
    return len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES


def good_keys(keys: Iterable[str], kind: str, bad_keys: dict[str, int]) -> list[str]:
    """``keys`` without the bad ones (:func:`is_bad_key`), which are counted in ``bad_keys[kind]``."""
    kept = []
    for key in keys:
        if is_bad_key(key):
            bad_keys[kind] = bad_keys.get(kind, 0) + 1
        else:
            kept.append(key)
    return kept


def is_origin_copy(uri: str, instance_domain: str | None) -> bool:
    """The copy was served by the instance the status comes from (the uri's host)."""
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        return False
    return bool(host and instance_domain and host.lower() == instance_domain.lower())


def winner_rank(is_origin: bool, interaction_count: int, raw_line: bytes) -> tuple:
    """Sort key of a copy: the smallest wins. Origin first, then most interactions, then the
    smallest raw line (bytewise), so the choice never depends on input order."""
    return (0 if is_origin else 1, -interaction_count, raw_line)


#: characters that some line readers (Python's str.splitlines) take for line ends although JSON
#: allows them raw in strings: escaped in our output lines (json.dumps escapes \n, \r and the
#: other control characters itself)
_LINE_BREAKERS = re.compile("[\x85\u2028\u2029]")


def encode_record(record: dict) -> bytes:
    """A curated or quarantine record as one compact UTF-8 JSON line (raises UnicodeEncodeError
    on lone surrogates, which a JSON ``\\ud800`` escape can smuggle in)."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if _LINE_BREAKERS.search(text):
        text = _LINE_BREAKERS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text.encode("utf-8")


def quarantine_record(reason: str, source: str | None, raw_line: bytes) -> dict:
    """The quarantine record of a bad raw line; the line is kept whole (undecodable bytes as \\xNN)."""
    return {"reason": reason, "source": source or "", "line": raw_line.decode("utf-8", "backslashreplace")}


def parse_curated_line(line: bytes | str) -> dict | None:
    """One curated-zone line → record, or None when it is not a curated record. Its ``user`` is a
    string, or null when the author's handle broke the bad-key rule (the status counts for no user)."""
    try:
        record = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or "user" not in record:
        return None
    if record["user"] is not None and not isinstance(record["user"], str):  # null: a bad handle
        return None
    return record

