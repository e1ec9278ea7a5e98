"""Deterministic statuses of a small fediverse: what each stand-in instance serves.

Everything derives from the seed: the same ``Federation(...)`` arguments give byte-identical
statuses in every process, so a test can compute its expectations from this module while the
collector reads the same data over HTTP.

A *status* is published by an account of an *origin* instance (one of the federation's domains,
or an outside one such as ``delta.example``) and reaches its origin plus a random subset of the
other instances. Each instance renders its own copy the way Mastodon does:

* the same ``uri``/``url``/``created_at``/``content``; a local ``id`` per instance: the origin's id
  is ``(created_at ms << 16) | sequence``; a remote copy's is ``Mastodon::Snowflake.id_at(created_at)``:
  the second of ``created_at`` plus random milliseconds and sequence;
* the account with ``acct`` = ``username`` at its origin and ``username@origin`` elsewhere, a
  local account id, and ``noindex`` only at its origin (Mastodon shows it for local accounts only);
* lower reply/reblog/favourite counts on remote copies (they see only part of the interactions);
* the posting application (a client name, sometimes none) on the origin's copy only;
* media, tag and emoji URLs on the serving instance.

The account embedded in a status is the account as it is on the status's day (followers grow
from day to day), as if each day were collected at its end.

Lateness, as federation really delivers (Mastodon's ``Mastodon::Snowflake`` and
``ActivityPub::Activity::Create``): a share ``late_share`` of the remote copies is delivered late
to the inbox and gets a local id of its *arrival* (its ``created_at`` can be on the previous
day); a share ``backdated_share`` is fetched later (a boost, a thread, a search) and gets
``id_at(created_at)``, an id *below* ids served before it appeared. Both arrive up to
``max_delay_hours`` after ``created_at`` and are served only from their arrival on.

Longer than ~400 lines because it renders Mastodon's whole status, account, media and poll shapes
for every instance, and all of it derives from one seed: split, the determinism would be harder to see.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import random
import threading
import unicodedata
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field

from collection.snowflake import UTC, format_timestamp, from_epoch_ms, id_epoch_ms, make_id, to_epoch_ms

DEFAULT_DOMAINS = ("alpha.example", "beta.example", "gamma.example")
OUTSIDE_DOMAINS = ("delta.example", "epsilon.example")  # origins outside the federation
DAY_MS = 86_400_000
MAX_DELAY_HOURS = 47  # a copy's id lies at most two days after its created_at's day (rendering reads 3 days)
VERSION = "4.5.0"

LANGUAGES = [("en", 34), ("fr", 10), ("de", 8), ("ja", 8), ("es", 6), ("zh-TW", 4), ("EN", 3), ("pt-BR", 3),
             (None, 6), ("", 3)]
WORDS = {
    "en": "the data lake mastodon coffee morning release today great new python hadoop federation weekend "
          "music cat photo walk train rain garden book code review meeting bread".split(),
    "fr": "le café été matin bonjour très élève fête pain vélo forêt déjà où ça naïve".split(),
    "de": "straße größe über morgen kaffee schön brötchen zug wald bücher übung".split(),
    "ja": "こんにちは 今日 猫 写真 天気 コーヒー 電車 本 雨".split(),
    "es": "hola mañana niño café año señal canción pingüino".split(),
    "zh": "你好 今天 貓 咖啡 天氣 書 音樂".split(),
    "pt": "olá manhã café pão coração ação".split(),
}
TAGS = ["Python", "python", "PYTHON", "DataEngineering", "Café", "café", "日本語", "Mastodon", "fediverse",
        "Straße", "ＦＵＬＬＷＩＤＴＨ", "Ünïcödé", "caturday", "Caturday", "photography", "HadoopSummit"]
UNICODE_EMOJIS = ["😀", "🎉", "👍🏽", "❤️", "🇫🇷", "👨‍👩‍👧", "🐘", "☕", "✨", "🙂"]
CUSTOM_EMOJIS = ["blobcat", "mastodon", "party_parrot", "ablobcatrainbow", "BlobFox_Hug"]
LINKS = ["https://www.example.com/articles/42", "https://Example.ORG/About?x=1&y=2",
         "http://news.example.net:8080/story/7", "https://WWW.Blog.Example.IO/post/1",
         "https://bücher.example/katalog", "https://xn--bcher-kva.example/angebote",
         "https://sub.domain.example.co.uk/", "https://github.com/mastodon/mastodon",
         "http://www.w3.org/TR/html5/", "https://example.com:443/with-port"]
MEDIA_TYPES = [("image", 50), ("video", 15), ("gifv", 10), ("audio", 8), ("unknown", 5)]
#: posting clients and their shares (Mastodon shows the application on the home instance's copy
#: only); None: a client that sends no name; one name comes with stray spaces, as some apps send it
CLIENTS = [("Web", 36), ("Mastodon for Android", 14), ("Mastodon for iOS", 12), ("Ivory", 9), ("Tusky", 8),
           ("Elk", 5), ("Phanpy", 4), ("  Moshidon ", 3), (None, 9)]
BOT_CLIENT = "feed2toot"  # bot accounts post through it
CONTENT_WARNINGS = ["food 🍕", "politics", "long post", "spoilers: the film", "mental health"]
#: a first paragraph that gives some English statuses a mood (VADER: positive, negative; the last
#: one reads "un happy" with text nodes joined by spaces, as the sentiment rule joins them)
MOODS = ["so tired of this broken train", "this is terrible news", "I hate waiting", "sad day for the team",
         "love this so much", "what a wonderful morning", "not bad at all", "un<em>happy</em> with the release"]
NAMES = ["ann", "Bob", "carla_b", "dmitri", "eve", "Farid", "gao", "hana", "ingrid", "juan", "kofi", "lena",
         "mo", "nadia", "oskar", "priya", "quinn", "rosa", "sven", "tomoko", "ugo", "vera", "wen", "xavier",
         "yusuf", "zoe"]
NOTES = ["<p>Data nerd. Coffee. Trains.</p>", "<p>I post photos of my cat 🐈</p>", "<p>Open source, bread, bikes.</p>",
         "<p>Please no bots. #nobot</p>",
         '<p>Not for search engines <a href="https://{origin}/tags/noindex" class="mention hashtag" rel="tag">'
         "#<span>NoIndex</span></a></p>",
         "<p>#NOBOT — personal account</p>", "", "<p>Musician &amp; teacher &lt;3</p>"]


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _stable_int(*parts) -> int:
    """A process-independent hash (Python's hash() of a str changes with PYTHONHASHSEED)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def dumps(record) -> bytes:
    """JSON as a Rails API sends it: UTF-8, compact, with <, > and & escaped as \\u003c etc."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("utf-8")


def normalize_tag(name: str) -> str:
    """How hashtag timelines match names: NFKC, lowercase (Mastodon's HashtagNormalizer, roughly)."""
    return unicodedata.normalize("NFKC", name).lower()


@dataclass(frozen=True)
class Account:
    origin: str
    username: str
    display_name: str
    created_at: dt.datetime  # midnight UTC: Mastodon shows account creation as a date
    followers_base: int
    followers_growth: int
    following: int
    statuses_base: int
    note: str
    noindex: bool
    bot: bool
    emojis: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        return f"https://{self.origin}/@{self.username}"

    @property
    def uri(self) -> str:
        return f"https://{self.origin}/users/{self.username}"

    def local_id(self, domain: str) -> int:
        ms = to_epoch_ms(self.created_at) + _stable_int("account", domain, self.origin, self.username) % DAY_MS
        return make_id(ms, _stable_int("account-seq", domain, self.uri) & 0xFFFF)


@dataclass
class Status:
    """One published status, before an instance renders its copy."""

    origin: str
    account: Account
    created_ms: int
    origin_id: int
    day_index: int
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    tags: list[str]
    emojis: list[str]
    media: list[str]
    poll: dict | None
    mentions: list[Account]
    replies: int
    reblogs: int
    favourites: int
    edited: bool
    local_ids: dict[str, int] = field(default_factory=dict)  # instance domain -> its id of this status
    arrivals: dict[str, int] = field(default_factory=dict)  # instance domain -> ms it arrived there
    application: str | None = None      # the posting client's name, as the app registered it
    reply_to_ms: int | None = None      # a reply: the time of the status it answers

    @property
    def uri(self) -> str:
        return f"{self.account.uri}/statuses/{self.origin_id}"

    @property
    def url(self) -> str:
        return f"{self.account.url}/{self.origin_id}"


@dataclass(frozen=True)
class DayIndex:
    """One day of one instance's timeline selection: entries by id ascending, and their ids."""

    ids: list[int]
    entries: list["Entry"]


@dataclass(frozen=True)
class Entry:
    """A status as one instance serves it: its id, what timelines select on, its JSON bytes."""

    status_id: int
    local: bool
    has_media: bool
    tags: frozenset[str]
    body: bytes
    visible_ms: int = 0  # served from this time on (its arrival at the instance)
    created_ms: int = 0


class Federation:
    """Seeded statuses of ``domains`` for ``days`` UTC days from ``start``.

    ``statuses(domain, day)`` is the ground truth: exactly the statuses (raw dicts) that
    instance serves for that day on its public timeline, oldest first. Data is generated per
    day on demand and a few days are cached, so a long federation does not fill memory.
    """

    def __init__(self, seed: int = 1, domains=DEFAULT_DOMAINS, start: dt.date = dt.date(2026, 11, 17),
                 days: int = 2, statuses_per_day: int = 200, accounts_per_instance: int = 40,
                 reach: float = 0.5, cache_days: int = 4, late_share: float = 0.0, backdated_share: float = 0.0,
                 max_delay_hours: float = 20.0):
        """``cache_days``: how many rendered days each instance keeps (a benchmark that pages a
        long federation twice wants them all; the default keeps memory small). ``late_share`` and
        ``backdated_share``: the shares of remote copies that arrive late (module docstring)."""
        if not domains:
            raise ValueError("a federation needs at least one domain")
        if statuses_per_day < 0 or days < 1:
            raise ValueError("statuses_per_day must be >= 0 and days >= 1")
        if not (0 <= late_share and 0 <= backdated_share and late_share + backdated_share <= 1):
            raise ValueError("late_share and backdated_share are shares (>= 0, together at most 1)")
        if not 0 < max_delay_hours <= MAX_DELAY_HOURS:
            raise ValueError(f"max_delay_hours must be in (0, {MAX_DELAY_HOURS}]")
        self.late_share, self.backdated_share = late_share, backdated_share
        self.max_delay_ms = int(max_delay_hours * 3_600_000)
        self.seed = seed
        self.domains = tuple(domains)
        self.start = start
        self.days = days
        self.statuses_per_day = statuses_per_day
        self.accounts_per_instance = accounts_per_instance
        self.reach = reach
        self.origins = self.domains + tuple(d for d in OUTSIDE_DOMAINS if d not in self.domains)
        self.accounts = {origin: self._make_accounts(origin) for origin in self.origins}
        self._lock = threading.RLock()
        self._days: OrderedDict[dt.date, list[Status]] = OrderedDict()
        self._entries: OrderedDict[tuple, list[Entry]] = OrderedDict()
        self._cache_days = max(1, cache_days)  # rendered days (bytes) per instance and selection
        self._canonical_days = min(self._cache_days, 3)  # generated days, needed only while rendering

    def __repr__(self) -> str:
        return (f"Federation(seed={self.seed}, domains={self.domains}, start={self.start}, days={self.days}, "
                f"statuses_per_day={self.statuses_per_day}, late_share={self.late_share}, "
                f"backdated_share={self.backdated_share})")

    # The calendar
    @property
    def day_list(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=offset) for offset in range(self.days)]

    @property
    def end(self) -> dt.datetime:
        """The end of the last day: the default "now" of a stand-in server (everything served)."""
        last = self.start + dt.timedelta(days=self.days)
        return dt.datetime(last.year, last.month, last.day, tzinfo=UTC)

    def serve(self, **options):
        """Run this federation's servers on free 127.0.0.1 ports in background threads, in a ``with``
        block that yields a :class:`collection.standin.server.RunningFederation` (``.urls``, ...)."""
        from collection.standin.server import serve  # the server module builds on this one

        return serve(self, **options)

    def day_of_id(self, status_id: int) -> dt.date:
        return from_epoch_ms(id_epoch_ms(status_id)).date()

    # Ground truth
    def statuses(self, domain: str, day: dt.date, timeline: str = "public",
                 until: dt.datetime | None = None) -> list[dict]:
        """The statuses ``domain`` serves that were *created* on ``day``, on ``timeline`` (public,
        local, tag:<name>), by id ascending.

        With ``until``, only those a server whose "now" is ``until`` serves (arrived by then).
        """
        return [json.loads(body) for body in self.raw_statuses(domain, day, timeline, until)]

    def raw_statuses(self, domain: str, day: dt.date, timeline: str = "public",
                     until: dt.datetime | None = None) -> list[bytes]:
        """The same as :meth:`statuses`, as the exact JSON bytes the server sends."""
        first_ms = to_epoch_ms(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))
        limit = to_epoch_ms(until) if until is not None else None
        selection = timeline_filter(timeline)
        entries = [entry for offset in range(3)
                   for entry in self.entries(domain, day + dt.timedelta(days=offset), selection)
                   if first_ms <= entry.created_ms < first_ms + DAY_MS
                   and (limit is None or entry.visible_ms <= limit)]
        return [entry.body for entry in sorted(entries, key=lambda entry: entry.status_id)]

    def published(self, day: dt.date) -> list[Status]:
        """Every status published on ``day`` (all origins), with the ids each instance gave it."""
        return self._day(day)

    # What the server reads
    def entries(self, domain: str, day: dt.date, selection: tuple) -> list[Entry]:
        """The entries whose id falls on ``day`` on one instance's timeline selection, by id ascending."""
        return self.day_index(domain, day, selection).entries

    def day_index(self, domain: str, day: dt.date, selection: tuple) -> DayIndex:
        """:meth:`entries` with their ids, cached for the server's bisecting."""
        if domain not in self.domains:
            raise KeyError(f"{domain} is not an instance of this federation ({', '.join(self.domains)})")
        if not 0 <= (day - self.start).days < self.days + 2:  # late copies land up to two days later
            return DayIndex([], [])
        key = (domain, day, selection)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
            if selection == ("all", False, None):
                entries = self._render_day(domain, day)
            else:
                entries = [entry for entry in self.entries(domain, day, ("all", False, None))
                           if _selected(entry, selection)]
            found = self._entries[key] = DayIndex([entry.status_id for entry in entries], entries)
            while len(self._entries) > self._cache_days * (len(self.domains) + 2):
                self._entries.popitem(last=False)
            return found

    def instance_v1(self, domain: str, timelines_access: dict) -> dict:
        return {
            "uri": domain, "title": f"{domain} (stand-in)", "short_description": "A stand-in Mastodon instance",
            "description": "Serves generated statuses for tests and demos.", "email": f"admin@{domain}",
            "version": VERSION, "urls": {"streaming_api": f"wss://{domain}"},
            "stats": {"user_count": self.accounts_per_instance, "status_count": self.statuses_per_day * self.days,
                      "domain_count": len(self.origins)},
            "thumbnail": f"https://{domain}/packs/media/images/preview.png", "languages": ["en"],
            "registrations": False, "approval_required": False, "invites_enabled": False,
            "configuration": self._configuration(domain, timelines_access), "contact_account": None, "rules": []}

    def instance_v2(self, domain: str, timelines_access: dict) -> dict:
        return {
            "domain": domain, "title": f"{domain} (stand-in)", "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "Serves generated statuses for tests and demos.",
            "usage": {"users": {"active_month": self.accounts_per_instance}},
            "thumbnail": {"url": f"https://{domain}/packs/media/images/preview.png"},
            "languages": ["en"], "configuration": self._configuration(domain, timelines_access),
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 6}, "contact": {"email": f"admin@{domain}", "account": None}, "rules": []}

    def _configuration(self, domain: str, timelines_access: dict) -> dict:
        return {"urls": {"streaming": f"wss://{domain}", "status": None},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23},
                "media_attachments": {"image_size_limit": 16777216, "video_size_limit": 103809024},
                "polls": {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300,
                          "max_expiration": 2629746},
                "translation": {"enabled": False}, "timelines_access": timelines_access}

    # Generation
    def _make_accounts(self, origin: str) -> list[Account]:
        rng = random.Random(f"{self.seed}:accounts:{origin}")
        accounts, taken = [], set()
        for index in range(self.accounts_per_instance):
            base = NAMES[index % len(NAMES)]
            username = base if base not in taken else f"{base}{index}"
            taken.add(username)
            created = self.start - dt.timedelta(days=rng.randint(1, 36 * 30))
            followers = 0 if rng.random() < 0.15 else int(rng.paretovariate(1.2) * 10)
            emojis = tuple(rng.sample(CUSTOM_EMOJIS, 1)) if rng.random() < 0.2 else ()
            display = (username.capitalize() + (f" :{emojis[0]}:" if emojis else "")
                       + (" 🌻" if rng.random() < 0.2 else ""))
            fields = (("Web", f'<a href="https://{username.lower()}.example.net" rel="me nofollow noopener" '
                              f'target="_blank">{username.lower()}.example.net</a>'),) if rng.random() < 0.3 else ()
            accounts.append(Account(
                origin=origin, username=username, display_name=display,
                created_at=dt.datetime(created.year, created.month, created.day, tzinfo=UTC),
                followers_base=followers, followers_growth=0 if followers == 0 else rng.randint(0, 3),
                following=rng.randint(0, 400), statuses_base=rng.randint(1, 5000),
                note=rng.choice(NOTES).replace("{origin}", origin), noindex=rng.random() < 0.1,
                bot=rng.random() < 0.05, emojis=emojis, fields=fields))
        return accounts

    def _day(self, day: dt.date) -> list[Status]:
        with self._lock:
            found = self._days.get(day)
            if found is not None:
                self._days.move_to_end(day)
                return found
            statuses = self._generate_day(day)
            self._days[day] = statuses
            while len(self._days) > self._canonical_days:
                self._days.popitem(last=False)
            return statuses

    def _generate_day(self, day: dt.date) -> list[Status]:
        rng = random.Random(f"{self.seed}:day:{day.isoformat()}")
        day_index = (day - self.start).days
        day_start_ms = to_epoch_ms(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))
        count = self.statuses_per_day
        offsets = sorted(rng.sample(range(DAY_MS), count)) if count else []
        if count >= 2:  # statuses on both edges of the day, where off-by-one bugs live
            offsets[0], offsets[-1] = 0, DAY_MS - 1
        taken = {domain: set() for domain in self.domains}
        statuses = []
        for offset in offsets:
            status = self._generate_status(rng, day_start_ms + offset, day_index)
            for domain in self._reached(rng, status.origin):
                status.local_ids[domain] = self._local_id(rng, status, domain, taken[domain])
            statuses.append(status)
        return statuses

    def _reached(self, rng: random.Random, origin: str) -> list[str]:
        reached = [domain for domain in self.domains if domain == origin or rng.random() < self.reach]
        if not reached:  # a status from outside is in the federation only if someone received it
            reached = [rng.choice(self.domains)]
        return reached

    def _local_id(self, rng: random.Random, status: Status, domain: str, taken: set[int]) -> int:
        second_ms = status.created_ms - status.created_ms % 1000
        if domain == status.origin:
            candidate, arrival = status.origin_id, status.created_ms
        else:
            draw = rng.random()
            delay = rng.randrange(1, self.max_delay_ms) if draw < self.late_share + self.backdated_share else 0
            arrival = status.created_ms + delay
            if draw < self.late_share:  # delivered late to the inbox: an id of its arrival
                candidate = make_id(arrival, rng.randrange(1 << 16))
            else:  # Mastodon::Snowflake.id_at(created_at): the second, random ms and sequence
                candidate = make_id(second_ms + rng.randrange(1000), rng.randrange(1 << 16))
                arrival = max(arrival, id_epoch_ms(candidate))  # a prompt copy is there at its id's time
        while candidate in taken:  # as Mastodon retries on RecordNotUnique
            candidate += 1 + rng.randrange(100)
        taken.add(candidate)
        status.arrivals[domain] = arrival
        return candidate

    def _generate_status(self, rng: random.Random, created_ms: int, day_index: int) -> Status:
        origin = self.domains[rng.randrange(len(self.domains))] if rng.random() < 0.85 else rng.choice(OUTSIDE_DOMAINS)
        account = rng.choice(self.accounts[origin])
        language = _weighted(rng, LANGUAGES)
        words = WORDS.get((language or "en").lower().split("-")[0], WORDS["en"])
        tags = _distinct(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2, 3])))
        emojis = rng.sample(CUSTOM_EMOJIS, rng.choice([0, 0, 0, 1, 2]))
        mentions = [rng.choice(self.accounts[rng.choice(self.origins)]) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
        links = rng.sample(LINKS, rng.choice([0, 0, 1, 1, 2]))
        unicode_emojis = rng.sample(UNICODE_EMOJIS, rng.choice([0, 0, 1, 2]))
        media = [_weighted(rng, MEDIA_TYPES) for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 4]))]
        popularity = int(rng.paretovariate(1.5)) - 1
        # the second wave's fields, drawn apart from the others so that they do not shift them
        traits = random.Random(f"{self.seed}:traits:{created_ms}")
        spoiler = traits.choice(CONTENT_WARNINGS) if traits.random() < 0.1 else ""
        sensitive = bool(spoiler) or traits.random() < 0.04
        application = BOT_CLIENT if account.bot else _weighted(traits, CLIENTS)
        reply_to_ms = created_ms - traits.randrange(60_000, 6 * 3_600_000) if traits.random() < 0.3 else None
        mood = traits.choice(MOODS) if (language or "").lower().startswith("en") and traits.random() < 0.4 else ""
        return Status(
            origin=origin, account=account, created_ms=created_ms,
            origin_id=make_id(created_ms, rng.randrange(1 << 16)), day_index=day_index,
            content=(f"<p>{mood}</p>" if mood else "") + _content(rng, origin, words, mentions, tags, links,
                                                                   unicode_emojis, emojis),
            spoiler_text=spoiler, sensitive=sensitive, language=language,
            tags=tags, emojis=emojis, media=media, poll=_poll(rng, words) if not media and rng.random() < 0.1 else None,
            mentions=mentions, replies=rng.randint(0, 3) * popularity, reblogs=rng.randint(0, 5) * popularity,
            favourites=rng.randint(0, 12) * popularity, edited=rng.random() < 0.05, application=application,
            reply_to_ms=reply_to_ms)

    def _render_day(self, domain: str, day: dt.date) -> list[Entry]:
        """The copies ``domain`` holds whose local id falls on ``day``: statuses created that day or,
        arriving late with ids of their arrival, up to two days before."""
        first_ms = to_epoch_ms(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))
        entries = []
        for offset in (2, 1, 0):
            created_day = day - dt.timedelta(days=offset)
            if not 0 <= (created_day - self.start).days < self.days:
                continue
            for status in self._day(created_day):
                status_id = status.local_ids.get(domain)
                if status_id is None or not first_ms <= id_epoch_ms(status_id) < first_ms + DAY_MS:
                    continue
                entries.append(Entry(status_id, status.origin == domain, bool(status.media),
                                     frozenset(normalize_tag(tag) for tag in status.tags),
                                     dumps(self.render(status, domain)), status.arrivals[domain], status.created_ms))
        entries.sort(key=lambda entry: entry.status_id)
        return entries

    def render(self, status: Status, domain: str) -> dict:
        """The status as ``domain`` serves it (Mastodon's REST::StatusSerializer shape)."""
        local = status.origin == domain
        status_id = status.local_ids[domain]
        created_at = format_timestamp(from_epoch_ms(status.created_ms))
        share = 1.0 if local else 0.25 + (_stable_int(domain, status.uri) % 50) / 100
        return {
            "id": str(status_id),
            "created_at": created_at,
            "in_reply_to_id": str(make_id(status.reply_to_ms, _stable_int("reply", domain, status.uri) & 0xFFFF))
            if status.reply_to_ms else None,
            "in_reply_to_account_id": str(status.account.local_id(domain)) if status.reply_to_ms else None,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": "public",
            "language": status.language,
            "uri": status.uri,
            "url": status.url,
            "replies_count": int(status.replies * share),
            "reblogs_count": int(status.reblogs * share),
            "favourites_count": int(status.favourites * share),
            "quotes_count": 0,
            "edited_at": format_timestamp(from_epoch_ms(status.created_ms + 600_000)) if status.edited else None,
            "content": status.content,
            "reblog": None,
            # Mastodon shows the application on the home instance's copy only, null without a name
            "application": {"name": status.application, "website": None}
            if local and status.application is not None else None,
            "account": self.render_account(status.account, domain, status.day_index),
            "media_attachments": [_media(status, domain, index, kind) for index, kind in enumerate(status.media)],
            "mentions": [{"id": str(account.local_id(domain)), "username": account.username, "url": account.url,
                          "acct": _acct(account, domain)} for account in status.mentions],
            "tags": [{"name": tag, "url": f"https://{domain}/tags/{urllib.parse.quote(normalize_tag(tag))}"}
                     for tag in status.tags],
            "emojis": [_custom_emoji(shortcode, domain) for shortcode in status.emojis],
            "card": None,
            "poll": _render_poll(status, domain) if status.poll else None,
            "quote": None,
        }

    def render_account(self, account: Account, domain: str, day_index: int) -> dict:
        record = {
            "id": str(account.local_id(domain)),
            "username": account.username,
            "acct": _acct(account, domain),
            "display_name": account.display_name,
            "locked": False,
            "bot": account.bot,
            "discoverable": not account.noindex,
            "indexable": not account.noindex,
            "group": False,
            "created_at": format_timestamp(account.created_at),
            "note": account.note,
            "url": account.url,
            "uri": account.uri,
            "avatar": f"https://{domain}/system/accounts/avatars/{account.local_id(domain)}/original/avatar.png",
            "avatar_static": f"https://{domain}/system/accounts/avatars/{account.local_id(domain)}/static/avatar.png",
            "header": f"https://{domain}/headers/original/missing.png",
            "header_static": f"https://{domain}/headers/original/missing.png",
            "followers_count": account.followers_base + account.followers_growth * day_index,
            "following_count": account.following,
            "statuses_count": account.statuses_base + day_index,
            "last_status_at": (self.start + dt.timedelta(days=day_index)).isoformat(),
            "hide_collections": False,
            "emojis": [_custom_emoji(shortcode, domain) for shortcode in account.emojis],
            "roles": [],
            "fields": [{"name": name, "value": value, "verified_at": None} for name, value in account.fields],
        }
        if account.origin == domain:  # Mastodon serializes noindex for local accounts only
            record["noindex"] = account.noindex
        return record


def timeline_filter(timeline: str) -> tuple:
    """A timeline name (public, local, remote, tag:<name>) as an entry selection key."""
    if timeline == "public":
        return ("all", False, None)
    if timeline == "local":
        return ("local", False, None)
    if timeline == "remote":
        return ("remote", False, None)
    if timeline.startswith("tag:"):
        return ("all", False, normalize_tag(timeline[4:]))
    raise ValueError(f"unknown timeline {timeline!r}: use public, local, remote or tag:<name>")


def _selected(entry: Entry, selection: tuple) -> bool:
    scope, only_media, tag = selection
    if scope == "local" and not entry.local or scope == "remote" and entry.local:
        return False
    if only_media and not entry.has_media:
        return False
    return tag is None or tag in entry.tags


def page(days, lower: int | None, upper: int | None, limit: int, oldest_first: bool,
         visible_until: int | None = None) -> list[Entry]:
    """Mastodon's id pagination over a timeline split by day.

    ``days`` yields :class:`DayIndex` in the order of traversal: oldest day first when
    ``oldest_first``, newest day first otherwise (a generator: days are rendered only when
    reached). ``lower``/``upper`` are exclusive id bounds. ``oldest_first`` takes the ``limit``
    entries just above ``lower`` (min_id), otherwise the ``limit`` just below ``upper``
    (max_id, since_id); either way the result is newest first, as the API returns it. Entries
    that arrive after ``visible_until`` (ms) are not there yet and are skipped.
    """
    chosen: list[Entry] = []

    def visible(entry: Entry) -> bool:
        return visible_until is None or entry.visible_ms <= visible_until

    for day in days:
        ids, entries = day.ids, day.entries
        index = bisect.bisect_right(ids, lower) if lower is not None else 0
        stop = bisect.bisect_left(ids, upper) if upper is not None else len(ids)
        if oldest_first:
            for entry in entries[index:stop]:
                if len(chosen) >= limit:
                    break
                if visible(entry):
                    chosen.append(entry)
            if stop < len(ids) or len(chosen) >= limit:
                break
        else:
            for entry in reversed(entries[index:stop]):
                if len(chosen) >= limit:
                    break
                if visible(entry):
                    chosen.append(entry)
            if index > 0 or len(chosen) >= limit:
                break
    return list(reversed(chosen)) if oldest_first else chosen


def _distinct(tags: list[str]) -> list[str]:
    """Tags distinct by their normalized name, as Mastodon links each hashtag once."""
    seen, kept = set(), []
    for tag in tags:
        if normalize_tag(tag) not in seen:
            seen.add(normalize_tag(tag))
            kept.append(tag)
    return kept


def _acct(account: Account, domain: str) -> str:
    return account.username if account.origin == domain else f"{account.username}@{account.origin}"


def _content(rng, origin, words, mentions, tags, links, unicode_emojis, custom_emojis) -> str:
    """Content HTML as Mastodon renders it: mentions, words, emojis, links, then hashtags."""
    parts = [f'<span class="h-card" translate="no"><a href="{account.url}" class="u-url mention">@<span>'
             f"{account.username}</span></a></span>" for account in mentions]
    parts += rng.sample(words, min(len(words), rng.randint(3, 9)))
    parts += unicode_emojis + [f":{shortcode}:" for shortcode in custom_emojis]
    if rng.random() < 0.1:
        parts.append(rng.choice(["&lt;3", "fish &amp; chips", "&quot;quoted&quot;", "it&#39;s"]))
    for url in links:
        scheme, rest = url.split("://", 1)
        shown_prefix = scheme + "://" + ("www." if rest.lower().startswith("www.") else "")
        shown = rest[4:] if rest.lower().startswith("www.") else rest
        href = url.replace("&", "&amp;")
        parts.append(f'<a href="{href}" target="_blank" rel="nofollow noopener" translate="no">'
                     f'<span class="invisible">{shown_prefix}</span><span class="">{shown.replace("&", "&amp;")}'
                     '</span><span class="invisible"></span></a>')
    if rng.random() < 0.01:  # a link without a host, as odd HTML from other servers has
        parts.append('<a href="/relative/path">relative</a>')
    text = " ".join(parts)
    hashtags = " ".join(f'<a href="https://{origin}/tags/{urllib.parse.quote(normalize_tag(tag))}" '
                        f'class="mention hashtag" rel="tag">#<span>{tag}</span></a>' for tag in tags)
    return f"<p>{text}</p>" + (f"<p>{hashtags}</p>" if hashtags else "")


def _poll(rng: random.Random, words) -> dict:
    options = rng.sample(words, min(len(words), rng.randint(2, 4)))
    multiple = rng.random() < 0.3
    votes = [rng.randint(0, 50) for _ in options]
    return {"multiple": multiple, "options": options, "votes": votes,
            "voters": (max(votes) + rng.randint(0, 10)) if multiple else None}


def _render_poll(status: Status, domain: str) -> dict:
    poll = status.poll
    return {"id": str(status.local_ids[domain] >> 20),
            "expires_at": format_timestamp(from_epoch_ms(status.created_ms + DAY_MS)),
            "expired": False, "multiple": poll["multiple"], "votes_count": sum(poll["votes"]),
            "voters_count": poll["voters"],
            "options": [{"title": title, "votes_count": votes} for title, votes in zip(poll["options"], poll["votes"])],
            "emojis": []}


def _custom_emoji(shortcode: str, domain: str) -> dict:
    return {"shortcode": shortcode,
            "url": f"https://{domain}/system/custom_emojis/images/original/{shortcode.lower()}.png",
            "static_url": f"https://{domain}/system/custom_emojis/images/static/{shortcode.lower()}.png",
            "visible_in_picker": True, "category": "blobs" if "blob" in shortcode.lower() else None}


def _media(status: Status, domain: str, index: int, kind: str) -> dict:
    media_id = str(status.local_ids[domain] + index + 1)
    local = status.origin == domain
    stem = f"{_stable_int(status.uri, index):016x}"
    extension = {"image": "png", "video": "mp4", "gifv": "mp4", "audio": "mp3", "unknown": "bin"}[kind]
    origin_url = f"https://{status.origin}/system/media_attachments/files/original/{stem}.{extension}"
    cached_url = f"https://{domain}/system/cache/media_attachments/files/original/{stem}.{extension}"
    url = origin_url if local else cached_url
    preview_url = url.replace("/original/", "/small/").rsplit(".", 1)[0] + ".png"
    record = {"id": media_id, "type": kind, "url": None if kind == "unknown" else url,
              "preview_url": None if kind in ("audio", "unknown") else preview_url,
              "remote_url": None if local else origin_url, "preview_remote_url": None, "text_url": None,
              "meta": _media_meta(kind, status.created_ms + index),
              "description": None if index % 2 else "A generated attachment",
              "blurhash": None if kind in ("audio", "unknown") else "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$"}
    if kind == "unknown":
        record["remote_url"] = origin_url
    return record


def _media_meta(kind: str, salt: int) -> dict:
    width, height = 640 + salt % 7 * 160, 480 + salt % 5 * 120
    size = {"width": width, "height": height, "size": f"{width}x{height}", "aspect": round(width / height, 6)}
    if kind == "image":
        return {"original": size, "small": {"width": 400, "height": 300, "size": "400x300", "aspect": 1.333333}}
    if kind in ("video", "gifv"):
        duration = 3 + salt % 60
        return {"length": f"0:00:{duration:02d}.00", "duration": float(duration), "fps": 30, **size,
                "audio_encode": None if kind == "gifv" else "aac (LC) (mp4a / 0x6134706D)",
                "audio_bitrate": None if kind == "gifv" else "44100 Hz",
                "audio_channels": None if kind == "gifv" else "stereo",
                "original": {**size, "frame_rate": "30/1", "duration": float(duration), "bitrate": 1_200_000},
                "small": {"width": 400, "height": 300, "size": "400x300", "aspect": 1.333333}}
    if kind == "audio":
        duration = 30 + salt % 300
        return {"length": f"0:{duration // 60:02d}:{duration % 60:02d}.00", "duration": float(duration),
                "audio_encode": "mp3", "audio_bitrate": "44100 Hz", "audio_channels": "stereo",
                "original": {"duration": float(duration), "bitrate": 128_000}}
    return {}
