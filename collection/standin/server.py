"""The stand-in's HTTP side: one small Mastodon API server per instance of a :class:`Federation`.

Each instance listens on its own 127.0.0.1 port (threads of one process) and answers like
Mastodon 4.5: instance info, public/local/tag timelines with Mastodon's id pagination and
Link headers, X-RateLimit-* headers and 429 answers, Mastodon's JSON error bodies. Faults
and the clock are switched per instance from Python (:class:`RunningFederation`) or over HTTP
(``/_standin/...``, see the package docstring).

Longer than ~400 lines because it is a whole small Mastodon API server: endpoints, pagination and
Link headers, rate limits, faults, administration and the running federation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import datetime as dt
import json
import logging
import random
import threading
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from collection.snowflake import UTC, as_utc, format_timestamp, make_id, parse_timestamp, to_epoch_ms
from collection.policy import parse_reset
from collection.standin.federation import Federation, dumps, normalize_tag, page

log = logging.getLogger(__name__)

DEFAULT_LIMIT, MAX_LIMIT = 20, 40
REFUSAL_BODIES = {
    401: "This method requires an authenticated user",
    403: "This action is not allowed",
    422: "This method requires an authenticated user",
}
SERVER_ERRORS = [(500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable"),
                 (504, "Gateway Time-out")]
TRUE_VALUES = {"1", "true", "t", "on", "yes"}


@dataclass(frozen=True)
class FaultConfig:
    """What an instance does wrong, and how strict it is. Every field can be set at run time."""

    error_rate: float = 0.0  # fraction of API requests answered with a 5xx
    latency: float = 0.0  # seconds added before answering...
    slow_rate: float = 1.0  # ...to this fraction of API requests
    refuse_public: int | None = None  # 401/403/422 for the federated timeline (timelines_access)
    refuse_local: int | None = None  # the same for local=true
    refuse_tag: int | None = None  # the same for hashtag timelines
    access_token: str | None = None  # the token that lifts the refusals; any other token gets 401
    rate_limit: int = 0  # API requests per window; 0 = unlimited, no X-RateLimit headers
    rate_window: float = 300.0  # seconds; a window starts at the first request after the last one ended
    rate_limit_scope: str = "all"  # "paging": only timeline requests with min_id/max_id/since_id count
                                   # (Mastodon's throttle_*_paging: 300 per 15 minutes)
    legacy_instance_api: bool = False  # no /api/v2/instance (Mastodon before 4.0): 404

    def updated(self, changes: dict) -> "FaultConfig":
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(names)}")
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    def validate(self) -> None:
        for name in ("error_rate", "slow_rate"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("refuse_public", "refuse_local", "refuse_tag"):
            if getattr(self, name) not in (None, 401, 403, 422):
                raise ValueError(f"{name} must be 401, 403, 422 or null")
        if self.latency < 0 or self.rate_limit < 0 or self.rate_window <= 0:
            raise ValueError("latency and rate_limit must be >= 0, rate_window > 0")
        if self.rate_limit_scope not in ("all", "paging"):
            raise ValueError("rate_limit_scope must be all or paging")

    def public_view(self) -> dict:
        view = dataclasses.asdict(self)
        view["access_token"] = "***" if self.access_token else None
        return view


class InstanceServer:
    """One instance of the federation on its own port."""

    def __init__(self, federation: Federation, domain: str, faults: FaultConfig, now: dt.datetime,
                 host: str = "127.0.0.1", port: int = 0, quiet: bool = True, time_scale: float = 0.0):
        self.federation, self.domain = federation, domain
        self.faults = faults
        self.time_scale = time_scale  # 0: the clock stands still (set_now moves it); S: S simulated s per second
        self._now, self._real_at_now = as_utc(now), time.time()
        self.quiet = quiet
        self.lock = threading.Lock()
        self.rng = random.Random(f"{federation.seed}:faults:{domain}")
        self.stats = _new_stats()
        self._window_start: float | None = None
        self._window_count = 0
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.instance = self
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       name=f"standin-{self.domain}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def configure(self, changes: dict) -> FaultConfig:
        with self.lock:
            self.faults = self.faults.updated(changes)
            if "rate_limit" in changes or "rate_window" in changes:
                self._window_start, self._window_count = None, 0
            return self.faults

    @property
    def now(self) -> dt.datetime:
        """The instance's clock: what has happened (statuses served up to it)."""
        if not self.time_scale:
            return self._now
        return self._now + dt.timedelta(seconds=(time.time() - self._real_at_now) * self.time_scale)

    def set_now(self, now: dt.datetime) -> None:
        with self.lock:
            self._now, self._real_at_now = as_utc(now), time.time()

    def count(self, name: str) -> None:
        with self.lock:
            self.stats[name] += 1

    def timelines_access(self) -> dict:
        def access(code):
            return "public" if code is None else "authenticated"
        return {"live_feeds": {"local": access(self.faults.refuse_local), "remote": access(self.faults.refuse_public)},
                "hashtag_feeds": {"local": access(self.faults.refuse_tag), "remote": access(self.faults.refuse_tag)},
                "trending_link_feeds": {"local": "public", "remote": "public"}}

    def take_rate_limit(self, paging: bool = True) -> tuple[dict, bool]:
        """Count a request against the window: (X-RateLimit headers, whether it is over the limit)."""
        with self.lock:
            limit, window = self.faults.rate_limit, self.faults.rate_window
            if not limit or (self.faults.rate_limit_scope == "paging" and not paging):
                return {}, False
            now = time.time()
            if self._window_start is None or now >= self._window_start + window:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            reset = dt.datetime.fromtimestamp(self._window_start + window, UTC)
            headers = {"X-RateLimit-Limit": str(limit),
                       "X-RateLimit-Remaining": str(max(0, limit - self._window_count)),
                       "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            return headers, self._window_count > limit

    def saw_token(self, token: str) -> None:
        """Keep a digest of every bearer token received (never the token): tests check that each
        instance only ever received its own."""
        digest = token_digest(token)
        with self.lock:
            if digest not in self.stats["tokens_seen"]:
                self.stats["tokens_seen"].append(digest)

    def draw(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def choose_error(self) -> tuple[int, str]:
        with self.lock:
            return self.rng.choice(SERVER_ERRORS)


def _new_stats() -> dict:
    return {"requests": 0, "timeline_requests": 0, "statuses_served": 0, "rate_limited": 0, "errors_injected": 0,
            "slowed": 0, "refused": 0, "invalid_token": 0, "authenticated_requests": 0, "tokens_seen": []}


def token_digest(token: str) -> str:
    """How the stand-in records a token it received: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client session expects
    server_version = "Mastodon-standin/" + "4.5.0"

    @property
    def instance(self) -> InstanceServer:
        return self.server.instance

    def log_message(self, format, *args):  # noqa: A002 - the signature of BaseHTTPRequestHandler
        if not self.instance.quiet:
            log.info("%s %s", self.instance.domain, format % args)

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"  # Rails routes tolerate a trailing slash
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            if path.startswith("/_standin/"):
                self._admin(method, path, self._body_json() if method == "POST" else {})
            elif path.startswith("/api/") and method == "GET":
                self._api(path, query)
            else:
                self._json(404, {"error": "Record not found"})
        except BrokenPipeError:
            pass  # the client gave up (its timeout); nothing to answer

    # --- the Mastodon API -------------------------------------------------------------------
    def _api(self, path: str, query: dict) -> None:
        instance = self.instance
        instance.count("requests")
        paging = path.startswith("/api/v1/timelines/") and any(name in query for name in ("min_id", "max_id", "since_id"))
        rate_headers, over_limit = instance.take_rate_limit(paging)
        token = self._bearer_token()
        if token:
            instance.saw_token(token)
        if over_limit:
            instance.count("rate_limited")
            retry_after = max(1, math.ceil(parse_reset(rate_headers["X-RateLimit-Reset"]) - time.time()))
            return self._json(429, {"error": "Too many requests"}, {**rate_headers, "Retry-After": str(retry_after)})
        faults = instance.faults
        if faults.latency and instance.draw(faults.slow_rate):
            instance.count("slowed")
            time.sleep(faults.latency)
        if instance.draw(faults.error_rate):
            instance.count("errors_injected")
            code, reason = instance.choose_error()
            body = f"<html><head><title>{code} {reason}</title></head><body><h1>{reason}</h1></body></html>"
            return self._send(code, body.encode(), "text/html; charset=utf-8", rate_headers)
        if token is not None and token == faults.access_token:
            instance.count("authenticated_requests")

        if path == "/api/v1/instance":
            return self._json(200, instance.federation.instance_v1(instance.domain, instance.timelines_access()),
                              rate_headers)
        if path == "/api/v2/instance":
            if faults.legacy_instance_api:
                return self._json(404, {"error": "Record not found"}, rate_headers)
            return self._json(200, instance.federation.instance_v2(instance.domain, instance.timelines_access()),
                              rate_headers)
        if path == "/api/v1/timelines/public":
            local, remote = _truthy(query, "local"), _truthy(query, "remote")
            refusal = faults.refuse_local if local else faults.refuse_public
            scope = "local" if local else "remote" if remote else "all"
            return self._timeline(path, query, (scope, _truthy(query, "only_media"), None), refusal,
                                  token, rate_headers)
        if path.startswith("/api/v1/timelines/tag/"):
            tag = urllib.parse.unquote(path[len("/api/v1/timelines/tag/"):])
            local, remote = _truthy(query, "local"), _truthy(query, "remote")
            scope = "local" if local else "remote" if remote else "all"
            return self._timeline(path, query, (scope, _truthy(query, "only_media"), normalize_tag(tag)),
                                  faults.refuse_tag, token, rate_headers)
        return self._json(404, {"error": "Record not found"}, rate_headers)

    def _timeline(self, path: str, query: dict, selection: tuple, refusal: int | None, token: str | None,
                  rate_headers: dict) -> None:
        instance = self.instance
        instance.count("timeline_requests")
        # Timelines check a token when one is sent (Mastodon's authorize_if_got_token!); the
        # instance endpoints do not look at it.
        if token is not None and token != instance.faults.access_token:
            instance.count("invalid_token")
            return self._json(401, {"error": "The access token is invalid"}, rate_headers)
        if refusal and token is None:
            instance.count("refused")
            return self._json(refusal, {"error": REFUSAL_BODIES[refusal]}, rate_headers)
        try:
            max_id, since_id, min_id = (_id_param(query, name) for name in ("max_id", "since_id", "min_id"))
        except ValueError as error:
            return self._json(400, {"error": str(error)}, rate_headers)
        limit = _limit_param(query)
        federation = instance.federation
        now_ms = to_epoch_ms(instance.now)
        visible_after = make_id(now_ms + 1)  # served: id time <= now, and arrived by now
        upper = visible_after if max_id is None else min(max_id, visible_after)
        lower = min_id if min_id is not None else since_id
        oldest_first = min_id is not None
        days = _days_between(federation, lower, upper, oldest_first)
        indexes = (federation.day_index(instance.domain, day, selection) for day in days)
        entries = page(indexes, lower, upper, limit, oldest_first, visible_until=now_ms)
        with instance.lock:
            instance.stats["statuses_served"] += len(entries)
        headers = dict(rate_headers)
        if entries:
            headers["Link"] = self._links(path, query, newest=entries[0].status_id, oldest=entries[-1].status_id)
        body = b"[" + b",".join(entry.body for entry in entries) + b"]"
        self._send(200, body, "application/json; charset=utf-8", headers)

    def _links(self, path: str, query: dict, newest: int, oldest: int) -> str:
        # Mastodon keeps these parameters in its pagination links (pagination_params).
        kept = [(name, query[name][0]) for name in ("local", "remote", "limit", "only_media") if name in query]
        base = f"http://{self.headers.get('Host') or self.instance.url.split('://', 1)[1]}{path}"
        next_url = base + "?" + urllib.parse.urlencode(kept + [("max_id", str(oldest))])
        prev_url = base + "?" + urllib.parse.urlencode(kept + [("min_id", str(newest))])
        return f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'

    def _bearer_token(self) -> str | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    # --- administration ---------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: dict) -> None:
        instance = self.instance
        try:
            if path == "/_standin/config":
                if method == "POST":
                    instance.configure(body)
                return self._json(200, instance.faults.public_view())
            if path == "/_standin/now":
                if method == "POST":
                    instance.set_now(parse_timestamp(body["now"]) if body.get("now") else instance.federation.end)
                return self._json(200, {"now": format_timestamp(instance.now)})
            if path == "/_standin/stats":
                if method == "POST":  # reset
                    with instance.lock:
                        instance.stats = _new_stats()
                with instance.lock:
                    return self._json(200, {name: list(value) if isinstance(value, list) else value
                                            for name, value in instance.stats.items()})
            if path == "/_standin/federation":
                federation = instance.federation
                return self._json(200, {"domain": instance.domain, "seed": federation.seed,
                                        "domains": list(federation.domains), "start": federation.start.isoformat(),
                                        "days": federation.days, "statuses_per_day": federation.statuses_per_day})
        except (ValueError, KeyError, TypeError) as error:
            return self._json(400, {"error": f"bad request: {error}"})
        return self._json(404, {"error": "unknown stand-in endpoint; see python -m collection.standin --help"})

    def _body_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}

    # --- answers ----------------------------------------------------------------------------
    def _json(self, code: int, record, headers: dict | None = None) -> None:
        self._send(code, dumps(record), "application/json; charset=utf-8", headers or {})

    def _send(self, code: int, body: bytes, content_type: str, headers: dict) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _truthy(query: dict, name: str) -> bool:
    values = query.get(name)
    return bool(values) and values[0].strip().lower() in TRUE_VALUES


def _id_param(query: dict, name: str) -> int | None:
    values = query.get(name)
    if not values or values[0] == "":
        return None
    if not values[0].isdigit():
        raise ValueError(f"{name} must be a numeric status id, got {values[0]!r}")
    return int(values[0])


def _limit_param(query: dict) -> int:
    values = query.get("limit")
    try:
        limit = abs(int(values[0])) if values else DEFAULT_LIMIT
    except ValueError:
        limit = DEFAULT_LIMIT
    return max(1, min(limit, MAX_LIMIT))


def _days_between(federation: Federation, lower: int | None, upper: int | None, oldest_first: bool) -> list[dt.date]:
    days = federation.day_list + [federation.start + dt.timedelta(days=federation.days + extra) for extra in (0, 1)]
    first = federation.day_of_id(lower + 1) if lower is not None else days[0]
    last = federation.day_of_id(upper - 1) if upper is not None and upper > 0 else days[-1]
    chosen = [day for day in days if first <= day <= last]
    return chosen if oldest_first else list(reversed(chosen))


class RunningFederation:
    """The servers of a federation, running in background threads.

    ``urls`` maps each domain to its base URL (``http://127.0.0.1:<port>``).
    """

    def __init__(self, federation: Federation, *, now: dt.datetime | None = None,
                 faults: FaultConfig | dict | None = None, host: str = "127.0.0.1", ports: dict | None = None,
                 quiet: bool = True, time_scale: float = 0.0):
        self.federation = federation
        self.servers: dict[str, InstanceServer] = {}
        now = federation.end if now is None else now
        try:
            for domain in federation.domains:
                config = _faults_for(faults, domain)
                self.servers[domain] = InstanceServer(federation, domain, config, now, host,
                                                      (ports or {}).get(domain, 0), quiet, time_scale)
        except BaseException:
            self.close()
            raise
        for server in self.servers.values():
            server.start()

    @property
    def urls(self) -> dict[str, str]:
        return {domain: server.url for domain, server in self.servers.items()}

    def url(self, domain: str) -> str:
        return self.servers[domain].url

    def configure(self, domain: str | None = None, **changes) -> None:
        """Change fault settings of one instance, or of all when ``domain`` is None."""
        for server in self._chosen(domain):
            server.configure(changes)

    def set_now(self, now: dt.datetime, domain: str | None = None) -> None:
        for server in self._chosen(domain):
            server.set_now(now)

    def now(self, domain: str) -> dt.datetime:
        """An instance's clock (it runs when the federation was started with a time_scale)."""
        return self.servers[domain].now

    def stats(self, domain: str) -> dict:
        server = self.servers[domain]
        with server.lock:
            return {name: list(value) if isinstance(value, list) else value for name, value in server.stats.items()}

    def reset_stats(self, domain: str | None = None) -> None:
        for server in self._chosen(domain):
            with server.lock:
                server.stats = _new_stats()

    def _chosen(self, domain: str | None) -> list[InstanceServer]:
        return list(self.servers.values()) if domain is None else [self.servers[domain]]

    def close(self) -> None:
        for server in self.servers.values():
            if server.thread is not None:
                server.stop()
            else:
                server.httpd.server_close()

    def __enter__(self) -> "RunningFederation":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _faults_for(faults, domain: str) -> FaultConfig:
    """``faults`` is one FaultConfig for all, or {domain or "*": FaultConfig | dict}."""
    if faults is None:
        return FaultConfig()
    if isinstance(faults, FaultConfig):
        return faults
    config = FaultConfig()
    for key in ("*", domain):
        value = faults.get(key)
        if isinstance(value, FaultConfig):
            config = value
        elif value:
            config = config.updated(dict(value))
    config.validate()
    return config


@contextmanager
def serve(federation: Federation, **options) -> Iterator[RunningFederation]:
    """Run the federation's servers on free ports for the duration of a ``with`` block."""
    running = RunningFederation(federation, **options)
    try:
        yield running
    finally:
        running.close()
