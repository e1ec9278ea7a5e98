"""Erasure of one person (GDPR art. 17): their statuses out of every zone and out of HBase.

``erase_handle(settings, "ann@alpha.example")`` (``python -m datalake erase --handle ...``):

1. **Who.** The handle is made canonical the way curate makes it (``username@host``,
   lowercased; :func:`mapreduce.records.canonical_handle`), and the user key the curated zone
   and HBase hold is computed from it with the configured key (the pseudonym; the handle itself
   with ``DATALAKE_PSEUDONYMIZE=0``).
2. **The erasure list** (``state/privacy/erasure-list.json``) gets the person's entry first:
   HMAC-SHA256(pseudonym key, ``"erasure-list\\0" + handle``), never the handle, and not the
   user key either (the list cannot be joined with HBase). The DAG's ``reapply_erasures`` task
   re-applies the list to each day it collects (:func:`reapply_erasures`), so the person's
   statuses do not come back when a day is collected again (a backfill of a day the raw
   retention deleted, a partition deleted by hand) or when they post again.
3. **Raw zone**, every partition of every instance (``raw/mastodon/instance=<d>/dt=<day>/``),
   line by line (:func:`erase_from_raw_line`):

   * removed: their statuses, matched on the canonical handle as curate builds it (a local
     account's bare ``acct`` takes the partition's instance domain), a boost of one of their
     statuses, and a line that cannot be read as JSON but names them (handle or profile URL);
   * redacted, in other people's statuses: the ``mentions`` entries that point to them, the
     ``<a>`` mentions of them in the content (replaced by ``@[erased]``, class and host kept, so
     no metric changes), a quote of one of their statuses (``quoted_status`` null, ``state``
     ``deleted``, as Mastodon shows a deleted quote), and any other text naming their handle or
     profile URL (``[erased]``). Numeric ids (``in_reply_to_account_id``, a mention's local
     ``id``) are kept: they mean nothing without the instance, where the account is gone.

   Part files keep their names, so the collector's resume logic (the highest ``<last_id>`` of a
   day's parts, docs/data-formats.md) is unchanged: a part's name says which id range the
   collector fetched; after an erasure it may hold fewer statuses, or none (an empty gzip).
4. **Quarantine zone**: each record's raw ``line`` goes through the same function: removed or
   redacted exactly as in the raw zone (so a later curate of the raw zone gives the same file).
5. **Curated zone**: records whose ``user`` is the person's user key are removed.
6. Every file that changes is rewritten whole under a temporary name in its own directory and
   renamed over the old one (:func:`datalake.lake.write_atomic`): a reader sees the old or the
   new file, never a partial one, and no data is lost if the erasure stops half way (a rerun
   finishes it: every step is idempotent).
7. **Aggregates and HBase**: every day whose curated partition lost records, or on which HBase
   still holds the person's cells, is recomputed from its curated partition
   (``mapreduce.pipeline.run_day(curate=False)``) and reloaded (``hbase.loader.load_day``); the
   loader removes the person's ``daily:<dt>`` cells (stale rows of the day's manifest), the
   ``user_table`` row and the ``croissance_accounts_table`` rows once they hold no day, and
   recomputes every count. What a reload could not reach (a day whose curated partition is gone)
   is deleted explicitly and reported as a warning, with the day's manifests cleaned.

The scan reads the whole raw zone (there is no index by author): it costs in proportion to the
lake, once per erasure. When the person's account URL is not on their handle's host (an
instance with a separate web domain), the URLs learned from their own statuses are used in a
second pass.

Logs name the person by their erasure-list entry (the first 12 hex digits of the digest), never
by handle; only the report returned to the caller (the CLI's output) holds the handle.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import html
import json
import logging
import posixpath
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from hdfs import HdfsError

from datalake.lake import (TMP_PREFIX, LakeError, LakeLayout, hdfs_client, layout, list_files, list_names,
                           write_atomic)
from datalake.settings import ConfigError, Settings
from mapreduce import records

log = logging.getLogger(__name__)

ERASED = "[erased]"
LIST_FORMAT = 1
LIST_MESSAGE_PREFIX = b"erasure-list\x00"
GZIP_MAGIC = b"\x1f\x8b"
RAW_GZIP_LEVEL = 3  # the collector's level (collection/rawzone.py)
MAX_PASSES = 3

KEEP, REMOVE, REDACT = "keep", "remove", "redact"
ZONES = ("raw", "quarantine", "curated")


class ErasureError(Exception):
    """An erasure could not be done; the message says what failed and what to do."""


# ---------------------------------------------------------------------------------------------
# Who is erased


def canonical(handle: str) -> str:
    """``@Ann@Alpha.example`` → ``ann@alpha.example``; ErasureError unless it is user@host."""
    text = (handle or "").strip()
    try:
        canonical_handle = records.canonical_handle({"acct": text}, None)
    except (records.BadRecord, KeyError):
        canonical_handle = None
    if not canonical_handle or any(character.isspace() or character in "/:'\"<>" for character in canonical_handle):
        raise ErasureError(f"{handle!r} is not a handle: give it as user@host (e.g. ann@mastodon.social), "
                           "with the host of the account's own instance")
    return canonical_handle


def erasure_digest(handle: str, key: bytes) -> str:
    """The erasure list's entry for a canonical handle: HMAC-SHA256, hex (not the user key)."""
    return hmac.new(key, LIST_MESSAGE_PREFIX + handle.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Person:
    handle: str          # canonical user@host
    user_key: str        # what the curated zone and HBase hold (pseudonym, or the handle itself)
    digest: str | None   # erasure-list entry (None without a key)

    @property
    def username(self) -> str:
        return self.handle.split("@", 1)[0]

    @property
    def host(self) -> str:
        return self.handle.split("@", 1)[1]

    @property
    def label(self) -> str:
        """How logs name the person: the erasure-list entry, never the handle."""
        return f"erasure entry {self.digest[:12]}" if self.digest else "the person (no pseudonym key: no entry id)"

    @classmethod
    def from_handle(cls, handle: str, settings: Settings) -> "Person":
        canonical_handle = canonical(handle)
        key = settings.pseudonym_key.reveal()
        key_bytes = key.encode("utf-8") if key else None
        if settings.pseudonymize:
            try:
                key_bytes = settings.require_pseudonym_key()
            except ConfigError as error:
                raise ConfigError(f"the curated zone and HBase hold pseudonyms, and computing the person's pseudonym "
                                  f"needs the key that made them: {error}") from None
        user_key = records.user_key(canonical_handle, key_bytes if settings.pseudonymize else None)
        return cls(canonical_handle, user_key, erasure_digest(canonical_handle, key_bytes) if key_bytes else None)


_AFTER_NAME = r"(?![\w-]|\.\w)"  # the name ends here: not ann26, ann-b, ann.b, alpha.example.org


class Matcher:
    """The person's handle and profile URLs in text: found, redacted, and learned from the data."""

    def __init__(self, person: Person):
        self.person = person
        self.learned: set[str] = set()
        user, host = re.escape(person.username), re.escape(person.host)
        self._handle = re.compile(rf"(?<![\w.@-])(@?){user}@{host}{_AFTER_NAME}", re.IGNORECASE)
        self._derived_url = rf"https?://(?:www\.)?{host}/(?:@|users/){user}{_AFTER_NAME}"
        self._url = re.compile(self._derived_url, re.IGNORECASE)
        self._local_acct = re.compile(rf'"acct"\s*:\s*"@?{user}"', re.IGNORECASE)

    def learn(self, url: Any) -> bool:
        """Remember one of the person's profile URLs met in the data; True when it is new
        (not covered by the URLs derived from the handle). Only a URL whose path names the person
        counts: an odd server's bare instance URL must not make every link to it "theirs"."""
        if not isinstance(url, str) or "://" not in url or self._url.fullmatch(url.rstrip("/")):
            return False
        url = url.rstrip("/")
        try:
            path = urlsplit(url).path.lower()
        except ValueError:
            return False
        if not re.search(rf"(?<![\w-]){re.escape(self.person.username)}{_AFTER_NAME}", path):
            return False
        if url.lower() in self.learned:
            return False
        self.learned.add(url.lower())
        extra = "|".join(re.escape(known) + _AFTER_NAME for known in sorted(self.learned))
        self._url = re.compile(f"{self._derived_url}|{extra}", re.IGNORECASE)
        return True

    def is_profile_url(self, url: Any) -> bool:
        return isinstance(url, str) and bool(self._url.match(url.strip()))

    def names_person(self, text: str, instance_domain: str | None = None) -> bool:
        """The text holds the handle or a profile URL (or, on the person's own instance, their
        bare ``"acct"``): used on lines that are not readable JSON."""
        text = text.replace("\\/", "/")
        if self._handle.search(text) or self._url.search(text):
            return True
        return instance_domain == self.person.host and bool(self._local_acct.search(text))

    def redact(self, text: str) -> str:
        """Profile URLs → ``<scheme>://<host>/[erased]`` (host kept), handles → ``[erased]``."""
        def url(match: re.Match) -> str:
            parts = urlsplit(match.group(0))
            return f"{parts.scheme}://{parts.netloc}/{ERASED}"

        return self._handle.sub(lambda match: match.group(1) + ERASED, self._url.sub(url, text))


# ---------------------------------------------------------------------------------------------
# One line of each zone (pure functions)


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
    return records.status_handle(account_holder, instance_domain) == matcher.person.handle


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
    try:
        status = records.parse_raw_line(line)
    except records.BadRecord:
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
    domain = records.instance_from_path(record.get("source") if isinstance(record.get("source"), str) else None)
    result = erase_from_raw_line(raw.encode("utf-8", "surrogatepass"), matcher, domain)
    if result.action != REDACT:
        return result
    record["line"] = result.line.decode("utf-8", "backslashreplace")
    return LineResult(REDACT, records.encode_record(record), reason=result.reason)


def erase_from_curated_line(line: bytes, user_key: str) -> LineResult:
    record = records.parse_curated_line(line)
    if record is not None and record["user"] == user_key:
        return LineResult(REMOVE, reason="authored")
    return LineResult(KEEP)


# ---------------------------------------------------------------------------------------------
# Files


def split_lines(data: bytes) -> tuple[list[bytes], bool]:
    """(lines, whether the data ended with a newline)."""
    if not data:
        return [], False
    lines = data.split(b"\n")
    if lines[-1] == b"":
        return lines[:-1], True
    return lines, False


def join_lines(lines: list[bytes], final_newline: bool = True) -> bytes:
    if not lines:
        return b""
    return b"\n".join(lines) + (b"\n" if final_newline else b"")


def decode_file(data: bytes) -> tuple[bytes, bool]:
    """(content, was gzip): gzip detected by its magic bytes, whatever the file's name."""
    if data[:2] == GZIP_MAGIC:
        return gzip.decompress(data), True
    return data, False


def encode_file(content: bytes, compressed: bool) -> bytes:
    if not compressed:
        return content
    compressor = zlib.compressobj(RAW_GZIP_LEVEL, zlib.DEFLATED, 31)  # one gzip member, as the collector writes
    return compressor.compress(content) + compressor.flush()


@dataclass
class FileChange:
    zone: str
    path: str
    day: str | None
    lines: int
    removed: int = 0
    redacted: int = 0
    reasons: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        return {"zone": self.zone, "path": self.path, "day": self.day, "lines": self.lines, "removed": self.removed,
                "redacted": self.redacted, "reasons": dict(self.reasons)}


@dataclass(frozen=True)
class ZoneFile:
    zone: str
    path: str
    day: str | None
    instance_domain: str | None


_DT = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")


def _partitions(client, parent: str, days: set[str] | None) -> list[tuple[str, str]]:
    found = []
    for name in list_names(client, parent):
        match = _DT.match(name)
        if match and (days is None or match.group(1) in days):
            found.append((match.group(1), posixpath.join(parent, name)))
    return found


def zone_files(client, lake: LakeLayout, days: Iterable[str] | None = None,
               temp_files: list[str] | None = None) -> list[ZoneFile]:
    """The finished files of the raw, quarantine and curated zones (of ``days`` when given);
    temporary leftovers (``_tmp.``) are appended to ``temp_files``."""
    wanted = set(days) if days is not None else None
    files: list[ZoneFile] = []

    def add(zone: str, day: str, partition: str, domain: str | None) -> None:
        for path in list_files(client, partition):
            files.append(ZoneFile(zone, path, day, domain))
        if temp_files is not None:
            temp_files.extend(posixpath.join(partition, name) for name in list_names(client, partition)
                              if name.startswith(TMP_PREFIX))

    for instance in list_names(client, lake.raw_root):
        if instance.startswith("instance="):
            domain = instance.split("=", 1)[1].lower()
            for day, partition in _partitions(client, posixpath.join(lake.raw_root, instance), wanted):
                add("raw", day, partition, domain)
    for stage in list_names(client, lake.quarantine_root):
        if not stage.startswith(("_", ".")):
            for day, partition in _partitions(client, posixpath.join(lake.quarantine_root, stage), wanted):
                add("quarantine", day, partition, None)
    for day, partition in _partitions(client, lake.curated_root, wanted):
        add("curated", day, partition, None)
    return files


def _read(client, path: str) -> bytes:
    try:
        with client.read(path) as reader:
            return reader.read()
    except HdfsError as error:
        raise LakeError(f"reading {path} on HDFS failed: {error}") from error


def erase_in_file(client, zone_file: ZoneFile, line_action: Callable[[bytes], LineResult],
                  dry_run: bool) -> FileChange | None:
    """Apply ``line_action`` to every line of one file; rewrite it atomically when it changes."""
    data = _read(client, zone_file.path)
    try:
        content, compressed = decode_file(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ErasureError(f"{zone_file.path} is not readable gzip ({error}): it cannot be checked for the "
                           "person's data; inspect it, repair or delete it, then rerun the erasure") from None
    lines, final_newline = split_lines(content)
    change = FileChange(zone_file.zone, zone_file.path, zone_file.day, len(lines))
    kept = []
    for line in lines:
        result = line_action(line)
        if result.action == REMOVE:
            change.removed += 1
            change.reasons[result.reason] += 1
        elif result.action == REDACT:
            change.redacted += 1
            change.reasons[f"redacted:{result.reason}"] += 1
            kept.append(result.line)
        else:
            kept.append(line)
    if not change.removed and not change.redacted:
        return None
    if not dry_run:
        write_atomic(client, zone_file.path, encode_file(join_lines(kept, final_newline), compressed))
    return change


# ---------------------------------------------------------------------------------------------
# The erasure list


def read_erasure_list(client, lake: LakeLayout) -> dict:
    path = lake.erasure_list()
    try:
        if client.status(path, strict=False) is None:
            return {"format": LIST_FORMAT, "entries": {}}
        document = json.loads(_read(client, path))
        if not isinstance(document.get("entries"), dict):
            raise ValueError("no entries object")
        return document
    except (ValueError, AttributeError) as error:
        raise ErasureError(f"the erasure list {path} is damaged ({error}); restore it from a backup (it holds "
                           "only keyed digests) or rebuild it by re-running the erasures") from None
    except HdfsError as error:
        raise LakeError(f"reading the erasure list {path} failed: {error}") from error


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_erasure_list(client, lake: LakeLayout, document: dict) -> None:
    document = {"format": LIST_FORMAT,
                "about": "HMAC-SHA256(pseudonym key, 'erasure-list\\0' + canonical handle) of each person erased; "
                         "datalake/erasure.py",
                "entries": dict(sorted(document["entries"].items()))}
    write_atomic(client, lake.erasure_list(), json.dumps(document, indent=1).encode("utf-8") + b"\n")


def _record_in_list(client, lake: LakeLayout, digest: str, completed: bool) -> str:
    document = read_erasure_list(client, lake)
    entry = document["entries"].get(digest)
    status = "already listed" if entry else "recorded"
    entry = entry or {"requested_at": _now(), "completed_at": None}
    if completed:
        entry["completed_at"] = _now()
    document["entries"][digest] = entry
    _write_erasure_list(client, lake, document)
    return status


# ---------------------------------------------------------------------------------------------
# The erasure


@dataclass
class ErasureReport:
    handle: str
    user_key: str
    label: str
    dry_run: bool
    days: list[str] | None = None                 # restricted to these days (reapply); None = every day
    passes: int = 0
    files_scanned: Counter = field(default_factory=Counter)    # zone -> files read
    lines_scanned: Counter = field(default_factory=Counter)
    changes: list[FileChange] = field(default_factory=list)
    days_recomputed: list[str] = field(default_factory=list)
    days_reloaded: list[str] = field(default_factory=list)
    hbase_rows_before: dict[str, int] = field(default_factory=dict)
    hbase_rows_removed_by_reload: dict[str, int] = field(default_factory=dict)
    hbase_rows_deleted: dict[str, int] = field(default_factory=dict)    # explicitly, not by a reload
    hbase_days: list[str] = field(default_factory=list)                 # days HBase held for the person
    manifests_rewritten: list[str] = field(default_factory=list)
    hbase_compacted: list[str] = field(default_factory=list)           # major compaction requested
    erasure_list: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    scan_seconds: float = 0.0

    def removed(self, zone: str) -> dict[str, int]:
        """Lines removed per day in a zone: raw = status copies (one per instance that served it),
        curated = statuses, quarantine = quarantined lines."""
        by_day: Counter = Counter()
        for change in self.changes:
            if change.zone == zone and change.removed:
                by_day[change.day] += change.removed
        return dict(sorted(by_day.items()))

    def redacted(self, zone: str) -> int:
        return sum(change.redacted for change in self.changes if change.zone == zone)

    @property
    def files_rewritten(self) -> int:
        return len(self.changes)

    @property
    def hbase_rows_removed(self) -> dict[str, int]:
        total = Counter(self.hbase_rows_removed_by_reload)
        total.update(self.hbase_rows_deleted)
        return dict(total)

    def format(self, show_handle: bool = True) -> str:
        who = self.handle if show_handle else self.label
        key = self.user_key if show_handle else "…"
        scanned = ", ".join(f"{zone} {self.files_scanned[zone]} file(s) / {self.lines_scanned[zone]:,} line(s)"
                            for zone in ZONES)
        lines = [f"erasure of {who} (user key {key})" + (" — DRY RUN, nothing changed" if self.dry_run else ""),
                 f"  scanned: {scanned} in {self.passes} pass(es), {self.scan_seconds:.1f} s",
                 f"  files {'to rewrite' if self.dry_run else 'rewritten'}: {self.files_rewritten}"]
        for zone in ZONES:
            removed = self.removed(zone)
            what = {"raw": "status copies", "quarantine": "quarantined lines", "curated": "statuses"}[zone]
            lines.append(f"  {zone}: {sum(removed.values())} {what} removed"
                         + (f" ({', '.join(f'{day}: {count}' for day, count in removed.items())})" if removed else "")
                         + (f", {self.redacted(zone)} line(s) of other people redacted (mentions)"
                            if self.redacted(zone) else ""))
        for change in self.changes:
            lines.append(f"    {change.path}: {change.removed} removed, {change.redacted} redacted of {change.lines}")
        lines.append(f"  HBase held the person on {len(self.hbase_days)} day(s); rows before: "
                     + (", ".join(f"{table} {count}" for table, count in sorted(self.hbase_rows_before.items()))
                        or "none"))
        lines.append(f"  days {'to recompute' if self.dry_run else 'recomputed'} (aggregates): "
                     f"{', '.join(self.days_recomputed) or 'none'}; "
                     f"{'to reload' if self.dry_run else 'reloaded'} into HBase: "
                     f"{', '.join(self.days_reloaded) or 'none'}")
        if not self.dry_run:
            lines.append("  HBase rows removed: " + (", ".join(f"{table} {count}" for table, count in
                                                              sorted(self.hbase_rows_removed.items())) or "none")
                         + (f" (of which deleted explicitly: {self.hbase_rows_deleted})"
                            if self.hbase_rows_deleted else ""))
            if self.hbase_compacted:
                lines.append(f"  HBase major compaction requested (purges the deleted cells from disk): "
                             f"{', '.join(self.hbase_compacted)}")
        lines.append(f"  erasure list: {self.erasure_list}")
        for warning in self.warnings:
            lines.append(f"  WARNING: {warning}")
        lines.append(f"  {'dry run' if self.dry_run else 'erasure'} done in {self.seconds:.1f} s")
        return "\n".join(lines)

    def to_dict(self, show_handle: bool = True) -> dict:
        return {"handle": self.handle if show_handle else None, "user_key": self.user_key if show_handle else None,
                "entry": self.label, "dry_run": self.dry_run, "days": self.days, "passes": self.passes,
                "files_scanned": dict(self.files_scanned), "lines_scanned": dict(self.lines_scanned),
                "files_rewritten": self.files_rewritten, "changes": [change.to_dict() for change in self.changes],
                "removed": {zone: self.removed(zone) for zone in ZONES},
                "redacted": {zone: self.redacted(zone) for zone in ZONES},
                "hbase_days": self.hbase_days, "hbase_rows_before": self.hbase_rows_before,
                "days_recomputed": self.days_recomputed, "days_reloaded": self.days_reloaded,
                "hbase_rows_removed": self.hbase_rows_removed, "hbase_rows_deleted_explicitly": self.hbase_rows_deleted,
                "manifests_rewritten": self.manifests_rewritten, "hbase_compacted": self.hbase_compacted,
                "erasure_list": self.erasure_list,
                "warnings": self.warnings, "seconds": round(self.seconds, 3),
                "scan_seconds": round(self.scan_seconds, 3)}


def _line_action(zone_file: ZoneFile, matcher: Matcher) -> Callable[[bytes], LineResult]:
    if zone_file.zone == "raw":
        return lambda line: erase_from_raw_line(line, matcher, zone_file.instance_domain)
    if zone_file.zone == "quarantine":
        return lambda line: erase_from_quarantine_line(line, matcher)
    return lambda line: erase_from_curated_line(line, matcher.person.user_key)


def _scan(client, lake: LakeLayout, matcher: Matcher, report: ErasureReport, dry_run: bool) -> None:
    """Pass over every file until no new profile URL of the person is learned (usually one pass)."""
    changes: dict[str, FileChange] = {}
    temp_files: list[str] = []
    for number in range(1, MAX_PASSES + 1):
        report.passes = number
        learned_before = set(matcher.learned)
        report.files_scanned.clear()
        report.lines_scanned.clear()
        temp_files.clear()
        for zone_file in zone_files(client, lake, report.days, temp_files):
            counted = _CountingAction(_line_action(zone_file, matcher))
            change = erase_in_file(client, zone_file, counted, dry_run)
            report.files_scanned[zone_file.zone] += 1
            report.lines_scanned[zone_file.zone] += counted.lines
            if change is not None:
                previous = changes.get(change.path)
                if previous is not None and not dry_run:  # a later pass found more in a rewritten file
                    previous.removed += change.removed
                    previous.redacted += change.redacted
                    previous.reasons.update(change.reasons)
                else:  # first finding, or a dry run's later pass (it sees the unchanged file again: a superset)
                    changes[change.path] = change
        if matcher.learned == learned_before:
            break
        log.info("erasure (%s): the person's profile URLs include %d not on their handle's host; "
                 "scanning again with them", report.label, len(matcher.learned - learned_before))
    report.changes = sorted(changes.values(), key=lambda change: (ZONES.index(change.zone), change.path))
    for path in temp_files:
        report.warnings.append(f"temporary file {path} (left by a crashed or running collector or job) was not "
                               "checked: the next run of its day removes it; delete it by hand if no run is going on")


class _CountingAction:
    def __init__(self, action: Callable[[bytes], LineResult]):
        self.action, self.lines = action, 0

    def __call__(self, line: bytes) -> LineResult:
        self.lines += 1
        return self.action(line)


def _loaded_days(client, lake: LakeLayout, days: Iterable[str]) -> set[str]:
    """Days that a load ever reached (a loader manifest exists for at least one metric)."""
    from hbase.tables import METRICS

    loaded = set()
    for day in days:
        for metric in METRICS:
            if client.status(lake.hbase_manifest(metric, dt.date.fromisoformat(day)), strict=False) is not None:
                loaded.add(day)
                break
    return loaded


def _recompute_and_reload(settings: Settings, client, lake: LakeLayout, person: Person, report: ErasureReport,
                          dry_run: bool) -> None:
    from hbase import erasure as hbase_erasure
    from hbase.errors import LoadError
    from hbase.loader import load_day
    from hbase.tables import connect
    from mapreduce.hadoop import MapReduceError
    from mapreduce.pipeline import run_day

    connection = connect(settings)
    try:
        before = hbase_erasure.user_rows(connection, person.user_key)
    finally:
        connection.close()
    report.hbase_rows_before = {table: len(rows) for table, rows in before.items() if rows}
    hbase_days = hbase_erasure.days_of(before)
    if report.days is not None:
        hbase_days &= set(report.days)
    report.hbase_days = sorted(hbase_days)
    curated_days = {change.day for change in report.changes if change.zone == "curated"}
    candidates = sorted(curated_days | hbase_days)
    loaded = _loaded_days(client, lake, candidates)
    unreachable = []
    for day_text in candidates:
        day = dt.date.fromisoformat(day_text)
        if client.status(lake.curated(day), strict=False) is None:
            unreachable.append(day_text)
            continue
        report.days_recomputed.append(day_text)
        if day_text in loaded or day_text in hbase_days:
            report.days_reloaded.append(day_text)
    if dry_run:
        for day_text in unreachable:
            report.warnings.append(f"{day_text}: HBase holds the person but the curated partition is gone; the "
                                   "erasure would delete their cells without recomputing that day's counts")
        return
    for day_text in report.days_recomputed:
        day = dt.date.fromisoformat(day_text)
        log.info("erasure (%s): recomputing the aggregates of %s from its curated partition", report.label, day)
        try:
            run_day(settings, day, curate=False)
        except MapReduceError as error:
            raise ErasureError(f"{day}: recomputing the aggregates failed: {error}. The zones are already erased; "
                               "rerun the erasure to finish (it is idempotent)") from None
        if day_text in report.days_reloaded:
            log.info("erasure (%s): reloading %s into HBase", report.label, day)
            try:
                load_day(settings, day)
            except LoadError as error:
                raise ErasureError(f"{day}: reloading HBase failed: {error}. Rerun the erasure to finish "
                                   "(it is idempotent)") from None
    connection = connect(settings)
    try:
        remaining = hbase_erasure.user_rows(connection, person.user_key)
        left_days = sorted(hbase_erasure.days_of(remaining))
        if report.days is not None:
            # a re-application touches only its days; other days are their own runs' (or a full erasure's)
            other_days = [day for day in left_days if day not in report.days]
            if other_days:
                report.warnings.append(
                    f"HBase also holds the person on {', '.join(other_days)}, outside the days of this run: rerun "
                    f"`python -m datalake erase` for {person.label} (the handle is in the request log)")
            if any(day in report.days for day in left_days):
                raise ErasureError(f"HBase still holds the person on {', '.join(report.days)} after the reload; run "
                                   f"the full erasure (`python -m datalake erase`) for {person.label}")
        elif any(remaining.values()):
            report.hbase_rows_deleted = hbase_erasure.delete_rows(connection, remaining)
            report.manifests_rewritten = hbase_erasure.forget_in_manifests(client, lake, person.user_key, left_days)
            report.warnings.append(
                f"HBase still held the person after the reloads (days {', '.join(left_days) or 'none'}: no curated "
                f"partition to recompute from); their rows were deleted explicitly ({report.hbase_rows_deleted}), "
                "but the counts of those days still include their statuses")
        after = hbase_erasure.user_rows(connection, person.user_key)
        if report.days is None and any(after.values()):
            raise ErasureError(f"HBase still holds {sum(map(len, after.values()))} row(s) of the person after the "
                               "erasure; check HBase (`make status`) and rerun it")
        removed = {table: sum(1 for row in rows if row not in after[table]) for table, rows in before.items()}
        report.hbase_rows_removed_by_reload = {
            table: count - report.hbase_rows_deleted.get(table, 0) for table, count in removed.items()
            if count - report.hbase_rows_deleted.get(table, 0) > 0}
        if any(removed.values()) or report.days_reloaded:
            report.hbase_compacted = hbase_erasure.purge_deleted_cells(connection)
    finally:
        connection.close()


def erase_handle(settings: Settings, handle: str, dry_run: bool = False, *, days: Iterable[dt.date] | None = None,
                 remember: bool = True, recompute: bool = True) -> ErasureReport:
    """Erase one person (``user@host``) from the raw, quarantine and curated zones, recompute and
    reload the days that change, and make sure HBase holds none of their rows.

    ``dry_run``: scan and report, change nothing. ``days``: only these days (the DAG's
    re-application of the erasure list); default every day. ``remember``: keep the person in the
    erasure list. ``recompute=False`` stops after the zones (tests, or when the stack's MapReduce
    is down: rerun without it later). Raises ErasureError (or LakeError) saying what failed;
    every step is idempotent, so a rerun finishes an interrupted erasure.
    """
    started = time.monotonic()
    person = Person.from_handle(handle, settings)
    client, lake = hdfs_client(settings), layout(settings)
    day_list = sorted({day.isoformat() for day in days}) if days is not None else None
    report = ErasureReport(handle=person.handle, user_key=person.user_key, label=person.label, dry_run=dry_run,
                           days=day_list)
    log.info("erasure (%s) in %s%s%s", person.label, settings.root,
             f", days {', '.join(day_list)}" if day_list is not None else ", every day",
             " (dry run)" if dry_run else "")
    if not remember:
        report.erasure_list = "not asked"
    elif person.digest is None:
        report.erasure_list = "not kept (no pseudonym key configured)"
        report.warnings.append("no pseudonym key is configured, so the erasure list cannot hold the person: a "
                               "re-collection of a day would bring their statuses back; set DATALAKE_PSEUDONYM_KEY "
                               "(or run `make setup`) and rerun the erasure")
    elif dry_run:
        listed = person.digest in read_erasure_list(client, lake)["entries"]
        report.erasure_list = "already listed" if listed else "would be recorded"
    else:  # first, so that an interrupted erasure is still re-applied by the DAG
        report.erasure_list = _record_in_list(client, lake, person.digest, completed=False)

    matcher = Matcher(person)
    scan_started = time.monotonic()
    _scan(client, lake, matcher, report, dry_run)
    report.scan_seconds = time.monotonic() - scan_started
    lines = sum(report.lines_scanned.values())
    log.info("erasure (%s): scanned %s line(s) in %d file(s) in %.1f s (%s lines/s), %d file(s) %s",
             person.label, f"{lines:,}", sum(report.files_scanned.values()), report.scan_seconds,
             f"{lines / report.scan_seconds:,.0f}" if report.scan_seconds > 0 else "-", report.files_rewritten,
             "to rewrite" if dry_run else "rewritten")
    if recompute:
        _recompute_and_reload(settings, client, lake, person, report, dry_run)
    elif any(change.zone == "curated" for change in report.changes):
        report.warnings.append("aggregates and HBase were not recomputed (recompute=False): rerun the erasure "
                               "without it to finish")
    if remember and person.digest is not None and not dry_run and recompute:
        _record_in_list(client, lake, person.digest, completed=True)
    report.seconds = time.monotonic() - started
    if dry_run:
        log.info("erasure (%s) dry run done, nothing changed: would rewrite %d file(s), remove raw %s, quarantine %s, "
                 "curated %s, redact %d line(s), recompute days %s, reload %s; %d warning(s)", person.label,
                 report.files_rewritten, report.removed("raw"), report.removed("quarantine"), report.removed("curated"),
                 sum(report.redacted(zone) for zone in ZONES), report.days_recomputed or "none",
                 report.days_reloaded or "none", len(report.warnings))
    else:
        log.info("erasure (%s) done: %d file(s) rewritten; removed raw %s, quarantine %s, curated %s; %d line(s) "
                 "redacted; days recomputed %s, reloaded %s; HBase rows removed %s; %d warning(s)", person.label,
                 report.files_rewritten, report.removed("raw"), report.removed("quarantine"), report.removed("curated"),
                 sum(report.redacted(zone) for zone in ZONES), report.days_recomputed or "none",
                 report.days_reloaded or "none", report.hbase_rows_removed or "none", len(report.warnings))
    return report


# ---------------------------------------------------------------------------------------------
# Re-applying the erasure list to a day


@dataclass
class ReapplyReport:
    day: dt.date
    entries: int = 0                    # people in the erasure list
    lines_scanned: int = 0
    found: list[ErasureReport] = field(default_factory=list)
    incomplete: int = 0                 # entries whose erasure never completed

    def format(self) -> str:
        if not self.entries:
            return f"erasure list empty: nothing to re-apply to {self.day}"
        lines = [f"erasure list ({self.entries} entr{'y' if self.entries == 1 else 'ies'}) re-applied to {self.day}: "
                 f"{self.lines_scanned:,} raw line(s) checked, {len(self.found)} listed person(s) found again"]
        for report in self.found:
            lines.append(f"  {report.label}: raw {report.removed('raw')}, curated {report.removed('curated')} removed; "
                         f"days recomputed {', '.join(report.days_recomputed) or 'none'}")
        if self.incomplete:
            lines.append(f"  WARNING: {self.incomplete} erasure(s) never completed: rerun `python -m datalake erase` "
                         "for them (the DPO's request log has the handles)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"day": self.day.isoformat(), "entries": self.entries, "lines_scanned": self.lines_scanned,
                "found": [report.to_dict(show_handle=False) for report in self.found], "incomplete": self.incomplete}


def listed_handles_in_line(line: bytes, instance_domain: str | None, key: bytes, entries: dict,
                           cache: dict[str, bool]) -> set[str]:
    """The handles of a raw line (author, boosted author, quoted author, mentions) that are in the list."""
    try:
        status = records.parse_raw_line(line)
    except records.BadRecord:
        return set()
    quote = status.get("quote")
    nested = [status.get("reblog"), quote.get("quoted_status") if isinstance(quote, dict) else None]
    mentions = status.get("mentions") if isinstance(status.get("mentions"), list) else []
    candidates = [records.status_handle(holder, instance_domain) for holder in [status] + nested]
    candidates += [records.status_handle({"account": mention}, instance_domain) for mention in mentions]
    found = set()
    for handle in candidates:
        if handle is None:
            continue
        if handle not in cache:
            cache[handle] = erasure_digest(handle, key) in entries
        if cache[handle]:
            found.add(handle)
    return found


def reapply_erasures(settings: Settings, day: dt.date, dry_run: bool = False) -> ReapplyReport:
    """Erase again, on ``day``, everyone in the erasure list whose statuses (or mentions) are there.

    Costs one read of the day's raw partitions when the list is not empty, nothing otherwise.
    A person is recognised by the keyed digest of the handles in the day's statuses; their
    handle, read from the data, then drives a normal erasure restricted to the day.
    """
    client, lake = hdfs_client(settings), layout(settings)
    report = ReapplyReport(day)
    entries = read_erasure_list(client, lake)["entries"]
    report.entries = len(entries)
    report.incomplete = sum(1 for entry in entries.values() if not entry.get("completed_at"))
    if not entries:
        log.info("erasure list empty: nothing to re-apply to %s", day)
        return report
    key = settings.pseudonym_key.reveal()
    if not key:
        raise ErasureError("the erasure list holds entries but no pseudonym key is configured to recognise them: "
                           "set DATALAKE_PSEUDONYM_KEY or DATALAKE_PSEUDONYM_KEY_FILE (the key the erasures used)")
    key_bytes = key.encode("utf-8")
    cache: dict[str, bool] = {}
    handles: set[str] = set()
    for zone_file in zone_files(client, lake, [day.isoformat()]):
        if zone_file.zone != "raw":
            continue
        content, _ = decode_file(_read(client, zone_file.path))
        lines, _ = split_lines(content)
        report.lines_scanned += len(lines)
        for line in lines:
            handles |= listed_handles_in_line(line, zone_file.instance_domain, key_bytes, entries, cache)
    log.info("erasure list (%d entries) re-applied to %s: %d raw line(s) checked, %d listed person(s) found",
             len(entries), day, report.lines_scanned, len(handles))
    for handle in sorted(handles):
        report.found.append(erase_handle(settings, handle, dry_run, days=[day], remember=False))
    if report.incomplete:
        log.warning("%d erasure(s) of the list never completed: rerun `python -m datalake erase` for them",
                    report.incomplete)
    return report
