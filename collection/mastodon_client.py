"""One Mastodon instance over HTTP: its own domain (Mastodon.py) and its timeline pages (requests).

* Instance metadata comes through Mastodon.py's public API (``instance_v2()``, else
  ``instance_v1()``). Timeline pages are fetched with requests on the same session, because the
  lake keeps every status exactly as the server sent it: Mastodon.py's timeline methods return
  parsed objects (about 1.4 ms a status, and not the server's bytes), and its raw-response path
  is a private method. Pagination uses requests' parsed ``Link`` header (``response.links``).
* Every request goes through one :class:`RequestPolicy`: 5xx answers, timeouts and connection
  failures are retried with exponential backoff; a 429 is waited out until ``Retry-After`` or
  ``X-RateLimit-Reset``, within a bounded total (``DATALAKE_MAX_RATE_LIMIT_WAIT``) past which the
  run stops with :class:`RateLimitExhausted` (the instance's day is then incomplete, not a hung
  task); and requests are paced so that the remaining budget of the window is spread evenly
  over its remaining time (``X-RateLimit-Remaining``/``-Reset``), instead of bursting into 429s.
* A token is sent only to the instance it belongs to (Settings.token_for) and never logged.
"""
from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass
from typing import Callable

import requests
from mastodon import Mastodon
from mastodon.errors import (MastodonAPIError, MastodonError, MastodonNetworkError, MastodonNotFoundError,
                             MastodonRatelimitError, MastodonServerError)

from collection.errors import CollectionError, redact
from collection.policy import (DeadlineReached, RateLimitExhausted, RateWindow, RequestPolicy, RequestStats,
                               ServerClock, RateLimited, RetryableFailure)

log = logging.getLogger(__name__)

PAGE_LIMIT = 40  # the most Mastodon returns per timeline page
USER_AGENT = "mastodon-datalake-collector (Mastodon.py, requests)"
REFUSALS = (401, 403, 422)
RETRIED_STATUSES = (500, 502, 503, 504)
#: DESIGN.md's instance-domain rule: a host name, lowercased, internationalized names in ASCII
HOST_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")

_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class Timeline:
    """Which feed to page: ``public`` (federated), ``local`` or ``tag:<name>``."""

    name: str
    endpoint: str
    params: tuple[tuple[str, str], ...] = ()


def parse_timeline(value: str) -> Timeline:
    text = (value or "public").strip()
    if text == "public":
        return Timeline("public", "/api/v1/timelines/public")
    if text == "local":
        return Timeline("local", "/api/v1/timelines/public", (("local", "true"),))
    if text.startswith("tag:") and text[4:].strip().lstrip("#"):
        tag = text[4:].strip().lstrip("#")
        return Timeline(f"tag:{tag}", "/api/v1/timelines/tag/" + urllib.parse.quote(tag, safe=""))
    raise ValueError(f"MASTODON_TIMELINE={value!r} is not a timeline; use public, local or tag:<name>")


@dataclass(frozen=True, slots=True)
class RawStatus:
    status_id: int
    created_at: str
    line: bytes  # the status's JSON text as the server sent it, UTF-8, without newlines


@dataclass
class TimelinePage:
    statuses: list[RawStatus]  # oldest first
    prev_min_id: int | None  # the min_id of the Link rel="prev" URL: where the next newer page starts


def parse_statuses(body: bytes) -> list[RawStatus]:
    """Cut a JSON array of statuses into one raw JSON text per status, oldest (smallest id) first.

    Each status keeps the exact bytes the server sent; only newlines and carriage returns
    between tokens are dropped (JSON strings cannot hold them raw) so that it fits on a line.
    Raises ValueError for a body that is not an array of objects with an id.
    """
    text = body.decode("utf-8")
    end = len(text)
    index = _skip_space(text, 0)
    if index >= end or text[index] != "[":
        raise ValueError(f"expected a JSON array of statuses, got {text[:80]!r}")
    index = _skip_space(text, index + 1)
    statuses = []
    while index < end and text[index] != "]":
        record, after = _decoder.raw_decode(text, index)
        if not isinstance(record, dict):
            raise ValueError(f"expected a status object, got {type(record).__name__}")
        statuses.append(_raw_status(record, text[index:after]))
        index = _skip_space(text, after)
        if index < end and text[index] == ",":
            index = _skip_space(text, index + 1)
        elif index < end and text[index] != "]":
            raise ValueError(f"malformed JSON array at character {index}")
    if index >= end:
        raise ValueError("the JSON array of statuses is truncated")
    if _skip_space(text, index + 1) != end:
        raise ValueError("unexpected data after the JSON array of statuses")
    statuses.sort(key=lambda status: status.status_id)
    return statuses


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _raw_status(record: dict, raw: str) -> RawStatus:
    status_id = record.get("id")
    if not isinstance(status_id, str) or not status_id.isdigit() or len(status_id) > 20:
        raise ValueError(f"status without a decimal string id: {raw[:120]!r}")
    created_at = record.get("created_at")
    if "\n" in raw or "\r" in raw:
        raw = raw.replace("\r", "").replace("\n", "")
    return RawStatus(int(status_id), created_at if isinstance(created_at, str) else "", raw.encode("utf-8"))


def query_id(url: str | None, name: str) -> int | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url or "").query).get(name)
    if values and values[0].isdigit():
        return int(values[0])
    return None


class InstanceClient:
    """Requests to one instance: its domain and its timeline pages, through one RequestPolicy."""

    def __init__(self, base_url: str, access_token: str | None = None, *, policy: RequestPolicy | None = None,
                 request_timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.label = self.base_url
        self.policy = policy or RequestPolicy()
        self.stats = RequestStats()
        self.window = RateWindow()
        self.server_clock = ServerClock()
        self._token = access_token or None
        self._timeout = request_timeout
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        if self._token:
            self.session.headers["Authorization"] = f"Bearer {self._token}"
        self.session.hooks["response"].append(self._observe)
        self.api = Mastodon(api_base_url=self.base_url, ratelimit_method="throw", request_timeout=request_timeout,
                            session=self.session, user_agent=USER_AGENT, version_check_mode="none")
        self.api.access_token = self._token  # after construction: Mastodon.py reads a str as a file name

    def close(self) -> None:
        self.session.close()

    def _observe(self, response, *args, **kwargs):
        """Session hook on every answer (both libraries): count it and read its rate-limit headers."""
        self.stats.requests += 1
        try:
            now = self.policy.clock()
            self.server_clock.observe(response.headers.get("Date"), now)
            self.window.update(response.headers, self.server_clock, now)
        except Exception:  # noqa: BLE001 - Mastodon.py reports any exception from in here as a network error
            log.exception("%s: could not read the rate-limit headers of an answer", self.label)
        return response

    def describe(self, message: str) -> str:
        return redact(f"instance {self.base_url}{'' if self.label == self.base_url else f' ({self.label})'}: "
                      f"{message}", self._token)

    # ------------------------------------------------------------------ the policy loop
    def request(self, what: str, call: Callable[[], object]):
        """Run ``call`` under the policy: pace, retry 5xx/network failures, wait out 429s (bounded)."""
        policy = self.policy
        attempt = 0
        while True:
            self._pace(what)
            self.window.last_request = policy.clock()
            try:
                return call()
            except RateLimited:
                self.stats.rate_limited += 1
                self._wait_rate_limit(what)
                continue
            except RetryableFailure as error:
                problem = str(error)
            attempt += 1
            if attempt >= policy.attempts:
                raise CollectionError(self.describe(
                    f"{what} failed {policy.attempts} times, last with {problem}; {_advice(problem)}")) from None
            delay = policy.backoff(attempt)
            self.stats.retries += 1
            log.warning("%s: %s failed with %s (attempt %d of %d); retrying in %.1fs", self.label, what,
                        redact(problem, self._token), attempt, policy.attempts, delay)
            policy.sleep(delay)

    def _pace(self, what: str) -> None:
        policy = self.policy
        now = policy.clock()
        if policy.deadline is not None and now >= policy.deadline:
            raise DeadlineReached(f"the run's slot ended before {what}")
        if not policy.pace:
            return
        delay = self.window.pace_delay(now)
        if delay <= 0:
            return
        exhausted = self.window.remaining is not None and self.window.remaining <= 0
        if exhausted:  # no budget left: this is a rate-limit wait, bounded like a 429's
            self._bounded_wait(delay, what, "the rate-limit window has no request left")
        else:
            if policy.deadline is not None and now + delay >= policy.deadline:
                raise DeadlineReached(f"the run's slot ends before the next request may be sent ({what})")
            self.stats.pace_wait_seconds += delay
            policy.sleep(delay)

    def _wait_rate_limit(self, what: str) -> None:
        now = self.policy.clock()
        delay = self.window.wait_after_429(now, fallback=self.policy.backoff(self.stats.rate_limited))
        limit = self.window.limit or "?"
        log.info("%s: rate limit reached (HTTP 429, %s requests per window): waiting %.1fs", self.label, limit, delay)
        self._bounded_wait(delay, what, "the instance answers HTTP 429 (rate limit)")

    def _bounded_wait(self, delay: float, what: str, why: str) -> None:
        policy = self.policy
        bound = policy.max_rate_limit_wait
        if self.stats.rate_limit_wait_seconds + delay > bound:
            waited = self.stats.rate_limit_wait_seconds
            raise RateLimitExhausted(self.describe(
                f"{why} during {what}; waiting {delay:.0f}s more would pass the run's bound of {bound:.0f}s of "
                f"rate-limit waits ({waited:.0f}s waited, {self.stats.rate_limited} answers 429): the run stops "
                "here and the day is incomplete; the next run continues from the checkpoint. Raise "
                "DATALAKE_MAX_RATE_LIMIT_WAIT, collect less often per instance, or lower MASTODON_MAX_PAGES"))
        if policy.deadline is not None and policy.clock() + delay >= policy.deadline:
            raise DeadlineReached(f"the run's slot ends during a rate-limit wait ({what})")
        self.stats.rate_limit_wait_seconds += delay
        policy.sleep(delay)

    # ------------------------------------------------------------------ the two calls
    def instance_domain(self) -> str:
        """The instance's own domain: /api/v2/instance ``domain``, else /api/v1/instance ``uri``.

        Raises CollectionError (permanent) when it is not a host name (DESIGN.md's domain rule).
        """
        def fetch():
            try:
                try:
                    domain = self.api.instance_v2().get("domain")
                    if domain:
                        return domain
                except MastodonNotFoundError:
                    pass  # before Mastodon 4.0: only v1
                return self.api.instance_v1().get("uri")
            except MastodonRatelimitError:
                raise RateLimited() from None
            except MastodonServerError as error:
                raise RetryableFailure(f"HTTP {_status(error)} {_reason(error)}".strip()) from None
            except MastodonNetworkError as error:
                raise RetryableFailure(_network_problem(error.__context__)) from None

        try:
            reported = self.request("reading the instance information (/api/v2/instance)", fetch)
        except MastodonAPIError as error:
            if _status(error) == 401 and self._token:
                raise CollectionError(self.describe(
                    f"the instance API answered HTTP 401 ({_error_text(error)}): the configured access token was "
                    "not accepted; check MASTODON_ACCESS_TOKENS or the instance's Airflow connection"),
                    permanent=True) from None
            raise CollectionError(self.describe(
                f"the instance API answered HTTP {_status(error)} {_error_text(error)}; check that the URL in "
                "MASTODON_INSTANCES is a Mastodon server")) from None
        except MastodonError as error:
            raise CollectionError(self.describe(f"reading the instance information failed: {error}")) from None
        domain = normalize_domain(reported)
        if domain is None:
            shown = repr(reported)[:120] if isinstance(reported, str) else type(reported).__name__
            raise CollectionError(self.describe(
                f"the instance reports its domain as {shown}, which cannot name a partition: a domain must be a host "
                "name (letters, digits, hyphens and dots; no port, slash, '..' or other character). Check that the "
                "URL in MASTODON_INSTANCES is a Mastodon server"), permanent=True)
        self.label = domain
        return domain

    def timeline_page(self, timeline: Timeline, min_id: int, limit: int = PAGE_LIMIT) -> TimelinePage:
        """The ``limit`` statuses just above ``min_id`` (Mastodon's oldest-first slice)."""
        params = dict(timeline.params)
        params.update(min_id=str(min_id), limit=str(limit))
        url = self.base_url + timeline.endpoint

        def fetch():
            self.stats.timeline_requests += 1
            try:
                response = self.session.get(url, params=params, timeout=self._timeout)
            except requests.exceptions.RequestException as error:
                raise RetryableFailure(_network_problem(error)) from None
            if response.status_code == 429:
                raise RateLimited()
            if response.status_code in RETRIED_STATUSES:
                raise RetryableFailure(f"HTTP {response.status_code} {response.reason or ''}".strip())
            if response.status_code in REFUSALS:
                raise CollectionError(self.describe(refusal_message(
                    timeline, response.status_code, _body_error(response), bool(self._token))), permanent=True)
            if response.status_code >= 400:
                raise CollectionError(self.describe(
                    f"the {timeline.name} timeline answered HTTP {response.status_code} {_body_error(response)}; "
                    "check MASTODON_TIMELINE and that the URL is a Mastodon server"))
            try:
                statuses = parse_statuses(response.content)
            except (ValueError, UnicodeDecodeError) as error:
                raise RetryableFailure(f"a malformed answer ({error})") from None
            return TimelinePage(statuses, query_id(response.links.get("prev", {}).get("url"), "min_id"))

        return self.request(f"reading the {timeline.name} timeline", fetch)


def refusal_message(timeline: Timeline, status: int, server_says: str, has_token: bool) -> str:
    said = f" ({server_says})" if server_says else ""
    if has_token:
        token_advice = ("the configured access token was not accepted: check the instance's token in "
                        "MASTODON_ACCESS_TOKENS or its Airflow connection mastodon_<host> (a token of an account on "
                        "this instance with the read:statuses scope)")
    else:
        token_advice = ("configure an access token of an account on this instance (read:statuses scope) in "
                        "MASTODON_ACCESS_TOKENS (host=token) or the Airflow connection mastodon_<host> "
                        "(MASTODON_ACCESS_TOKEN or mastodon_default when it is the only instance)")
    other = "MASTODON_TIMELINE=local or MASTODON_TIMELINE=tag:<name>" if timeline.name == "public" else (
        "MASTODON_TIMELINE=public, local or tag:<name>")
    return (f"the {timeline.name} timeline is refused with HTTP {status}{said}: the instance does not "
            f"serve it to this client (Mastodon 4.5 timelines_access); {token_advice}, or collect another "
            f"timeline it serves with {other}")


def normalize_domain(value) -> str | None:
    """The instance domain as it names partitions (DESIGN.md): a lowercased host name,
    internationalized names in ASCII; None for anything else (a port, a path, '..', spaces, ...)."""
    if not isinstance(value, str):
        return None
    text = value.lower()
    if "://" in text:
        parts = urllib.parse.urlsplit(text)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return None
        text = parts.netloc
    text = text.rstrip("/").rstrip(".")
    if not text.isascii():
        try:
            import idna

            text = idna.encode(text, uts46=True).decode("ascii")
        except (UnicodeError, ValueError):
            return None
    return text if HOST_NAME.fullmatch(text) and ".." not in text else None


def _status(error: MastodonAPIError):
    return error.args[1] if len(error.args) > 1 else "?"


def _reason(error: MastodonAPIError) -> str:
    return str(error.args[2]) if len(error.args) > 2 and error.args[2] else ""


def _error_text(error: MastodonAPIError) -> str:
    text = error.args[3] if len(error.args) > 3 and error.args[3] else _reason(error)
    return str(text)[:200]


def _body_error(response) -> str:
    try:
        body = response.json()
        text = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        text = None
    return str(text or response.reason or "")[:200]


def _network_problem(cause) -> str:
    if isinstance(cause, requests.exceptions.Timeout):
        return "a timeout (no answer in time)"
    if isinstance(cause, requests.exceptions.ConnectionError):
        text = str(cause)
        if "Connection refused" in text or "Errno 111" in text:
            return "connection refused"
        if "Name or service not known" in text or "Failed to resolve" in text or "nodename nor servname" in text:
            return "an unknown host name"
        return "a connection error"
    return f"a network error ({type(cause).__name__ if cause else 'unknown'})"


def _advice(problem: str) -> str:
    if problem in ("connection refused", "an unknown host name"):
        return "check that the URL in MASTODON_INSTANCES is right and that the server is up"
    if problem.startswith("HTTP 5"):
        return "the instance is failing; retry the run later"
    return "check the network and the instance, then retry the run"
