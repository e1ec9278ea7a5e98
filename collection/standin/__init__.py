"""A stand-in Mastodon federation: deterministic statuses served over Mastodon's HTTP API.

Real instances cannot be reached from the build machines, so tests and the offline demo run
the collector against this. Start it from a shell with ``python -m collection.standin --help``.

Python API (tests, benchmarks, and the end-to-end test that computes expected metrics
without the project's metric code)::

    from collection.standin import Federation, FaultConfig

    federation = Federation(seed=7, domains=("alpha.example", "beta.example"),
                            start=datetime.date(2026, 11, 17), days=2, statuses_per_day=300)
    federation.statuses("alpha.example", datetime.date(2026, 11, 17))
        # -> the raw status dicts alpha serves for that UTC day on its public timeline,
        #    oldest (smallest id) first; timeline="local" or "tag:<name>" for the others;
        #    until=<datetime> for what a server whose clock says that serves
    federation.raw_statuses(...)   # the same as the exact JSON bytes sent
    federation.published(day)      # every status of the day, with each instance's local id

    with federation.serve(faults={"beta.example": {"refuse_public": 422}}) as running:
        running.urls               # {"alpha.example": "http://127.0.0.1:41234", ...}
        running.set_now(datetime.datetime(2026, 11, 17, 12, tzinfo=datetime.timezone.utc))
        running.configure("alpha.example", error_rate=0.3, rate_limit=5, rate_window=1.0)
        running.stats("alpha.example")  # requests, rate_limited, errors_injected, refused, ...

``serve()`` also takes ``now=`` (default: the end of the last day, so everything is served)
and ``faults=`` as one :class:`FaultConfig` for all instances or ``{domain or "*": {...}}``.

What an instance serves (Mastodon 4.5 shapes, see ``federation.py``): the same status reaches
several instances with the same ``uri`` and a different local ``id``; each instance reports its
own domain (``/api/v1/instance`` ``uri``, ``/api/v2/instance`` ``domain``), not the 127.0.0.1
address used to reach it. A status is served once its id's time is at or before the
instance's "now" (ids carry the time a status arrived; for remote copies that is within the
second of ``created_at``).

HTTP endpoints of each instance (a trailing slash is tolerated everywhere):

* ``GET /api/v1/instance``, ``GET /api/v2/instance``
* ``GET /api/v1/timelines/public`` (``local``, ``remote``, ``only_media``) and
  ``GET /api/v1/timelines/tag/:hashtag`` (``local``, ``remote``, ``only_media``), both with
  ``max_id``, ``since_id``, ``min_id`` (the statuses just above it, returned newest first) and
  ``limit`` (default 20, at most 40); ``Link`` headers ``rel="next"`` (max_id) and
  ``rel="prev"`` (min_id) like Mastodon's, on the host the request used.
* with a rate limit: ``X-RateLimit-Limit/-Remaining/-Reset`` on every API answer and 429
  ``{"error": "Too many requests"}`` beyond it; a window starts at the first request after
  the previous window ended.
* refusals as Mastodon 4.5 ``timelines_access`` gives them: 401/403/422 with
  ``{"error": "..."}``, lifted by ``Authorization: Bearer <access_token>``; a wrong token is 401.

Administration (not rate limited, answers JSON):

* ``GET|POST /_standin/config`` — read or change the :class:`FaultConfig` fields (JSON object)
* ``GET|POST /_standin/now`` — read or set the clock: ``{"now": "2026-11-17T12:00:00Z"}``
  (``null``: the end of the last day)
* ``GET /_standin/stats``, ``POST /_standin/stats`` (reset) — request counters
* ``GET /_standin/federation`` — the generation parameters
"""
from __future__ import annotations

from collection.standin.federation import DEFAULT_DOMAINS, Federation, normalize_tag
from collection.standin.server import FaultConfig, RunningFederation, serve

__all__ = ["DEFAULT_DOMAINS", "FaultConfig", "Federation", "RunningFederation", "normalize_tag", "serve"]
