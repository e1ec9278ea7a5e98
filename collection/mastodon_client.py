"""One Mastodon instance seen through Mastodon.py, returning statuses as raw JSON.

Mastodon.py does the API work: the base URL, the bearer token, waiting out rate limits
(``ratelimit_method="wait"`` sleeps until ``X-RateLimit-Reset`` after a 429) and turning HTTP
errors into typed exceptions. Its result objects are not used for statuses: building them
costs ~1.4 ms a status and they are not what the API returned. The timeline is fetched
through Mastodon.py's request method with ``return_response_object=True`` and each status is
cut out of the response body byte for byte (:func:`parse_statuses`).

What Mastodon.py does not do is retry: 5xx answers and network failures are retried here
with exponential backoff, each retry logged as a WARNING with its attempt number. And a
response hook on its session hands it ``X-RateLimit-Reset`` already in this machine's clock
(:class:`ServerClock`), so that its waits end when the window does, not up to a second later.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import re
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import Callable

import requests
from mastodon import Mastodon
from mastodon.errors import (MastodonAPIError, MastodonError, MastodonNetworkError, MastodonNotFoundError,
                             MastodonServerError)

from collection.errors import CollectionError, redact
from collection.snowflake import parse_timestamp

log = logging.getLogger(__name__)

PAGE_LIMIT = 40  # the most Mastodon returns per timeline page
USER_AGENT = "mastodon-datalake-collector (Mastodon.py)"
DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")
REFUSALS = (401, 403, 422)

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


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing request (5xx, timeout, connection) is retried."""

    attempts: int = 6
    initial_backoff: float = 1.0
    max_backoff: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.initial_backoff * 2 ** (attempt - 1), self.max_backoff)


@dataclass(frozen=True, slots=True)
class RawStatus:
    status_id: int
    created_at: str
    line: bytes  # the status's JSON text as the server sent it, UTF-8, without newlines


@dataclass
class TimelinePage:
    statuses: list[RawStatus]  # oldest first
    prev_min_id: int | None  # the min_id of the Link rel="prev" URL: where the next newer page starts


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0


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
    if not isinstance(status_id, str) or not status_id.isdigit():
        raise ValueError(f"status without a decimal string id: {raw[:120]!r}")
    created_at = record.get("created_at")
    if "\n" in raw or "\r" in raw:
        raw = raw.replace("\r", "").replace("\n", "")
    return RawStatus(int(status_id), created_at if isinstance(created_at, str) else "", raw.encode("utf-8"))


LINK_VALUE = re.compile(r'\s*,?\s*<([^>]*)>((?:\s*;\s*[^;,="]+\s*(?:=\s*(?:"[^"]*"|[^;,"]*))?)*)')
LINK_PARAM = re.compile(r';\s*([^;,="\s]+)\s*(?:=\s*("[^"]*"|[^;,"]*))?')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``{rel: url}`` of an RFC 8288 Link header such as Mastodon's pagination links."""
    links: dict[str, str] = {}
    for link in LINK_VALUE.finditer(value or ""):
        for name, param in LINK_PARAM.findall(link.group(2)):
            if name.lower() == "rel":
                for rel in param.strip().strip('"').split():
                    links[rel] = link.group(1)
    return links


def query_id(url: str, name: str) -> int | None:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get(name)
    if values and values[0].isdigit():
        return int(values[0])
    return None


def parse_reset(value: str | None) -> float | None:
    """X-RateLimit-Reset as epoch seconds: Mastodon sends ISO 8601, GoToSocial epoch seconds."""
    if not value:
        return None
    try:
        return float(value) if value.strip().isdigit() else parse_timestamp(value).timestamp()
    except ValueError:
        return None


class ServerClock:
    """How far this machine's clock is ahead of an instance's, from the HTTP ``Date`` headers.

    A Date header has whole seconds, truncated, so ``received_at - Date`` is the clock offset
    plus the network delay plus 0..1 s; the smallest over recent answers is the tightest
    estimate (never below the true offset, so waits computed from it are never too short).
    Mastodon.py corrects with the last Date header alone and so waits up to a second too long
    at every rate-limit window.
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


class InstanceClient:
    """Requests to one instance: its domain and its timeline pages, with retries."""

    def __init__(self, base_url: str, access_token: str | None = None, *, retry: RetryPolicy | None = None,
                 request_timeout: float = 30.0, sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.label = self.base_url
        self.retry = retry or RetryPolicy()
        self.stats = RequestStats()
        self.server_clock = ServerClock()
        self._token = access_token or None
        self._sleep = sleep
        session = requests.Session()
        session.headers["Accept"] = "application/json"
        session.hooks["response"].append(self._observe)
        self.api = Mastodon(api_base_url=self.base_url, ratelimit_method="wait", request_timeout=request_timeout,
                            session=session, user_agent=USER_AGENT, version_check_mode="none")
        # Set after construction: Mastodon.py reads access_token as a file name when one exists.
        self.api.access_token = self._token

    def close(self) -> None:
        self.api.session.close()

    # Mastodon.py's response object path: its waiting, auth and errors, our raw body.
    def _get(self, endpoint: str, params: dict):
        return self.api._Mastodon__api_request("GET", endpoint, params, return_response_object=True)  # noqa: SLF001

    def _observe(self, response, *args, **kwargs):
        """Session hook, before Mastodon.py sees the answer: count it, put its rate-limit reset
        in this machine's clock, and say when the rate limit makes Mastodon.py wait."""
        self.stats.requests += 1
        # Mastodon.py reports any exception from in here as a network error: never raise.
        try:
            headers = response.headers
            self.server_clock.observe(headers.get("Date"), time.time())
            reset = parse_reset(headers.get("X-RateLimit-Reset"))
            if reset is not None and self.server_clock.offset is not None:
                local_reset = self.server_clock.to_local(reset)
                headers["X-RateLimit-Reset"] = dt.datetime.fromtimestamp(local_reset, dt.timezone.utc).isoformat()
                del headers["Date"]  # the reset is in local time now: Mastodon.py must not shift it again
            if response.status_code == 429:
                self._note_rate_limit(headers)
        except Exception:  # noqa: BLE001
            log.exception("%s: could not read the rate-limit headers of an answer", self.label)
        return response

    def _note_rate_limit(self, headers) -> None:
        reset = parse_reset(headers.get("X-RateLimit-Reset"))
        wait = max(0.0, reset - time.time()) if reset is not None else None
        self.stats.rate_limit_waits += 1
        self.stats.rate_limit_wait_seconds += wait or 0.0
        limit = headers.get("X-RateLimit-Limit", "?")
        until = f"{wait:.1f}s until it resets" if wait is not None else "with a growing backoff (no reset time given)"
        log.info("%s: rate limit reached (%s requests per window): waiting %s", self.label, limit, until)

    def describe(self, message: str) -> str:
        return redact(f"instance {self.base_url}{'' if self.label == self.base_url else f' ({self.label})'}: "
                      f"{message}", self._token)

    def request(self, what: str, call: Callable[[], object]):
        """Run ``call`` with retries of 5xx answers and network failures; CollectionError when exhausted."""
        attempts = self.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except MastodonServerError as error:
                problem = f"HTTP {_status(error)} {_reason(error)}".strip()
            except MastodonNetworkError as error:
                problem = _network_problem(error)
            except _MalformedAnswer as error:
                problem = str(error)
            if attempt == attempts:
                raise CollectionError(self.describe(
                    f"{what} failed {attempts} times, last with {problem}; "
                    f"{_advice(problem)}")) from None
            delay = self.retry.backoff(attempt)
            self.stats.retries += 1
            log.warning("%s: %s failed with %s (attempt %d of %d); retrying in %.1fs",
                        self.label, what, redact(problem, self._token), attempt, attempts, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def instance_domain(self) -> str:
        """The instance's own domain: /api/v2/instance ``domain``, else /api/v1/instance ``uri``."""
        def fetch():
            try:
                info = self.api.instance_v2()
                domain = info.get("domain")
                if domain:
                    return domain
            except MastodonNotFoundError:
                pass  # before Mastodon 4.0: only v1
            info = self.api.instance_v1()
            return info.get("uri")

        try:
            domain = self.request("reading the instance information (/api/v2/instance)", fetch)
        except MastodonAPIError as error:
            if _status(error) == 401 and self._token:
                raise CollectionError(self.describe(
                    f"the instance API answered HTTP 401 ({_error_text(error)}): the configured access token was "
                    "not accepted; check MASTODON_ACCESS_TOKEN or the Airflow connection `mastodon_default`")) from None
            raise CollectionError(self.describe(
                f"the instance API answered HTTP {_status(error)} {_error_text(error)}; check that the URL in "
                "MASTODON_INSTANCES is a Mastodon server")) from None
        except MastodonError as error:
            raise CollectionError(self.describe(f"reading the instance information failed: {error}")) from None
        domain = normalize_domain(domain)
        if domain is None:
            raise CollectionError(self.describe(
                "the instance API reports no usable domain (v2 `domain`, v1 `uri`); "
                "check that the URL in MASTODON_INSTANCES is a Mastodon server"))
        self.label = domain
        return domain

    def timeline_page(self, timeline: Timeline, min_id: int, limit: int = PAGE_LIMIT) -> TimelinePage:
        """The ``limit`` statuses just above ``min_id`` (Mastodon's oldest-first slice)."""
        params = dict(timeline.params)
        params.update(min_id=str(min_id), limit=str(limit))

        def fetch():
            response = self._get(timeline.endpoint, dict(params))
            try:
                statuses = parse_statuses(response.content)
            except (ValueError, UnicodeDecodeError) as error:
                raise _MalformedAnswer(f"a malformed answer ({error})") from None
            links = parse_link_header(response.headers.get("Link"))
            return TimelinePage(statuses, query_id(links["prev"], "min_id") if "prev" in links else None)

        try:
            return self.request(f"reading the {timeline.name} timeline", fetch)
        except MastodonAPIError as error:
            status = _status(error)
            if status in REFUSALS:
                raise CollectionError(self.describe(refusal_message(timeline, status, _error_text(error),
                                                                    bool(self._token))), permanent=True) from None
            raise CollectionError(self.describe(
                f"the {timeline.name} timeline answered HTTP {status} {_error_text(error)}; "
                "check MASTODON_TIMELINE and that the URL is a Mastodon server")) from None
        except MastodonError as error:
            raise CollectionError(self.describe(f"reading the {timeline.name} timeline failed: {error}")) from None


class _MalformedAnswer(Exception):
    """A 2xx answer whose body is not a JSON array of statuses (e.g. cut off by a proxy)."""


def refusal_message(timeline: Timeline, status: int, server_says: str, has_token: bool) -> str:
    said = f" ({server_says})" if server_says else ""
    if has_token:
        token_advice = ("the configured access token was not accepted: check MASTODON_ACCESS_TOKEN or the "
                        "Airflow connection `mastodon_default` (a token of an account on this instance with "
                        "the read:statuses scope)")
    else:
        token_advice = ("configure an access token of an account on this instance (read:statuses scope) in "
                        "MASTODON_ACCESS_TOKEN or the password of the Airflow connection `mastodon_default`")
    other = "MASTODON_TIMELINE=local or MASTODON_TIMELINE=tag:<name>" if timeline.name == "public" else (
        "MASTODON_TIMELINE=public, local or tag:<name>")
    return (f"the {timeline.name} timeline is refused with HTTP {status}{said}: the instance does not "
            f"serve it to this client (Mastodon 4.5 timelines_access); {token_advice}, or collect another "
            f"timeline it serves with {other}")


def normalize_domain(value) -> str | None:
    """The instance domain as it names partitions: lowercase host[:port], no scheme or path."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if "://" in text:
        text = urllib.parse.urlsplit(text).netloc
    text = text.rstrip("/")
    try:
        text = text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        return None
    return text if DOMAIN.match(text) else None


def _status(error: MastodonAPIError):
    return error.args[1] if len(error.args) > 1 else "?"


def _reason(error: MastodonAPIError) -> str:
    return str(error.args[2]) if len(error.args) > 2 and error.args[2] else ""


def _error_text(error: MastodonAPIError) -> str:
    text = error.args[3] if len(error.args) > 3 and error.args[3] else _reason(error)
    return str(text)[:200]


def _network_problem(error: MastodonNetworkError) -> str:
    cause = error.__context__
    if isinstance(cause, requests.exceptions.Timeout):
        return "a timeout (no answer in time)"
    if isinstance(cause, requests.exceptions.ConnectionError):
        text = str(cause)
        if "Connection refused" in text or "Errno 111" in text:
            return "connection refused"
        if "Name or service not known" in text or "Failed to resolve" in text or "nodename nor servname" in text:
            return "an unknown host name"
        return "a connection error"
    return f"a network error ({error})"


def _advice(problem: str) -> str:
    if problem == "connection refused" or problem == "an unknown host name":
        return "check that the URL in MASTODON_INSTANCES is right and that the server is up"
    if problem.startswith("HTTP 5"):
        return "the instance is failing; retry the run later"
    return "check the network and the instance, then retry the run"
