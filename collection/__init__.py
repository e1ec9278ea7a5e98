"""The collection stage: Mastodon instances → the HDFS raw zone (DESIGN.md, "Collection semantics").

The stage contract (datalake/report.py): :func:`run` over settings and the days of a run's data
interval returns a :class:`collection.report.CollectionReport`; ``python -m collection`` and the
DAG call it. ``collection.standin`` is the local stand-in Mastodon federation for tests and demos.
"""
from __future__ import annotations


def run(settings, days, *, instances=None, options=None, deadline=None):
    """Collect ``instances`` (default ``settings.instances``) for the data interval spanning ``days``
    (with the lateness window and any days missed since each checkpoint); see collection/stage.py."""
    from collection.stage import run as run_stage

    return run_stage(settings, days, instances=instances, options=options, deadline=deadline)


def check_domains(settings, instances):
    """Refuse a URL configured twice, or two URLs of one instance (collection/stage.py)."""
    from collection.stage import check_domains as check

    return check(settings, instances)


def catch_up(settings, day, *, instances=None, deadline=None, options=None):
    """What the hourly collection does: ``day`` up to now, from each checkpoint, without re-reading
    the lateness window, skipping an instance whose lock another collection holds."""
    from dataclasses import replace

    from collection.collector import RunOptions
    from collection.stage import run as run_stage

    options = replace(options or RunOptions.from_settings(settings), reread=False, lock_wait=0.0)
    return run_stage(settings, [day], instances=instances, options=options, deadline=deadline)
