"""Who is erased: the canonical handle, the person's keys, and the matcher that finds them in text.

Logs name a person by their erasure-list entry (the first 12 hex digits of its digest), never by
handle; only the report returned to the caller of an erasure (the CLI's output) holds the handle.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from datalake import pseudonyms
from datalake.errors import ConfigError
from datalake.settings import Settings
from privacy.errors import ErasureError

ERASED = "[erased]"


def canonical(handle: str) -> str:
    """``@Ann@Alpha.example`` → ``ann@alpha.example``; ErasureError unless it is user@host."""
    text = (handle or "").strip()
    try:
        canonical_handle = pseudonyms.canonical_handle({"acct": text}, None)
    except (pseudonyms.NoHandle, KeyError):
        canonical_handle = None
    if not canonical_handle or any(character.isspace() or character in "/:'\"<>" for character in canonical_handle):
        raise ErasureError(f"{handle!r} is not a handle: give it as user@host (e.g. ann@mastodon.social), "
                           "with the host of the account's own instance", permanent=True)
    return canonical_handle


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
        user_key = pseudonyms.user_key(canonical_handle, key_bytes if settings.pseudonymize else None)
        digest = pseudonyms.erasure_digest(canonical_handle, key_bytes) if key_bytes else None
        return cls(canonical_handle, user_key, digest)


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
