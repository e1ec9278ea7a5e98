"""Who a status is by, and the keyed pseudonyms the lake holds instead (DESIGN.md, "User key").

Pure functions every stage must agree on: the curate job (mapreduce/records.py) builds user keys
and curated uris with them, the erasure (privacy/) recognises people with them. Standard library
only: the MapReduce tasks import this module on every node (mapreduce/hadoop.py ships it).
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any

#: prefix of the message of an erasure-list entry, so that an entry can never equal a user key
ERASURE_LIST_MESSAGE = b"erasure-list\x00"


class NoHandle(ValueError):
    """An account without a usable handle; ``reason`` is what curate quarantines it as."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def canonical_handle(account: dict, instance_domain: str | None) -> str:
    """``username@host`` lowercased; a local account (``acct`` without ``@``) takes the domain of
    the instance that served it. NoHandle(unknown_instance | bad_value:account.acct) otherwise."""
    acct = account["acct"].strip().lstrip("@").lower()
    if "@" in acct:
        username, host = acct.split("@", 1)
    else:
        if not instance_domain:
            raise NoHandle("unknown_instance")
        username, host = acct, instance_domain.lower()
    if not username or not is_host_name(host):
        raise NoHandle("bad_value:account.acct")
    return f"{username}@{host}"


def is_host_name(host: str) -> bool:
    """Dot-separated labels of letters and digits (any script: some servers show internationalized
    names unconverted), with inner hyphens or underscores; no port, slash, ``..`` or other character."""
    for label in host.split("."):
        if not label or label[0] in "-_" or label[-1] in "-_":
            return False
        if not label.replace("-", "").replace("_", "").isalnum():
            return False
    return True


def status_handle(status: Any, instance_domain: str | None) -> str | None:
    """The canonical handle of a raw status's author, exactly as curate builds it, or None when the
    status has no usable ``account.acct``. Never raises: the erasure runs it on any line."""
    account = status.get("account") if isinstance(status, dict) else None
    if not isinstance(account, dict) or not isinstance(account.get("acct"), str) or not account["acct"].strip():
        return None
    try:
        return canonical_handle(account, instance_domain)
    except NoHandle:
        return None


def user_key(handle: str, pseudonym_key: bytes | None) -> str:
    """First 16 hex chars of HMAC-SHA256(key, handle) when pseudonymizing, else the handle."""
    if pseudonym_key is None:
        return handle
    return hmac.new(pseudonym_key, handle.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def status_key(uri: str, pseudonym_key: bytes | None) -> str:
    """The curated record's ``uri``: first 32 hex chars of HMAC-SHA256(key, uri) when pseudonymizing,
    else the uri itself. A status uri names its author (``https://host/users/<name>/statuses/<id>``)
    and resolves to them on their instance, so it is pseudonymized like the user key; 128 bits keep
    the keys of a day's statuses distinct."""
    if pseudonym_key is None:
        return uri
    return hmac.new(pseudonym_key, uri.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def erasure_digest(handle: str, key: bytes) -> str:
    """The erasure list's entry for a canonical handle: HMAC-SHA256, hex (not the user key, so the
    list cannot be joined with HBase)."""
    return hmac.new(key, ERASURE_LIST_MESSAGE + handle.encode("utf-8"), hashlib.sha256).hexdigest()
