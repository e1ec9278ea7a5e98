"""Expected HBase contents computed straight from the stand-in's data, for the end-to-end tests.

Deliberately written without the project's metric code (mapreduce/records.py): it reads the
statuses exactly as the stand-in serves them and applies DESIGN.md's definitions in the most
direct way, so that a bug shared by both would have to be made twice.
"""
from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import unicodedata
from collections import Counter, defaultdict
from html.parser import HTMLParser
from urllib.parse import urlsplit

import emoji

NOINDEX_NOTE = re.compile(r"#(nobot|noindex)\b", re.IGNORECASE)


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            attributes = dict(attrs)
            self.hrefs.append((attributes.get("href") or "", attributes.get("class") or ""))

    def handle_data(self, data):
        self.text.append(data)


def _link_hosts(content: str) -> set[str]:
    parser = _Anchors()
    parser.feed(content)
    hosts = set()
    for href, css in parser.hrefs:
        classes = css.split()
        if "mention" in classes or "hashtag" in classes:
            continue
        host = (urlsplit(href).hostname or "").lower()
        if not host:
            continue
        if host.startswith("www."):
            host = host[4:]
        hosts.add(host.encode("idna").decode("ascii"))
    return hosts


def _visible_text(content: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", content or ""))


def _emojis(status: dict) -> set[str]:
    found = {f":{item['shortcode']}:" for item in status.get("emojis") or []}
    found |= {match["emoji"] for match in emoji.emoji_list(_visible_text(status.get("content") or ""))}
    return found


def _interactions(status: dict) -> int:
    return status["favourites_count"] + status["reblogs_count"] + status["replies_count"]


def _handle(status: dict, serving_domain: str) -> str:
    acct = status["account"]["acct"]
    if "@" not in acct:
        acct = f"{acct}@{serving_domain}"
    return acct.lower()


def _noindex(status: dict) -> bool:
    account = status["account"]
    return account.get("noindex") is True or bool(NOINDEX_NOTE.search(_visible_text(account.get("note") or "")))


def user_key(handle: str, key: bytes | None) -> str:
    if key is None:
        return handle
    return hmac.new(key, handle.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def winners(copies_by_domain: dict[str, list[bytes]]) -> list[tuple[dict, str]]:
    """One copy per uri: the origin's, else the most interactions, then the smallest raw line."""
    by_uri: dict[str, list[tuple[dict, str, bytes]]] = defaultdict(list)
    for domain, raw_lines in copies_by_domain.items():
        for raw in raw_lines:
            status = json.loads(raw)
            by_uri[status["uri"]].append((status, domain, raw))
    chosen = []
    for uri, copies in by_uri.items():
        origin = urlsplit(uri).hostname
        copies.sort(key=lambda copy: (copy[1] != origin, -_interactions(copy[0]), copy[2]))
        chosen.append((copies[0][0], copies[0][1]))
    return chosen


_VADER = None


def _sentiment(status: dict) -> str | None:
    """DESIGN.md: VADER's compound of the content's text nodes joined by single spaces, English only."""
    global _VADER
    language = (status.get("language") or "").lower()
    if language != "en" and not language.startswith("en-"):
        return None
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    parser = _Anchors()
    parser.feed(status.get("content") or "")
    parser.close()
    score = _VADER.polarity_scores(" ".join(parser.text))["compound"]
    return "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"


def _kinds(status: dict) -> list[str]:
    kinds = {"all": True, "reply": status.get("in_reply_to_id") is not None, "sensitive": status.get("sensitive") is True,
             "content_warning": bool((status.get("spoiler_text") or "").strip()), "poll": status.get("poll") is not None,
             "bot": status["account"].get("bot") is True, "edited": status.get("edited_at") is not None,
             "with_link": bool(_link_hosts(status.get("content") or ""))}
    return [kind for kind, is_kind in kinds.items() if is_kind]


def day_metrics(copies_by_domain: dict[str, list[bytes]], key: bytes | None) -> dict:
    """Every metric of DESIGN.md for one day, from the raw lines each instance served."""
    languages, tags, urls, emojis, media = Counter(), Counter(), Counter(), Counter(), Counter()
    apps, hours, kinds, instances, sentiment = Counter(), Counter(), Counter(), Counter(), Counter()
    users: dict[str, dict] = {}
    growth: dict[str, set] = defaultdict(set)
    for status, domain in winners(copies_by_domain):
        if _noindex(status):
            continue
        languages[(status.get("language") or "").lower() or "und"] += 1
        tags.update({unicodedata.normalize("NFKC", tag["name"]).lower() for tag in status.get("tags") or []})
        urls.update(_link_hosts(status.get("content") or ""))
        emojis.update(_emojis(status))
        types = {attachment.get("type") or "unknown" for attachment in status.get("media_attachments") or []}
        if types:
            media["toot_with_media"] += 1
            media.update(f"type:{kind}" for kind in types)
        # the second wave: the winner is the home instance's copy when it was collected
        apps[((status.get("application") or {}).get("name") or "").strip() or "unknown"] += 1
        hours[status["created_at"][11:13]] += 1
        kinds.update(_kinds(status))
        instances[_handle(status, domain).split("@", 1)[1]] += 1
        mood = _sentiment(status)
        if mood:
            sentiment[mood] += 1
        account = status["account"]
        user = user_key(_handle(status, domain), key)
        entry = users.setdefault(user, {"toots": 0, "interactions": 0, "latest": "", "followers": 0})
        entry["toots"] += 1
        entry["interactions"] += _interactions(status)
        if status["created_at"] > entry["latest"]:
            entry["latest"], entry["followers"] = status["created_at"], account["followers_count"]
        created = account.get("created_at") or ""
        if created:
            growth[created[:7]].add(user)
    return {"languages": languages, "tags": tags, "urls": urls, "emojis": emojis, "media": media,
            "users": users, "growth": growth, "apps": apps, "hours": hours, "kinds": kinds, "instances": instances,
            "sentiment": sentiment}


def rate(interactions: int, toots: int, followers: int) -> str:
    return format(interactions / (toots * max(followers, 1)), ".6f")


def expected_cells(days: dict[str, dict]) -> dict[str, dict[bytes, dict[bytes, bytes]]]:
    """{table: {row: {column: value}}} for the data/daily cells of DESIGN.md, over the given days."""
    tables: dict[str, dict] = defaultdict(lambda: defaultdict(dict))
    count_tables = {"languages": "language_table", "tags": "tag_table", "urls": "url_table",
                    "emojis": "emoji_table", "media": "toot_with_media_table", "apps": "app_table",
                    "hours": "hour_table", "kinds": "toot_kind_table", "instances": "instance_table",
                    "sentiment": "sentiment_table"}
    for metric, table in count_tables.items():
        totals = Counter()
        for day, metrics in days.items():
            for row, count in metrics[metric].items():
                tables[table][row.encode()][f"daily:{day}".encode()] = str(count).encode()
                totals[row] += count
        for row, count in totals.items():
            tables[table][row.encode()][b"data:count"] = str(count).encode()
    ever: dict[str, set] = defaultdict(set)
    for day, metrics in days.items():
        for month, accounts in metrics["growth"].items():
            tables["croissance_table"][month.encode()][f"daily:{day}".encode()] = str(len(accounts)).encode()
            ever[month] |= accounts
    for month, accounts in ever.items():
        tables["croissance_table"][month.encode()][b"data:count"] = str(len(accounts)).encode()
    totals: dict[str, dict] = {}
    for day in sorted(days):
        for user, entry in days[day]["users"].items():
            cell = {"followers": entry["followers"], "toots": entry["toots"], "interactions": entry["interactions"],
                    "engagement_rate": rate(entry["interactions"], entry["toots"], entry["followers"])}
            tables["user_table"][user.encode()][f"daily:{day}".encode()] = cell
            total = totals.setdefault(user, {"toots": 0, "interactions": 0})
            total["toots"] += entry["toots"]
            total["interactions"] += entry["interactions"]
            total["followers"] = entry["followers"]  # days are visited in order: the latest day wins
    for user, total in totals.items():
        row = tables["user_table"][user.encode()]
        row[b"data:followers"] = str(total["followers"]).encode()
        row[b"data:toots"] = str(total["toots"]).encode()
        row[b"data:engagement_rate"] = rate(total["interactions"], total["toots"], total["followers"]).encode()
    return {table: {row: dict(cells) for row, cells in rows.items()} for table, rows in tables.items()}
