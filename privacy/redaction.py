"""What an erasure does to one line of each zone: pure functions over bytes (privacy/erasure.py).

A raw line: removed when the person wrote it (matched on the canonical handle as curate builds it,
a local account's bare ``acct`` taking the partition's instance domain), when it boosts one of
their statuses, or when it cannot be read as JSON but names them; in other people's statuses the
``mentions`` entries of them, the ``<a>`` mentions of them in the content (``@[erased]``, class
and host kept, so no metric changes), a quote of their status (``quoted_status`` null, ``state``
``deleted``) and any text naming their handle or profile URL are redacted. A quarantine record's
raw line goes through the same rule; a curated record is removed when its ``user`` is theirs.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from datalake import pseudonyms
from datalake.lake import instance_from_path
from privacy.identity import ERASED, Matcher

KEEP, REMOVE, REDACT = "keep", "remove", "redact"
_LINE_BREAKERS = re.compile("[\x85\u2028\u2029]")


def _json_object(line: bytes) -> dict | None:
    """A line as a JSON object, or None (not UTF-8, not JSON, too deep, not an object)."""
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _encode_record(record: dict) -> bytes:
    """A quarantine record as one compact UTF-8 JSON line, as curate writes it."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return _LINE_BREAKERS.sub(lambda match: f"\\u{ord(match.group()):04x}", text).encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class LineResult:
    action: str                 # keep | remove | redact
    line: bytes | None = None   # the new line (redact)
    reason: str = ""            # authored | boost | unreadable | mention ...


def mastodon_json(value: Any) -> bytes:
    """JSON as Mastodon (Rails) sends it: compact UTF-8, ``<``, ``>``, ``&`` and U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


#: an <a> element: its start tag stops at the next "<", its text at the next "<a": without those
#: bounds every unclosed "<a" of a hostile content rescans the rest of it (40,000 of them took 161 s,
#: on every line of every erasure)
_ANCHOR = re.compile(r"<a\b[^<>]*>(?:(?!<a\b).)*?</a\s*>", re.IGNORECASE | re.DOTALL)
_ATTRIBUTE = r"""\b{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(_ATTRIBUTE.format(name=name), tag, re.IGNORECASE)
    if not match:
        return None
    return html.unescape(next(group for group in match.groups() if group is not None))


def _redact_anchors(content: str, matcher: Matcher) -> str:
    """``<a href="<their profile>" class="u-url mention">@<span>ann</span></a>`` → an anchor with
    the same class and host whose text is ``@[erased]`` (the urls metric sees the same link)."""
    def replace(match: re.Match) -> str:
        anchor = match.group(0)
        href = _attribute(anchor[:anchor.index(">") + 1], "href")
        if not matcher.is_profile_url(href or ""):
            return anchor
        parts = urlsplit(href.strip())
        css = _attribute(anchor[:anchor.index(">") + 1], "class")
        css_attribute = f' class="{html.escape(css)}"' if css is not None else ""
        return f'<a href="{html.escape(f"{parts.scheme}://{parts.netloc}/{ERASED}")}"{css_attribute}>@{ERASED}</a>'

    return _ANCHOR.sub(replace, content)


def _redact_strings(value: Any, matcher: Matcher) -> tuple[Any, bool]:
    """Every string in a JSON value with the person's handle and URLs redacted."""
    if isinstance(value, str):
        redacted = matcher.redact(value)
        return redacted, redacted != value
    if isinstance(value, list):
        changed = False
        for index, item in enumerate(value):
            value[index], item_changed = _redact_strings(item, matcher)
            changed |= item_changed
        return value, changed
    if isinstance(value, dict):
        changed = False
        for name in value:
            value[name], item_changed = _redact_strings(value[name], matcher)
            changed |= item_changed
        return value, changed
    return value, False


def _is_person(account_holder: Any, matcher: Matcher, instance_domain: str | None) -> bool:
    return pseudonyms.status_handle(account_holder, instance_domain) == matcher.person.handle


def _redact_status(status: dict, matcher: Matcher, instance_domain: str | None) -> bool:
    """Remove every reference to the person from someone else's status; True when it changed."""
    changed = False
    mentions = status.get("mentions")
    if isinstance(mentions, list):
        kept = []
        for mention in mentions:
            if isinstance(mention, dict) and (_is_person({"account": mention}, matcher, instance_domain)
                                              or matcher.is_profile_url(mention.get("url"))):
                matcher.learn(mention.get("url"))
                continue
            kept.append(mention)
        if len(kept) != len(mentions):
            status["mentions"], changed = kept, True
    quote = status.get("quote")
    if isinstance(quote, dict) and isinstance(quote.get("quoted_status"), dict):
        if _is_person(quote["quoted_status"], matcher, instance_domain):
            quote["quoted_status"], quote["state"], changed = None, "deleted", True
        else:
            changed |= _redact_status(quote["quoted_status"], matcher, instance_domain)
    if isinstance(status.get("reblog"), dict):
        changed |= _redact_status(status["reblog"], matcher, instance_domain)
    if isinstance(status.get("content"), str):
        content = _redact_anchors(status["content"], matcher)
        if content != status["content"]:
            status["content"], changed = content, True
    _, strings_changed = _redact_strings(status, matcher)
    return changed or strings_changed


def erase_from_raw_line(line: bytes, matcher: Matcher, instance_domain: str | None) -> LineResult:
    """What the erasure does to one raw-zone line (see the module docstring)."""
    status = _json_object(line)
    if status is None:
        text = line.decode("utf-8", "replace")
        if matcher.names_person(text, instance_domain):
            return LineResult(REMOVE, reason="unreadable")
        return LineResult(KEEP)
    if _is_person(status, matcher, instance_domain):
        account = status["account"]
        matcher.learn(account.get("url"))
        matcher.learn(account.get("uri"))
        return LineResult(REMOVE, reason="authored")
    if isinstance(status.get("reblog"), dict) and _is_person(status["reblog"], matcher, instance_domain):
        return LineResult(REMOVE, reason="boost")
    if _redact_status(status, matcher, instance_domain):
        return LineResult(REDACT, mastodon_json(status), reason="mention")
    return LineResult(KEEP)


def erase_from_quarantine_line(line: bytes, matcher: Matcher) -> LineResult:
    """A quarantine record ``{"reason", "source", "line"}``: its raw line as in the raw zone."""
    try:
        record = json.loads(line)
        raw = record["line"]
        if not isinstance(raw, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        text = line.decode("utf-8", "replace")
        return LineResult(REMOVE, reason="unreadable") if matcher.names_person(text) else LineResult(KEEP)
    domain = instance_from_path(record.get("source") if isinstance(record.get("source"), str) else None)
    result = erase_from_raw_line(raw.encode("utf-8", "surrogatepass"), matcher, domain)
    if result.action != REDACT:
        return result
    record["line"] = result.line.decode("utf-8", "backslashreplace")
    return LineResult(REDACT, _encode_record(record), reason=result.reason)


def erase_from_curated_line(line: bytes, user_key: str) -> LineResult:
    record = _json_object(line)
    if record is not None and record.get("user") == user_key:
        return LineResult(REMOVE, reason="authored")
    return LineResult(KEEP)
