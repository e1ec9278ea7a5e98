"""The stand-in federation: its data has Mastodon's shapes and variety, its API Mastodon's semantics."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import requests
from mastodon import Mastodon

from collection.snowflake import UTC, first_id_at, id_to_datetime, parse_timestamp
from collection.standin import FaultConfig, Federation
from collection.standin.federation import DayIndex, Entry, page

DAY = dt.date(2026, 11, 17)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")


@pytest.fixture(scope="module")
def federation() -> Federation:
    return Federation(seed=3, domains=DOMAINS, start=DAY, days=2, statuses_per_day=400)


@pytest.fixture(scope="module")
def running(federation):
    with federation.serve() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_faults(request):
    yield
    if "running" in request.fixturenames:
        running = request.getfixturevalue("running")
        for domain in DOMAINS:
            running.servers[domain].faults = FaultConfig()
        running.set_now(running.federation.end)


def _all(federation, timeline="public"):
    return [status for domain in federation.domains for day in federation.day_list
            for status in federation.statuses(domain, day, timeline)]


# --- the data --------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_bytes_in_another_process(federation):
    digest = hashlib.sha256(b"".join(federation.raw_statuses("beta.example", DAY))).hexdigest()
    code = ("import datetime, hashlib; from collection.standin import Federation; "
            "f = Federation(seed=3, domains=('alpha.example', 'beta.example', 'gamma.example'), "
            "start=datetime.date(2026, 11, 17), days=2, statuses_per_day=400); "
            "print(hashlib.sha256(b''.join(f.raw_statuses('beta.example', datetime.date(2026, 11, 17)))).hexdigest())")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == digest
    other_seed = Federation(seed=4, domains=DOMAINS, start=DAY, days=2, statuses_per_day=400)
    assert other_seed.raw_statuses("beta.example", DAY) != federation.raw_statuses("beta.example", DAY)


def test_a_day_holds_statuses_created_that_day_on_both_of_its_edges(federation):
    for domain in DOMAINS:
        for day in federation.day_list:
            statuses = federation.statuses(domain, day)
            assert statuses, (domain, day)
            assert {parse_timestamp(status["created_at"]).date() for status in statuses} == {day}
            ids = [int(status["id"]) for status in statuses]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
    published = federation.published(DAY)
    assert len(published) == 400
    times = sorted(status.created_ms for status in published)
    start_ms = int(dt.datetime(2026, 11, 17, tzinfo=UTC).timestamp() * 1000)
    assert times[0] == start_ms and times[-1] == start_ms + 86_400_000 - 1


def test_ids_are_snowflakes_of_the_creation_time(federation):
    for status in _all(federation):
        created = parse_timestamp(status["created_at"])
        id_time = id_to_datetime(status["id"])
        local = "@" not in status["account"]["acct"]
        if local:  # the origin's id is its creation millisecond
            assert id_time == created
        else:  # Mastodon::Snowflake.id_at: the same second, random milliseconds
            assert id_time.replace(microsecond=0) == created.replace(microsecond=0)


def test_the_same_status_reaches_several_instances_with_the_same_uri_and_its_own_id(federation):
    copies: dict[str, dict[str, str]] = {}
    for domain in DOMAINS:
        for status in federation.statuses(domain, DAY):
            copies.setdefault(status["uri"], {})[domain] = status["id"]
    shared = {uri: ids for uri, ids in copies.items() if len(ids) > 1}
    assert len(shared) > 50
    for ids in shared.values():
        assert len(set(ids.values())) == len(ids)


def test_accounts_are_local_or_remote_by_the_serving_domain(federation):
    for domain in DOMAINS:
        for status in federation.statuses(domain, DAY):
            account = status["account"]
            origin = account["url"].split("/")[2]
            assert status["uri"].startswith(f"https://{origin}/users/{account['username']}/statuses/")
            for tag_host in re.findall(r'href="https://([^/"]+)/tags/', status["content"]):
                assert tag_host == origin  # the content is the origin's rendering
            if origin == domain:
                assert account["acct"] == account["username"] and "noindex" in account
            else:
                assert account["acct"] == f"{account['username']}@{origin}" and "noindex" not in account


def test_the_data_has_the_variety_the_metrics_need(federation):
    statuses = _all(federation)
    languages = {status["language"] for status in statuses}
    assert {None, "", "EN", "zh-TW", "en", "fr"} <= languages
    media_types = {media["type"] for status in statuses for media in status["media_attachments"]}
    assert media_types == {"image", "video", "gifv", "audio", "unknown"}
    assert any(status["poll"] and status["poll"]["options"] for status in statuses)
    tags = {tag["name"] for status in statuses for tag in status["tags"]}
    assert {"Python", "python", "Café", "日本語", "ＦＵＬＬＷＩＤＴＨ"} & tags and any(not t.isascii() for t in tags)
    assert any(tag != tag.lower() for tag in tags)
    assert any(status["emojis"] for status in statuses)
    contents = " ".join(status["content"] for status in statuses)
    assert 'class="u-url mention"' in contents and 'class="mention hashtag"' in contents
    for host in ("https://www.example.com", "https://Example.ORG", "news.example.net:8080", "bücher.example",
                 "xn--bcher-kva.example"):
        assert host in contents
    assert any(emoji in contents for emoji in ("😀", "🎉", "👍🏽", "🐘"))
    assert re.search(r":[A-Za-z_]+:", contents)
    assert any(status["spoiler_text"] for status in statuses)
    assert {status["visibility"] for status in statuses} == {"public"}
    assert any(status["replies_count"] and status["reblogs_count"] and status["favourites_count"]
               for status in statuses)


def test_accounts_have_what_the_user_and_growth_metrics_need(federation):
    accounts = {status["account"]["url"]: status["account"] for status in _all(federation)}
    months = {account["created_at"][:7] for account in accounts.values()}
    assert len(months) >= 12
    assert any(account["followers_count"] == 0 for account in accounts.values())
    assert any(account.get("noindex") is True for account in accounts.values())
    notes = " ".join(account["note"] for account in accounts.values())
    assert "#nobot" in notes and "NoIndex" in notes


def test_remote_copies_see_fewer_interactions_than_the_origin(federation):
    by_uri: dict[str, list[dict]] = {}
    for domain in DOMAINS:
        for status in federation.statuses(domain, DAY):
            by_uri.setdefault(status["uri"], []).append(status)
    compared = 0
    for copies in by_uri.values():
        origin = [c for c in copies if "@" not in c["account"]["acct"]]
        if origin and len(copies) > 1:
            for copy in copies:
                assert copy["favourites_count"] <= origin[0]["favourites_count"]
            compared += 1
    assert compared > 20


def test_timeline_selections(federation):
    local = federation.statuses("alpha.example", DAY, "local")
    assert local and all("@" not in status["account"]["acct"] for status in local)
    tagged = federation.statuses("alpha.example", DAY, "tag:PYTHON")
    assert tagged and all(any(tag["name"].lower() == "python" for tag in status["tags"]) for status in tagged)
    noon = dt.datetime(2026, 11, 17, 12, tzinfo=UTC)
    morning = federation.statuses("alpha.example", DAY, until=noon)
    assert 0 < len(morning) < len(federation.statuses("alpha.example", DAY))
    assert all(id_to_datetime(status["id"]) <= noon for status in morning)


def test_page_follows_mastodon_id_pagination():
    days = [DayIndex([1, 2, 3], [Entry(i, True, False, frozenset(), b"") for i in (1, 2, 3)]),
            DayIndex([10, 11], [Entry(i, True, False, frozenset(), b"") for i in (10, 11)])]

    def ids(lower, upper, limit, oldest_first):
        order = days if oldest_first else list(reversed(days))
        return [entry.status_id for entry in page(iter(order), lower, upper, limit, oldest_first)]

    assert ids(None, None, 3, False) == [11, 10, 3]  # newest first
    assert ids(None, 10, 2, False) == [3, 2]  # max_id
    assert ids(2, None, 10, False) == [11, 10, 3]  # since_id: newest above it
    assert ids(1, None, 2, True) == [3, 2]  # min_id: the oldest just above it, newest first
    assert ids(2, None, 10, True) == [11, 10, 3]
    assert ids(3, 11, 10, True) == [10]
    assert ids(11, None, 5, True) == []


# --- the API ---------------------------------------------------------------------------------

def test_instances_report_their_own_domain_not_the_address(running):
    for domain, url in running.urls.items():
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/api/v2/instance").json()["domain"] == domain
        assert requests.get(url + "/api/v1/instance/").json()["uri"] == domain  # trailing slash
    api = Mastodon(api_base_url=running.url("beta.example"), version_check_mode="none")
    assert api.instance_v2()["domain"] == "beta.example"
    assert api.instance_v1()["uri"] == "beta.example"


def test_public_timeline_pages_newest_first_with_mastodon_link_headers(running, federation):
    url = running.url("alpha.example")
    answer = requests.get(url + "/api/v1/timelines/public/", params={"local": "true", "limit": 3})
    statuses = answer.json()
    assert answer.status_code == 200 and len(statuses) == 3
    ids = [int(status["id"]) for status in statuses]
    assert ids == sorted(ids, reverse=True)
    newest_local = federation.statuses("alpha.example", federation.day_list[-1], "local")[-1]
    assert statuses[0]["id"] == newest_local["id"]
    link = answer.headers["Link"]
    assert f"<{url}/api/v1/timelines/public?local=true&limit=3&max_id={ids[-1]}>; rel=\"next\"" in link
    assert f"<{url}/api/v1/timelines/public?local=true&limit=3&min_id={ids[0]}>; rel=\"prev\"" in link


def test_limit_defaults_to_20_and_stops_at_40(running):
    url = running.url("alpha.example") + "/api/v1/timelines/public"
    assert len(requests.get(url).json()) == 20
    assert len(requests.get(url, params={"limit": 100}).json()) == 40
    assert requests.get(url, params={"max_id": "abc"}).status_code == 400


def test_min_id_paging_returns_every_status_once_in_order(running, federation):
    url = running.url("gamma.example") + "/api/v1/timelines/public"
    min_id, seen = first_id_at(dt.datetime(2026, 11, 17, tzinfo=UTC)) - 1, []
    while True:
        page_ = requests.get(url, params={"min_id": min_id, "limit": 40}).json()
        if not page_:
            break
        ids = [int(status["id"]) for status in page_]
        assert ids == sorted(ids, reverse=True) and min(ids) > min_id
        seen.extend(reversed(page_))
        min_id = ids[0]
    expected = [s for day in federation.day_list for s in federation.statuses("gamma.example", day)]
    assert seen == expected


def test_mastodon_py_pages_the_stand_in_with_its_link_headers(running, federation):
    api = Mastodon(api_base_url=running.url("beta.example"), version_check_mode="none")
    first = api.timeline_public(limit=40)
    second = api.fetch_next(first)
    expected = [s["id"] for day in federation.day_list for s in federation.statuses("beta.example", day)][::-1]
    assert [str(status.id) for status in first + second] == expected[:80]
    newer = api.fetch_previous(second)
    assert [str(status.id) for status in newer] == expected[:40]


def test_hashtag_timeline_matches_names_case_and_width_insensitively(running, federation):
    url = running.url("alpha.example")
    answer = requests.get(url + "/api/v1/timelines/tag/Caf%C3%A9", params={"limit": 40}).json()
    expected = [s for day in federation.day_list for s in federation.statuses("alpha.example", day, "tag:café")]
    assert [s["id"] for s in answer] == [s["id"] for s in expected][::-1][:40]


def test_the_clock_decides_what_is_served(running, federation):
    url = running.url("alpha.example")
    noon = dt.datetime(2026, 11, 17, 12, tzinfo=UTC)
    answer = requests.post(url + "/_standin/now", json={"now": "2026-11-17T12:00:00Z"})
    assert answer.json() == {"now": "2026-11-17T12:00:00.000Z"}
    newest = requests.get(url + "/api/v1/timelines/public", params={"limit": 1}).json()[0]
    assert newest == federation.statuses("alpha.example", DAY, until=noon)[-1]
    running.set_now(federation.end)
    assert requests.get(url + "/_standin/now").json()["now"] == "2026-11-19T00:00:00.000Z"


def test_rate_limit_headers_and_429(running):
    url = running.url("beta.example")
    requests.post(url + "/_standin/config", json={"rate_limit": 2, "rate_window": 60})
    first = requests.get(url + "/api/v1/instance")
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    reset = parse_timestamp(first.headers["X-RateLimit-Reset"])
    assert 50 < (reset - dt.datetime.now(UTC)).total_seconds() <= 60
    requests.get(url + "/api/v1/instance")
    refused = requests.get(url + "/api/v1/timelines/public")
    assert refused.status_code == 429 and refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert requests.get(url + "/_standin/stats").json()["rate_limited"] == 1  # admin is not limited


def test_refused_timelines_answer_like_mastodon_4_5(running):
    url = running.url("beta.example")
    for code in (401, 403, 422):
        running.configure("beta.example", refuse_public=code, access_token="s3cret")
        answer = requests.get(url + "/api/v1/timelines/public")
        assert answer.status_code == code and "error" in answer.json()
        access = requests.get(url + "/api/v2/instance").json()["configuration"]["timelines_access"]
        assert access["live_feeds"] == {"local": "public", "remote": "authenticated"}
    assert requests.get(url + "/api/v1/timelines/public", params={"local": "true"}).status_code == 200
    authorized = requests.get(url + "/api/v1/timelines/public", headers={"Authorization": "Bearer s3cret"})
    assert authorized.status_code == 200
    wrong = requests.get(url + "/api/v1/timelines/public", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "The access token is invalid"})
    config = requests.get(url + "/_standin/config").json()
    assert config["access_token"] == "***"


def test_fault_switches(running):
    url = running.url("gamma.example")
    requests.post(url + "/_standin/config", json={"error_rate": 1.0})
    answer = requests.get(url + "/api/v1/timelines/public")
    assert answer.status_code in (500, 502, 503, 504) and answer.headers["Content-Type"].startswith("text/html")
    requests.post(url + "/_standin/config", json={"error_rate": 0.0, "legacy_instance_api": True})
    assert requests.get(url + "/api/v2/instance").status_code == 404
    assert requests.get(url + "/api/v1/instance").json()["uri"] == "gamma.example"
    assert requests.post(url + "/_standin/config", json={"error_rate": 2}).status_code == 400
    assert requests.post(url + "/_standin/config", json={"no_such": 1}).status_code == 400
    assert requests.get(url + "/api/v1/accounts/1").status_code == 404
    stats = running.stats("gamma.example")
    assert stats["errors_injected"] == 1


def test_error_rate_fails_about_that_share_of_requests(running):
    running.configure("alpha.example", error_rate=0.3)
    url = running.url("alpha.example") + "/api/v1/instance"
    codes = Counter(requests.get(url).status_code >= 500 for _ in range(200))
    assert 30 <= codes[True] <= 90  # 60 expected; bounds far outside what chance gives with 200 draws


def test_command_lines_have_help():
    for module in (["collection.standin"], ["collection"], ["collection", "collect"], ["collection", "status"]):
        out = subprocess.run([sys.executable, "-m", *module, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: python -m" in out.stdout, (module, out.stderr)


def test_the_standin_command_serves_until_terminated(tmp_path):
    urls_file = tmp_path / "urls.json"
    process = subprocess.Popen([sys.executable, "-m", "collection.standin", "--domains", "solo.example",
                                "--statuses-per-day", "50", "--urls-file", str(urls_file), "--refuse-public", "422"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        domain, url = process.stdout.readline().split()
        assert domain == "solo.example" and json.loads(urls_file.read_text()) == {"solo.example": url}
        assert requests.get(url + "/api/v2/instance").json()["domain"] == "solo.example"
        assert requests.get(url + "/api/v1/timelines/public").status_code == 422
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
