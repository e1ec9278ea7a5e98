"""The erasure list (``state/privacy/erasure-list.json``): keyed digests of the people erased.

An entry is HMAC-SHA256(pseudonym key, ``"erasure-list\\0" + handle``) (datalake/pseudonyms.py),
never the handle and not the user key either, so the list cannot be joined with HBase. The curate
job leaves listed people out of the curated zone (their statuses never reach an analytic zone or
HBase, even after a re-collection), and the DAG's reapply task erases them from the raw zone of
each day it processes.
"""
from __future__ import annotations

import datetime as dt
import json

from datalake.lake import LakeLayout, read_json, write_atomic
from privacy.errors import ErasureError

LIST_FORMAT = 1


def read_erasure_list(client, lake: LakeLayout) -> dict:
    path = lake.erasure_list()
    try:
        document = read_json(client, path)
        if document is None:
            return {"format": LIST_FORMAT, "entries": {}}
        if not isinstance(document.get("entries"), dict):
            raise ValueError("no entries object")
        return document
    except (ValueError, AttributeError) as error:
        raise ErasureError(f"the erasure list {path} is damaged ({error}); restore it from a backup (it holds "
                           "only keyed digests) or rebuild it by re-running the erasures") from None


def listed_digests(client, lake: LakeLayout) -> list[str]:
    return sorted(read_erasure_list(client, lake)["entries"])


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_erasure_list(client, lake: LakeLayout, document: dict) -> None:
    document = {"format": LIST_FORMAT,
                "about": "HMAC-SHA256(pseudonym key, 'erasure-list\\0' + canonical handle) of each person erased; "
                         "privacy/erasure_list.py",
                "entries": dict(sorted(document["entries"].items()))}
    write_atomic(client, lake.erasure_list(), json.dumps(document, indent=1).encode("utf-8") + b"\n")


def record_in_list(client, lake: LakeLayout, digest: str, completed: bool) -> str:
    document = read_erasure_list(client, lake)
    entry = document["entries"].get(digest)
    status = "already listed" if entry else "recorded"
    entry = entry or {"requested_at": _now(), "completed_at": None}
    if completed:
        entry["completed_at"] = _now()
    document["entries"][digest] = entry
    _write_erasure_list(client, lake, document)
    return status
