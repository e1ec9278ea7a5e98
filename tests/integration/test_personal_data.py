"""Personal data on the real stack: pseudonyms, noindex, erasure and the erasure list.

Two lakes are collected from the stand-in federation over HTTP into the stack's HDFS, run
through the MapReduce stage (Hadoop's local runner) and loaded into HBase:

* lake A: the federation as it is, plus a few hand-made bad raw lines (quarantined);
* lake B: the same federation served *without the person* (their statuses are never served;
  everyone else's, mentions of them included, are), the clean run an erasure must reproduce.

The person is picked from the generated data (a local account of alpha.example with statuses on
both days, copies on other instances, and mentions by others), so every rule of the erasure
is exercised. Expected values are computed from the stand-in's data, not by the project's code.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import io
import json
import logging
import os
import posixpath
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from collections import Counter, defaultdict

import happybase
import pytest

import hbase
import mapreduce
from collection.collector import RunOptions, collect_instance, day_interval
from collection.standin import Federation
from datalake.lake import LakeLayout, write_atomic
from datalake.pseudonyms import erasure_digest
from datalake.settings import REPO_ROOT, Secret
from hbase.inspect import drop_tables, dump_tables
from hbase.tables import ALL_TABLES
from mapreduce import records
from privacy.erasure import erase_handle
from privacy.reapply import reapply_erasures
from tests.integration.expected_metrics import NOINDEX_NOTE, _emojis, _link_hosts

DAY1, DAY2 = dt.date(2026, 11, 10), dt.date(2026, 11, 11)


def collect_one(settings, url: str, day: dt.date):
    """One collection run of one instance for ``day`` (as the DAG's collect task does it)."""
    settings = settings.with_overrides(instances=(url,))
    return collect_instance(settings, url, *day_interval(day), RunOptions.from_settings(settings))
DAYS = (DAY1, DAY2)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
KEY = "personal-data-test-key-7c1f"
INJECTED = "part-injected.jsonl.gz"  # not a collector part name: the collector ignores it, curate reads it


# ---------------------------------------------------------------------------------------------- data


def _visible(html_text: str) -> str:
    return re.sub(r"<[^>]*>", "", html_text or "")


def _is_noindex(status: dict) -> bool:
    account = status["account"]
    return account.get("noindex") is True or bool(NOINDEX_NOTE.search(_visible(account.get("note") or "")))


def _pick_person(federation: Federation):
    """The alpha.example account with the most statuses among those that post on both days, are
    served by other instances too, do not opt out, and are mentioned by others."""
    posts, days, mentioned, remote = Counter(), defaultdict(set), Counter(), Counter()
    for day in DAYS:
        for published in federation.published(day):
            account = published.account
            if account.origin == "alpha.example" and not account.noindex:
                posts[account.username] += 1
                days[account.username].add(day)
                remote[account.username] += len(set(published.local_ids) - {"alpha.example"})
            for target in published.mentions:
                if target.origin == "alpha.example" and target is not account:
                    mentioned[target.username] += 1
    accounts = {account.username: account for account in federation.accounts["alpha.example"]}
    candidates = [name for name in posts if len(days[name]) == 2 and remote[name] and mentioned[name]
                  and not NOINDEX_NOTE.search(_visible(accounts[name].note))]
    assert candidates, "the seed gives no account fit to exercise the erasure; pick another seed"
    return accounts[max(candidates, key=lambda name: (posts[name], name))]


class WithoutPerson(Federation):
    """The same federation, except that no instance serves the person's statuses."""

    def __init__(self, *args, person_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.person_url = person_url

    def _render_day(self, domain, day):
        return [entry for entry in super()._render_day(domain, day)
                if json.loads(entry.body)["account"]["url"] != self.person_url]


def _federation(cls=Federation, **extra):
    return cls(seed=909, domains=DOMAINS, start=DAY1, days=2, statuses_per_day=150, accounts_per_instance=25, **extra)


# ---------------------------------------------------------------------------------------------- lake helpers


class _LogRecords(logging.Handler):
    """The messages of every log record (INFO and up) emitted inside a ``with`` block."""

    def __init__(self):
        super().__init__(logging.INFO)

    def __enter__(self):
        self.messages: list[str] = []
        self.root = logging.getLogger()
        self.root_level = self.root.level
        self.root.addHandler(self)
        self.root.setLevel(min(self.root_level or logging.INFO, logging.INFO))
        return self

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __exit__(self, *exc):
        self.root.removeHandler(self)
        self.root.setLevel(self.root_level)


def _read(client, path: str) -> bytes:
    """A file's content as text lines: gzip decompressed, a Parquet file's rows as JSON lines (the
    Parquet copy of the curated zone is searched for identifiers like every other zone)."""
    with client.read(path) as reader:
        data = reader.read()
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        rows = pq.read_table(io.BytesIO(data)).to_pylist()
        return b"\n".join(json.dumps(row, default=str, ensure_ascii=False).encode("utf-8") for row in rows)
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def hdfs_dump(client, root: str, under: str = "") -> dict[str, bytes]:
    """Every file under root/under, decompressed, by path relative to root."""
    top = posixpath.join(root, under) if under else root
    if client.status(top, strict=False) is None:
        return {}
    files = {}
    for directory, _, names in client.walk(top):
        for name in names:
            path = posixpath.join(directory, name)
            files[posixpath.relpath(path, root)] = _read(client, path)
    return files


def zone_lines(client, root: str, under: str) -> dict[str, set[bytes]]:
    """{relative dt= directory: set of lines} of a zone (file names and order do not matter)."""
    by_partition = defaultdict(set)
    for path, data in hdfs_dump(client, root, under).items():
        if posixpath.basename(path).startswith(("_", ".")):
            continue
        by_partition[posixpath.dirname(path)].update(line for line in data.split(b"\n") if line)
    return dict(by_partition)


def hbase_dump(settings) -> dict:
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=settings.table_prefix)
    try:
        return dump_tables(connection, ALL_TABLES)
    finally:
        connection.close()


def hbase_text(dump: dict) -> str:
    return "\n".join(f"{table} {row.decode()} {column.decode()} {value.decode()}"
                     for table, rows in dump.items() for row, cells in rows.items() for column, value in cells.items())


def cells(dump: dict) -> dict[tuple, bytes]:
    return {(table, row, column): value for table, rows in dump.items() for row, row_cells in rows.items()
            for column, value in row_cells.items()}


def hmac16(handle: str) -> str:
    return hmac.new(KEY.encode(), handle.encode(), hashlib.sha256).hexdigest()[:16]


class Lake:
    def __init__(self, settings, client, name: str):
        self.settings = settings.with_overrides(
            root=f"{settings.root}-pd{name}", table_prefix=f"{settings.table_prefix}pd{name}",
            mr_framework="local", pseudonymize=True, pseudonym_key=Secret(KEY))
        self.client = client
        self.layout = LakeLayout(self.settings.root)
        self.day_reports = {}

    @property
    def root(self) -> str:
        return self.settings.root

    def collect(self, running, domains=DOMAINS, days=DAYS) -> None:
        for day in days:
            for domain in domains:
                collect_one(self.settings, running.url(domain), day)

    def process(self, days=DAYS) -> None:
        for day in days:
            self.day_reports[day] = mapreduce.run(self.settings, [day]).days[0]
            hbase.run(self.settings, [day]).raise_for_failures()

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATALAKE_ROOT": self.root, "HBASE_TABLE_PREFIX": self.settings.table_prefix,
                "DATALAKE_PSEUDONYMIZE": "1", "DATALAKE_PSEUDONYM_KEY": KEY, "DATALAKE_MR_FRAMEWORK": "local",
                "PYTHONPATH": str(REPO_ROOT)}

    def drop(self) -> None:
        if os.environ.get("DATALAKE_KEEP_TEST_DATA"):
            return
        drop_tables(self.settings.hbase_host, self.settings.hbase_port, self.settings.table_prefix)
        self.client.delete(self.root, recursive=True)


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def federation():
    return _federation()


@pytest.fixture(scope="module")
def person(federation):
    account = _pick_person(federation)
    handle = f"{account.username.lower()}@{account.origin}"
    return {"account": account, "handle": handle, "url": account.url, "uri": account.uri,
            "user_key": hmac16(handle), "username": account.username}


def _served(federation, domain, day) -> list[dict]:
    return federation.statuses(domain, day)


def _theirs(status: dict, person) -> bool:
    return status["account"]["url"] == person["url"]


@pytest.fixture(scope="module")
def injected(federation, person):
    """Bad raw lines added to alpha's partition of DAY1 (all quarantined by curate):
    their status truncated, their status without content, someone else's status without content
    that mentions them, and an unrelated truncated line."""
    served = federation.raw_statuses("alpha.example", DAY1)
    theirs = next(raw for raw in served if _theirs(json.loads(raw), person))
    others = [json.loads(raw) for raw in served if not _theirs(json.loads(raw), person)
              and not any(m["url"] == person["url"] for m in json.loads(raw)["mentions"])]
    without_content = json.loads(theirs)
    del without_content["content"]
    mentioning = dict(others[0])
    del mentioning["content"]
    mentioning["mentions"] = [{"id": "1", "username": person["username"], "url": person["url"],
                               "acct": person["username"]}]
    mentioning["spoiler_text"] = f"cc @{person['handle']}"
    lines = {"their_truncated": theirs[:400], "their_without_content": json.dumps(without_content).encode(),
             "mentioning_without_content": json.dumps(mentioning).encode(),
             "unrelated_truncated": json.dumps(others[1]).encode()[:300]}
    assert person["handle"].encode() not in lines["unrelated_truncated"]
    return lines


@pytest.fixture(scope="module")
def lakes(settings, hdfs_client, federation, person, injected):
    """Lake A (everyone, + bad lines) and lake B (without the person), collected and processed."""
    lake_a, lake_b = Lake(settings, hdfs_client, "a"), Lake(settings, hdfs_client, "b")
    try:
        with federation.serve() as running:
            lake_a.collect(running)
        partition = lake_a.layout.raw_partition("alpha.example", DAY1)
        write_atomic(hdfs_client, posixpath.join(partition, INJECTED),
                     gzip.compress(b"\n".join(injected.values()) + b"\n"))
        lake_a.process()
        clean = _federation(WithoutPerson, person_url=person["url"])
        with clean.serve() as running:
            lake_b.collect(running)
        lake_b.process()
        yield lake_a, lake_b
    finally:
        lake_a.drop()
        lake_b.drop()


def _identifiers(federation) -> dict[str, set[str]]:
    """Every handle, username and profile URL of the accounts whose statuses were served."""
    handles, usernames, urls = set(), set(), set()
    for day in DAYS:
        for domain in DOMAINS:
            for status in federation.statuses(domain, day):
                account = status["account"]
                acct = account["acct"].lower()
                handles.add(acct if "@" in acct else f"{acct}@{domain}")
                usernames.add(account["username"].lower())
                urls.update({account["url"].lower(), account["uri"].lower()})
    return {"handles": handles, "usernames": usernames, "urls": urls}


def _found(text: str, words: set[str], whole_word: bool) -> set[str]:
    text = text.lower()
    if not whole_word:
        return {word for word in words if word in text}
    return {word for word in words if re.search(rf"(?<![a-z0-9_]){re.escape(word)}(?![a-z0-9_])", text)}


# ---------------------------------------------------------------------------------------------- pseudonyms


def test_no_handle_username_or_account_url_in_curated_aggregates_or_hbase(lakes, federation, hdfs_client):
    lake_a, _ = lakes
    identifiers = _identifiers(federation)
    raw = b"\n".join(hdfs_dump(hdfs_client, lake_a.root, "raw").values()).decode("utf-8", "replace")
    # the search finds them where they are: the raw zone holds every one of them
    assert _found(raw, identifiers["handles"], False)
    assert _found(raw, identifiers["urls"], False) == identifiers["urls"]
    assert _found(raw, identifiers["usernames"], True) == identifiers["usernames"]

    analytic = {"curated": hdfs_dump(hdfs_client, lake_a.root, "curated"),
                "aggregates": hdfs_dump(hdfs_client, lake_a.root, "aggregates"),
                "loader manifests": hdfs_dump(hdfs_client, lake_a.root, "state/hbase")}
    dump = hbase_dump(lake_a.settings)
    texts = {name: b"\n".join(files.values()).decode() for name, files in analytic.items()}
    texts["HBase"] = hbase_text(dump)
    assert all(texts.values()) and sum(len(rows) for rows in dump.values()) > 100
    for name, text in texts.items():
        assert not _found(text, identifiers["handles"], False), f"{name} holds handles"
        assert not _found(text, identifiers["urls"], False), f"{name} holds account URLs"
        assert not _found(text, identifiers["usernames"], True), \
            f"{name} holds usernames: {sorted(_found(text, identifiers['usernames'], True))[:10]}"
        assert KEY not in text
    # the users are there, under the HMAC of their handle computed here with the hmac module
    user_rows = {row.decode() for row in dump["user_table"]}
    assert user_rows and all(re.fullmatch(r"[0-9a-f]{16}", row) for row in user_rows)
    assert user_rows <= {hmac16(handle) for handle in identifiers["handles"]}


def test_noindex_accounts_are_absent_and_counted(lakes, federation, hdfs_client):
    lake_a, _ = lakes
    dump = hbase_dump(lake_a.settings)
    user_rows = {row.decode() for row in dump["user_table"]}
    members = {row.decode().split("#", 1)[1] for row in dump["croissance_accounts_table"]}
    for day in DAYS:
        copies = defaultdict(list)
        for domain in DOMAINS:
            for status in federation.statuses(domain, day):
                copies[status["uri"]].append((domain, status))
        opted_out = {uri for uri, served in copies.items() if any(_is_noindex(status) for _, status in served)}
        assert opted_out, f"{day}: the seed gives no noindex status: the test would prove nothing"
        report = lake_a.day_reports[day]
        assert report.noindex_skipped == len(opted_out)
        assert report.job("curate").counter("datalake", "noindex_copies") == sum(len(copies[uri]) for uri in opted_out)
        noindex_keys = set()
        for uri in opted_out:
            for domain, status in copies[uri]:
                acct = status["account"]["acct"].lower()
                noindex_keys.add(hmac16(acct if "@" in acct else f"{acct}@{domain}"))
        indexed_keys = set()
        for uri in set(copies) - opted_out:
            domain, status = copies[uri][0]
            acct = status["account"]["acct"].lower()
            indexed_keys.add(hmac16(acct if "@" in acct else f"{acct}@{domain}"))
        only_noindex = noindex_keys - indexed_keys  # an account that opted out (none posts both ways)
        assert only_noindex
        curated = [json.loads(line) for line in b"\n".join(
            hdfs_dump(hdfs_client, lake_a.root, f"curated/statuses/dt={day}").values()).splitlines() if line]
        assert not {record["user"] for record in curated} & only_noindex
        curated_uris = {record["uri"] for record in curated}
        assert len(curated_uris) == report.curated
        assert not curated_uris & {hmac.new(KEY.encode(), uri.encode(), hashlib.sha256).hexdigest()[:32]
                                   for uri in opted_out}
        assert curated_uris & {hmac.new(KEY.encode(), uri.encode(), hashlib.sha256).hexdigest()[:32]
                               for uri in set(copies) - opted_out}
        assert not (user_rows | members) & only_noindex


# ---------------------------------------------------------------------------------------------- erasure


def _expected_removals(federation, person, injected) -> dict:
    raw = Counter()
    curated = Counter()
    for day in DAYS:
        uris = set()
        for domain in DOMAINS:
            for status in federation.statuses(domain, day):
                if _theirs(status, person):
                    raw[day.isoformat()] += 1
                    uris.add(status["uri"])
        curated[day.isoformat()] = len(uris)
    raw[DAY1.isoformat()] += 2  # the injected truncated line and the one without content
    return {"raw": dict(raw), "curated": dict(curated), "quarantine": {DAY1.isoformat(): 2}}


def _affected_rows(federation, person) -> set[tuple[str, bytes]]:
    """HBase rows the person's statuses count in, computed from the served statuses."""
    rows = set()
    for day in DAYS:
        for domain in DOMAINS:
            for status in federation.statuses(domain, day):
                if not _theirs(status, person):
                    continue
                rows.add(("language_table", ((status.get("language") or "").lower() or "und").encode()))
                rows.update(("tag_table", unicodedata.normalize("NFKC", tag["name"]).lower().encode())
                            for tag in status["tags"])
                rows.update(("url_table", host.encode()) for host in _link_hosts(status["content"]))
                rows.update(("emoji_table", found.encode()) for found in _emojis(status))
                types = {attachment["type"] for attachment in status["media_attachments"]}
                rows.update(("toot_with_media_table", key.encode())
                            for key in (["toot_with_media"] + [f"type:{kind}" for kind in types] if types else []))
                month = status["account"]["created_at"][:7]
                rows.add(("croissance_table", month.encode()))
                rows.add(("croissance_accounts_table", f"{month}#{person['user_key']}".encode()))
                rows.add(("user_table", person["user_key"].encode()))
                # the second wave's tables and the day's own row (its counts change with the day's)
                record = records.curated_record(status, domain, None).record
                app = records.app_key(record["application"])
                rows.update([("app_table", app.encode())] if app else [])
                rows.add(("hour_table", records.utc_hour(record["created_at"]).encode()))
                rows.update(("toot_kind_table", kind.encode()) for kind in records.kind_keys(record))
                rows.update([("sentiment_table", record["sentiment"].encode())] if record["sentiment"] else [])
                rows.update([("instance_table", record["author_host"].encode())] if record["author_host"] else [])
                rows.add(("day_table", day.isoformat().encode()))
    return rows


def _lake_traces(client, lake, person) -> list[str]:
    """Where the person still is: their handle, profile URLs and user key in any file or HBase cell."""
    patterns = [re.escape(person["handle"]), re.escape(person["url"].lower()) + r"(?![\w-])",
                re.escape(person["uri"].lower()) + r"(?![\w-])", re.escape(person["user_key"]),
                r'"acct":\s*"' + re.escape(person["username"].lower()) + '"']
    found = []
    for path, data in hdfs_dump(client, lake.root).items():
        text = data.decode("utf-8", "replace").lower()
        if "instance=alpha.example" not in path and "quarantine" not in path:
            # a bare "acct":"<username>" is the person only in alpha's own partition
            active = patterns[:4]
        else:
            active = patterns
        found += [f"{path}: {pattern}" for pattern in active if re.search(pattern, text)]
    text = hbase_text(hbase_dump(lake.settings)).lower()
    found += [f"HBase: {pattern}" for pattern in patterns[:4] if re.search(pattern, text)]
    return found


def _snapshot(client, lake) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in hdfs_dump(client, lake.root).items()
            if not path.startswith("_work")}


def test_erase_dry_run_from_the_command_line_changes_nothing(lakes, person, federation, injected, hdfs_client):
    lake_a, _ = lakes
    assert _lake_traces(hdfs_client, lake_a, person), "the person must be in the lake before the erasure"
    files_before, hbase_before = _snapshot(hdfs_client, lake_a), hbase_dump(lake_a.settings)
    handle_as_typed = "@" + person["account"].username + "@" + person["account"].origin.upper()
    result = subprocess.run([sys.executable, "-m", "privacy", "erase", "--handle", handle_as_typed, "--dry-run",
                             "--json"], env=lake_a.env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected = _expected_removals(federation, person, injected)
    assert report["dry_run"] and report["handle"] == person["handle"]
    assert report["removed"] == expected
    assert report["days_recomputed"] == report["days_reloaded"] == [day.isoformat() for day in DAYS]
    assert report["erasure_list"] == "would be recorded"
    assert _snapshot(hdfs_client, lake_a) == files_before
    assert hbase_dump(lake_a.settings) == hbase_before
    # the log (stderr) names the erasure-list entry, never the person; the key is nowhere
    assert person["handle"] not in result.stderr and person["user_key"] not in result.stderr
    assert erasure_digest(person["handle"], KEY.encode())[:12] in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_erasure_leaves_no_trace_and_equals_a_clean_run_without_the_person(lakes, person, federation, injected,
                                                                           hdfs_client):
    lake_a, lake_b = lakes
    hbase_before = hbase_dump(lake_a.settings)
    raw_names_before = sorted(path for path in _snapshot(hdfs_client, lake_a)
                              if path.startswith(("raw", "state/mastodon")))
    checkpoints_before = hdfs_dump(hdfs_client, lake_a.root, "state/mastodon")

    with _LogRecords() as logged:
        report = erase_handle(lake_a.settings, person["handle"])

    # the logs (Airflow task logs when the DAG re-applies the list) name the erasure-list entry only
    logs = "\n".join(logged.messages)
    assert f"erasure (erasure entry {erasure_digest(person['handle'], KEY.encode())[:12]})" in logs
    assert person["handle"] not in logs.lower() and person["user_key"] not in logs and KEY not in logs
    for day in DAYS:  # the MapReduce job logs of the recomputed days
        for job_log in (Path(lake_a.settings.mr_log_dir) / day.isoformat()).glob("*.log"):
            assert person["handle"] not in job_log.read_text(errors="replace").lower(), job_log

    # no trace of them anywhere: raw, quarantine, curated, aggregates, manifests, HBase
    assert _lake_traces(hdfs_client, lake_a, person) == []

    # what it reports
    expected = _expected_removals(federation, person, injected)
    assert {zone: report.removed(zone) for zone in ("raw", "curated", "quarantine")} == expected
    assert report.redacted("quarantine") == 1 and report.redacted("raw") >= 1  # mentions of them by others
    assert report.days_recomputed == report.days_reloaded == [day.isoformat() for day in DAYS]
    assert report.hbase_rows_before == {"user_table": 1, "croissance_accounts_table": 1}
    assert report.hbase_rows_removed == {"user_table": 1, "croissance_accounts_table": 1}
    assert report.hbase_rows_deleted == {} and report.warnings == []
    assert report.hbase_compacted == ["user_table", "croissance_accounts_table"]
    assert report.erasure_list == "recorded" and report.passes == 1
    assert report.files_rewritten == len({change.path for change in report.changes})

    erasure_list = hdfs_dump(hdfs_client, lake_a.root, "state/privacy")["state/privacy/erasure-list.json"]
    assert erasure_digest(person["handle"], KEY.encode()).encode() in erasure_list
    assert json.loads(erasure_list)["entries"][erasure_digest(person["handle"], KEY.encode())]["completed_at"]

    # HBase is exactly the clean run's, and only cells their statuses counted in changed
    hbase_after = hbase_dump(lake_a.settings)
    assert hbase_after == hbase_dump(lake_b.settings)
    before, after = cells(hbase_before), cells(hbase_after)
    changed_rows = {(table, row) for (table, row, column) in set(before) | set(after)
                    if before.get((table, row, column)) != after.get((table, row, column))}
    assert changed_rows and changed_rows <= _affected_rows(federation, person)
    assert ("user_table", person["user_key"].encode()) in changed_rows

    # the zones are the clean run's: same curated records, same aggregates, same statuses in raw
    for zone in ("curated", "aggregates"):
        assert zone_lines(hdfs_client, lake_a.root, zone) == zone_lines(hdfs_client, lake_b.root, zone), zone
    for partition, lines in zone_lines(hdfs_client, lake_b.root, "raw").items():
        uris_a = {json.loads(line)["uri"] for path, data in hdfs_dump(hdfs_client, lake_a.root, partition).items()
                  if not path.endswith(INJECTED) and not posixpath.basename(path).startswith(("_", "."))  # id sidecars
                  for line in data.splitlines()}
        assert uris_a == {json.loads(line)["uri"] for line in lines}, partition

    # quarantine: their two bad lines gone, the mention redacted, the unrelated line untouched
    quarantine = [json.loads(line) for lines in zone_lines(hdfs_client, lake_a.root, "quarantine").values()
                  for line in lines]
    assert len(quarantine) == 2
    by_reason = {record["reason"]: record["line"] for record in quarantine}
    assert by_reason["bad_json"] == injected["unrelated_truncated"].decode()
    assert "[erased]" in by_reason["missing_field:content"]

    # the collector's parts and checkpoints are as they were: a new collection fetches nothing again
    assert sorted(path for path in _snapshot(hdfs_client, lake_a)
                  if path.startswith(("raw", "state/mastodon"))) == raw_names_before
    assert hdfs_dump(hdfs_client, lake_a.root, "state/mastodon") == checkpoints_before
    with federation.serve() as running:
        again = collect_one(lake_a.settings, running.url("alpha.example"), DAY1)
    assert again.statuses_written == 0 and not again.parts
    assert _lake_traces(hdfs_client, lake_a, person) == []

    # a second erasure finds nothing and changes nothing
    files_now, hbase_now = _snapshot(hdfs_client, lake_a), hbase_dump(lake_a.settings)
    second = erase_handle(lake_a.settings, person["handle"])
    assert second.files_rewritten == 0 and second.days_recomputed == [] and second.hbase_rows_removed == {}
    assert second.erasure_list == "already listed"
    assert hbase_dump(lake_a.settings) == hbase_now
    assert {path: digest for path, digest in _snapshot(hdfs_client, lake_a).items()
            if path != "state/privacy/erasure-list.json"} == \
           {path: digest for path, digest in files_now.items() if path != "state/privacy/erasure-list.json"}


def test_the_erasure_list_erases_them_again_after_a_recollection(lakes, person, federation, hdfs_client):
    lake_a, lake_b = lakes
    # an older day collected again from scratch (its partition deleted, as by the raw retention, then a
    # backfill of the day): the collector fetches the whole day again, the person's statuses with it
    hdfs_client.delete(lake_a.layout.raw_partition("alpha.example", DAY1), recursive=True)
    with federation.serve() as running:
        collected = collect_one(lake_a.settings, running.url("alpha.example"), DAY1)
    served = federation.statuses("alpha.example", DAY1)
    assert collected.statuses_written == len(served)
    lake_a.process([DAY1])
    # curate left them out: no analytic zone and no HBase cell holds them, before reapply_erasures ran
    their_copies = sum(_theirs(status, person) for status in served)  # the other instances' copies are erased
    assert lake_a.day_reports[DAY1].job("curate").counter("datalake", "erased_lines") == their_copies > 0
    assert person["user_key"].encode() not in hbase_dump(lake_a.settings)["user_table"]
    traces = _lake_traces(hdfs_client, lake_a, person)
    assert traces and all(trace.startswith("raw/") for trace in traces), traces
    assert hbase_dump(lake_a.settings) == hbase_dump(lake_b.settings)

    # what the DAG's reapply_erasures task does after load_hbase: the raw zone
    report = reapply_erasures(lake_a.settings, [DAY1])
    assert report.entries == 1 and report.incomplete == 0 and len(report.found) == 1
    found = report.found[0]
    assert found.days == [DAY1.isoformat()]
    assert found.removed("raw") == {DAY1.isoformat(): sum(_theirs(status, person) for status in served)}
    text = report.format() + json.dumps(report.to_dict())
    assert person["handle"] not in text and person["user_key"] not in text  # it goes to the task log and XCom
    assert _lake_traces(hdfs_client, lake_a, person) == []
    assert hbase_dump(lake_a.settings) == hbase_dump(lake_b.settings)
    # nothing to do on a day without them
    assert reapply_erasures(lake_a.settings, [DAY2]).found == []
