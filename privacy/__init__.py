"""The personal-data stage: pseudonyms' people, erasure (GDPR art. 17) and raw retention.

docs/personal-data.md and docs/processing-register.md say what is kept and why. Files, one job each:
``identity`` (who: handle, keys, the matcher), ``redaction`` (what happens to one line of each
zone), ``zones`` (reading and rewriting the zones' files), ``erasure_list`` (the list of people
erased), ``erasure`` (one person, everywhere), ``reapply`` (the list, on the days a run processed),
``retention`` (old raw partitions), ``cli`` (``python -m privacy``).

The stage contract (datalake/report.py): :func:`run` re-applies the erasure list to the days a run
processed; :func:`run_retention` applies the raw retention as of the day after them; :func:`erasure_digests` is
what the curate job needs of the erasure list.
"""
from __future__ import annotations

import datetime as dt


def run(settings, days, dry_run: bool = False):
    """Erase the listed people found in the raw zone of ``days`` (privacy/reapply.py)."""
    from privacy.reapply import reapply_erasures

    return reapply_erasures(settings, days, dry_run)


def erasure_digests(client, lake) -> list[str]:
    """The erasure list's keyed digests (privacy/erasure_list.py), for curate to leave their people out."""
    from privacy.erasure_list import listed_digests

    return listed_digests(client, lake)


def run_retention(settings, days, dry_run: bool = False):
    """Delete the raw and quarantine partitions older than the retention as of the day after ``days``."""
    from privacy.retention import apply_raw_retention

    return apply_raw_retention(settings, max(days) + dt.timedelta(days=1), dry_run)
