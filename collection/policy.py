"""How every request to an instance is spent: retries, bounded rate-limit waits, even pacing.

Mastodon answers every API request with ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset``
(rack-attack; 300 requests per 5 minutes per IP by default, 300 paged timeline requests per 15
minutes) and a 429 with ``Retry-After`` beyond them. :class:`RateWindow` keeps what the last
answer said, in this machine's clock (:class:`ServerClock`); :class:`RequestPolicy` says how
long a run may wait for the window and how a failure is retried. collection/mastodon_client.py
runs the loop.
"""
from __future__ import annotations

import email.utils
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from collection.errors import CollectionError
from collection.snowflake import parse_timestamp


def parse_reset(value: str | None) -> float | None:
    """X-RateLimit-Reset as epoch seconds: Mastodon sends ISO 8601, GoToSocial epoch seconds."""
    if not value:
        return None
    try:
        return float(value) if value.strip().isdigit() else parse_timestamp(value).timestamp()
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After (delay-seconds or an HTTP date) as an epoch time."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return now + int(text)
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError):
        return None


class ServerClock:
    """How far this machine's clock is ahead of an instance's, from the HTTP ``Date`` headers.

    A Date header has whole seconds, truncated, so ``received_at - Date`` is the clock offset
    plus the network delay plus 0..1 s; the smallest over recent answers is the tightest
    estimate (never below the true offset, so waits computed from it are never too short).
    """

    def __init__(self, samples: int = 64):
        self._offsets: deque[float] = deque(maxlen=samples)

    def observe(self, date_header: str | None, received_at: float) -> None:
        if not date_header:
            return
        try:
            self._offsets.append(received_at - email.utils.parsedate_to_datetime(date_header).timestamp())
        except (TypeError, ValueError):
            pass

    @property
    def offset(self) -> float | None:
        return min(self._offsets) if self._offsets else None

    def to_local(self, server_time: float) -> float:
        return server_time + (self.offset or 0.0)


@dataclass
class RequestStats:
    requests: int = 0
    timeline_requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers received
    rate_limit_wait_seconds: float = 0.0  # waiting out 429s and exhausted windows (bounded)
    pace_wait_seconds: float = 0.0  # spacing requests over the window (not bounded)


class RateLimitExhausted(CollectionError):
    """The instance kept answering 429 (or had no budget left) past the run's bound on waiting."""


class DeadlineReached(Exception):
    """The run's slot ended: stop cleanly before the next request, the next run continues."""


class RetryableFailure(Exception):
    """A failure worth retrying: 5xx, timeout, connection, a malformed 2xx body."""


class RateLimited(Exception):
    """A 429 answer."""


@dataclass
class RequestPolicy:
    """Retries, bounded rate-limit waits and pacing: the one loop every request goes through."""

    attempts: int = 6
    initial_backoff: float = 1.0
    max_backoff: float = 60.0
    max_rate_limit_wait: float = 900.0
    pace: bool = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    deadline: float | None = None  # epoch seconds: no request is started after it

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass
class RateWindow:
    """What the last answer said of the rate-limit window, in this machine's clock."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # epoch seconds, local clock
    retry_at: float | None = None  # from Retry-After of a 429
    last_request: float | None = None

    def update(self, headers, clock: ServerClock, now: float) -> None:
        limit, remaining = headers.get("X-RateLimit-Limit"), headers.get("X-RateLimit-Remaining")
        self.limit = int(limit) if limit and limit.isdigit() else self.limit
        self.remaining = int(remaining) if remaining and remaining.isdigit() else None
        reset = parse_reset(headers.get("X-RateLimit-Reset"))
        self.reset = clock.to_local(reset) if reset is not None else None
        retry_after = (headers.get("Retry-After") or "").strip()
        retry_at = parse_retry_after(retry_after, now)
        # delay-seconds count from now; an HTTP date is in the server's clock
        self.retry_at = retry_at if retry_at is None or retry_after.isdigit() else clock.to_local(retry_at)

    def pace_delay(self, now: float) -> float:
        """Seconds to wait before the next request so that the remaining budget lasts until the reset."""
        if self.remaining is None or self.reset is None or self.reset <= now:
            return 0.0
        if self.remaining <= 0:
            return self.reset - now
        since_last = now - self.last_request if self.last_request is not None else 0.0
        return max(0.0, (self.reset - now) / self.remaining - since_last)

    def wait_after_429(self, now: float, fallback: float) -> float:
        targets = [moment for moment in (self.retry_at, self.reset) if moment is not None and moment > now]
        return (max(targets) - now + 0.05) if targets else fallback
