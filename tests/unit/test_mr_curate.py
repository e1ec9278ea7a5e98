"""The curate job run through mrjob on raw files of two instances; the expected curated records,
quarantine records and counters are written out by hand."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from mapreduce.hadoop import package_zip
from mapreduce.mr_curate import MRCurate
from tests.fixtures.mapreduce.statuses import DELETE, hashtag, line, link, modified, poll, status

ANN_1 = "https://alpha.example/users/ann/statuses/1"
BOB_1 = "https://beta.example/users/bob/statuses/7"
GAMMA = "https://gamma.example/users/gil/statuses/3"
DELTA = "https://delta.example/users/dot/statuses/4"
NOINDEX = "https://alpha.example/users/shy/statuses/5"

ALPHA = [
    # ann's status on her own instance: the origin copy wins whatever the other copies say, and only
    # it shows the application (Mastodon hides it on remote copies)
    status(local_id="113500000000000001", uri=ANN_1, acct="Ann", host="alpha.example", language="EN", followers=12,
           favourites=3, reblogs=2, replies=1, tags=["Python"], media=["image"], application="  Elk  ",
           content="<p>" + link("https://www.Example.com/a") + " 😀 " + hashtag("Python", "alpha.example") + "</p>"),
    # a gamma status as alpha sees it: fewer interactions than beta's copy
    status(local_id="113500000000000002", uri=GAMMA, acct="gil@gamma.example", host="alpha.example",
           created_at="2026-11-18T08:00:00.000Z", favourites=1, followers=40, language=None),
    # a delta status, same interactions on alpha and beta: the smaller raw line wins (alpha's id is smaller)
    status(local_id="113500000000000003", uri=DELTA, acct="dot@delta.example", host="alpha.example",
           created_at="2026-11-18T09:00:00.000Z", favourites=2, followers=7, account_created_at=None),
    # an account that opted out of indexing (#NoBot in its note)
    status(local_id="113500000000000004", uri=NOINDEX, acct="shy", host="alpha.example",
           note="<p>" + hashtag("NoBot", "alpha.example") + "</p>"),
]
BETA = [
    status(local_id="113600000000000001", uri=ANN_1, acct="ann@alpha.example", host="beta.example", language="EN",
           followers=11, favourites=30, reblogs=2, replies=1, tags=["Python"], media=["image"],
           content="<p>" + link("https://www.Example.com/a") + " 😀 " + hashtag("Python", "beta.example") + "</p>"),
    # a reply with a content warning and a poll, posted from a client that sends no application
    status(local_id="113600000000000002", uri=BOB_1, acct="bob", host="beta.example", language="zh-TW",
           followers=0, content="<p>hello</p>", account_created_at="2025-01-15T00:00:00.000Z",
           tags=["日本語"], emojis=["blobcat"], media=["video", "gifv"], spoiler_text="lunch", poll=poll("a", "b"),
           in_reply_to_id="113600000000000000"),
    status(local_id="113600000000000003", uri=GAMMA, acct="gil@gamma.example", host="beta.example",
           created_at="2026-11-18T08:00:00.000Z", favourites=5, followers=41, language=None),
    status(local_id="113600000000000004", uri=DELTA, acct="dot@delta.example", host="beta.example",
           created_at="2026-11-18T09:00:00.000Z", favourites=2, followers=8, account_created_at=None),
    status(local_id="113600000000000005", uri=NOINDEX, acct="shy@alpha.example", host="beta.example",
           note="<p>just a note</p>"),
]
TRUNCATED = line(ALPHA[0])[:120]
NO_ACCOUNT = line(modified(ALPHA[0], uri="https://alpha.example/users/ann/statuses/99", account=DELETE))
NOT_UTF8 = b'{"uri": "https://beta.example/x", "content": "\xff\xfe"}'


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw")
    for instance, statuses, extra in (("alpha.example", ALPHA, [TRUNCATED, NO_ACCOUNT]), ("beta.example", BETA, [NOT_UTF8])):
        partition = root / f"instance={instance}" / "dt=2026-11-18"
        partition.mkdir(parents=True)
        (partition / "part-1-9.jsonl").write_bytes(b"\n".join([line(s) for s in statuses] + extra) + b"\n")
    return root


def run_curate(raw_dir, *args, runner="inline", inputs=None):
    inputs = inputs or [str(raw_dir / "instance=alpha.example" / "dt=2026-11-18"),
                        str(raw_dir / "instance=beta.example" / "dt=2026-11-18")]
    extra = ["--py-files", package_zip(raw_dir / "py-files")] if runner == "local" else []
    job = MRCurate(args=["-r", runner, "--no-conf", *extra, *args, *inputs])
    with job.make_runner() as job_runner:
        job_runner.run()
        output = {"curated": [], "quarantine": []}
        for directory, record in job.parse_output(job_runner.cat_output()):
            output[directory].append(record)
        counters = job_runner.counters()[0]["datalake"]
    return output, counters


EXPECTED_CURATED = sorted([
    {"uri": ANN_1, "created_at": "2026-11-18T10:00:00.000Z", "language": "en", "user": "ann@alpha.example",
     "followers": 12, "account_month": "2024-05", "interactions": 6, "link_hosts": ["example.com"],
     "media_types": ["image"], "tags": ["python"], "emojis": ["😀"],
     # the home copy's application, although beta's copy (none) has more interactions
     "application": "Elk", "author_host": "alpha.example", "reply": False, "sensitive": False,
     "content_warning": False, "poll": False, "bot": False, "edited": False,
     # "https:// www.Example.com/a 😀 # Python": 😀 reads "grinning face", 1.5 / sqrt(1.5² + 15) = 0.3612
     "sentiment": "positive", "sentiment_score": 0.3612},
    {"uri": BOB_1, "created_at": "2026-11-18T10:00:00.000Z", "language": "zh-tw", "user": "bob@beta.example",
     "followers": 0, "account_month": "2025-01", "interactions": 0, "link_hosts": [],
     "media_types": ["gifv", "video"], "tags": ["日本語"], "emojis": [":blobcat:"],
     "application": None, "author_host": "beta.example", "reply": True, "sensitive": True,
     "content_warning": True, "poll": True, "bot": False, "edited": False, "sentiment": None, "sentiment_score": None},
    # authors on instances we do not collect: the remote copy that wins decides, and shows no application
    {"uri": GAMMA, "created_at": "2026-11-18T08:00:00.000Z", "language": "und", "user": "gil@gamma.example",
     "followers": 41, "account_month": "2024-05", "interactions": 5, "link_hosts": [],
     "media_types": [], "tags": [], "emojis": [],
     "application": None, "author_host": "gamma.example", "reply": False, "sensitive": False,
     "content_warning": False, "poll": False, "bot": False, "edited": False, "sentiment": None, "sentiment_score": None},
    {"uri": DELTA, "created_at": "2026-11-18T09:00:00.000Z", "language": "en", "user": "dot@delta.example",
     "followers": 7, "account_month": None, "interactions": 2, "link_hosts": [],
     "media_types": [], "tags": [], "emojis": [],
     "application": None, "author_host": "delta.example", "reply": False, "sensitive": False,
     "content_warning": False, "poll": False, "bot": False, "edited": False,
     # "Hello fediverse": neither word is in VADER's lexicon
     "sentiment": "neutral", "sentiment_score": 0.0},
], key=lambda record: record["uri"])


def _sources(raw_dir, instance):
    return f"file://{raw_dir}/instance={instance}/dt=2026-11-18/part-1-9.jsonl"


def test_curate_dedupes_projects_and_quarantines(raw_dir):
    output, counters = run_curate(raw_dir, "--pseudonymize", "0")
    assert sorted(output["curated"], key=lambda record: record["uri"]) == EXPECTED_CURATED
    assert sorted(output["quarantine"], key=lambda record: record["reason"]) == [
        {"reason": "bad_json", "source": _sources(raw_dir, "alpha.example"), "line": TRUNCATED.decode()},
        {"reason": "bad_utf8", "source": _sources(raw_dir, "beta.example"),
         "line": '{"uri": "https://beta.example/x", "content": "\\xff\\xfe"}'},
        {"reason": "missing_field:account", "source": _sources(raw_dir, "alpha.example"), "line": NO_ACCOUNT.decode()},
    ]
    assert counters == {
        "raw_lines": 12, "quarantined": 3, "bad_json": 1, "bad_utf8": 1, "missing_field:account": 1,
        "noindex_lines": 1, "noindex_statuses": 1, "noindex_copies": 2,
        "curated_statuses": 4, "duplicate_copies": 3, "account_month_missing": 1,
    }
    assert counters["raw_lines"] == (counters["quarantined"] + counters["curated_statuses"]
                                     + counters["duplicate_copies"] + counters["noindex_copies"])


def test_combined_input_keyed_by_path_curates_as_one_task_per_part(raw_dir, tmp_path):
    """--combine-input 1 reads what PathLineCombineInputFormat hands the mapper: every line of
    several parts in one task, each as <path>\\t<line>. Same records, quarantine sources and
    counters as one task per part, whose path comes from the job configuration."""
    combined = tmp_path / "combined.txt"
    lines = []
    for instance in ("alpha.example", "beta.example"):
        part = raw_dir / f"instance={instance}" / "dt=2026-11-18" / "part-1-9.jsonl"
        lines += [_sources(raw_dir, instance).encode() + b"\t" + raw for raw in part.read_bytes().splitlines()]
    combined.write_bytes(b"\n".join(lines) + b"\n")
    output, counters = run_curate(raw_dir, "--pseudonymize", "0", "--combine-input", "1", inputs=[str(combined)])
    assert MRCurate(args=["--combine-input", "1"]).hadoop_input_format() == "datalake.mapreduce.PathLineCombineInputFormat"
    one_per_part, counters_per_part = run_curate(raw_dir, "--pseudonymize", "0")
    by_uri = lambda record: record["uri"]  # noqa: E731
    assert sorted(output["curated"], key=by_uri) == sorted(one_per_part["curated"], key=by_uri) == EXPECTED_CURATED
    by_reason = lambda record: record["reason"]  # noqa: E731
    assert sorted(output["quarantine"], key=by_reason) == sorted(one_per_part["quarantine"], key=by_reason)
    assert {record["source"] for record in output["quarantine"]} == {
        _sources(raw_dir, "alpha.example"), _sources(raw_dir, "beta.example")}
    assert counters == counters_per_part
    assert MRCurate(args=["--pseudonymize", "0"]).hadoop_input_format() is None


def test_curate_pseudonymizes_with_the_key_shipped_as_a_file(raw_dir, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(b"test-key")
    output, _ = run_curate(raw_dir, "--files", f"{key_file}#pseudonym.key", runner="local")
    users = {record["uri"]: record["user"] for record in output["curated"]}
    # HMAC-SHA256(b"test-key", handle)[:16] and (uri)[:32], computed once with the hmac module
    assert users["9d4828e39bac6b2e6f75f1b3262f8f9a"] == "e504885da6e59923"  # ANN_1
    assert users["fabe7bf82ea6a26c9c72e92dd2f5c05a"] == "2143b8e0769a28c6"  # BOB_1
    assert not any("@" in user for user in users.values())
    assert "ann@alpha.example" not in json.dumps(output["curated"])
    assert "/users/" not in json.dumps(output["curated"])  # a status uri names its author


def test_curate_leaves_the_people_of_the_erasure_list_out_and_counts_their_lines(tmp_path):
    partition = tmp_path / "instance=beta.example" / "dt=2026-11-18"
    partition.mkdir(parents=True)
    boost = modified(BETA[1], local_id="113600000000000009", uri="https://beta.example/users/bob/statuses/9",
                     reblog=BETA[0])  # bob boosts ann: a boost of an erased person's status goes too
    (partition / "part-1-9.jsonl").write_bytes(b"\n".join(line(s) for s in BETA + [boost]) + b"\n")
    key_file, list_file = tmp_path / "key", tmp_path / "erasure.list"
    key_file.write_bytes(b"test-key")
    # the erasure list's entry of ann: HMAC-SHA256(key, "erasure-list\0ann@alpha.example"), hex
    list_file.write_bytes(hmac.new(b"test-key", b"erasure-list\x00ann@alpha.example", hashlib.sha256)
                          .hexdigest().encode() + b"\n")
    extra = ["--py-files", package_zip(tmp_path / "py-files")]
    job = MRCurate(args=["-r", "local", "--no-conf", *extra, "--pseudonymize", "0", "--erasure-list", "1",
                         "--files", f"{key_file}#pseudonym.key", "--files", f"{list_file}#erasure.list", str(partition)])
    with job.make_runner() as job_runner:
        job_runner.run()
        curated = {record["uri"]: record for _, record in job.parse_output(job_runner.cat_output())}
        counters = job_runner.counters()[0]["datalake"]
    assert sorted(curated) == sorted([BOB_1, GAMMA, DELTA, NOINDEX])  # beta's copy of shy's does not opt out
    assert "ann@alpha.example" not in json.dumps(curated)
    assert counters["erased_lines"] == 2  # her status as beta served it, and bob's boost of it
    assert counters["raw_lines"] == 6 == sum(counters.get(name, 0) for name in (
        "quarantined", "erased_lines", "curated_statuses", "duplicate_copies", "noindex_copies"))


def test_curate_refuses_to_run_without_the_key_when_pseudonymizing(raw_dir):
    with pytest.raises(Exception) as caught:
        run_curate(raw_dir)
    assert "pseudonym.key" in str(caught.value)


def test_malformed_corpus_is_quarantined_with_its_reasons_and_odd_records_are_kept(tmp_path):
    from tests.fixtures.mapreduce.malformed import MALFORMED, ODD_BUT_VALID

    partition = tmp_path / "instance=alpha.example" / "dt=2026-11-18"
    partition.mkdir(parents=True)
    (partition / "part-1-2.jsonl").write_bytes(b"\n".join([bad for bad, _ in MALFORMED] + [odd for odd, _ in ODD_BUT_VALID]) + b"\n")
    job = MRCurate(args=["-r", "inline", "--no-conf", "--pseudonymize", "0", str(partition)])
    with job.make_runner() as job_runner:
        job_runner.run()
        output = list(job.parse_output(job_runner.cat_output()))
        counters = job_runner.counters()[0]["datalake"]
    quarantined = sorted((record["reason"], record["line"]) for directory, record in output if directory == "quarantine")
    assert quarantined == sorted((reason, bad.decode("utf-8", "backslashreplace")) for bad, reason in MALFORMED)
    assert counters["quarantined"] == len(MALFORMED) >= 50
    assert counters["raw_lines"] == len(MALFORMED) + len(ODD_BUT_VALID)
    assert counters["curated_statuses"] == len(ODD_BUT_VALID)
    curated = {record["uri"]: record for directory, record in output if directory == "curated"}
    for odd, expected in ODD_BUT_VALID:
        record = curated[json.loads(odd)["uri"]]
        assert {name: record[name] for name in expected} == expected


def test_bad_keys_are_left_out_of_their_metric_and_counted_per_kind(tmp_path):
    long_host = "h" * 39_990 + ".example"
    hostile = status(local_id="113500000000000009", uri="https://alpha.example/users/eve/statuses/9", acct="eve",
                     host="alpha.example", tags=["t" * 2000, "ok"], emojis=["bad\u0000code"],
                     content="<p>" + link(f"https://{long_host}/") + " " + link("https://fine.example/") + "</p>")
    nameless = status(local_id="113500000000000010", uri="https://alpha.example/users/x/statuses/10",
                      acct="x" * 1100, host="alpha.example", language="de")
    partition = tmp_path / "instance=alpha.example" / "dt=2026-11-18"
    partition.mkdir(parents=True)
    (partition / "part-1-2.jsonl").write_bytes(line(hostile) + b"\n" + line(nameless) + b"\n")
    job = MRCurate(args=["-r", "inline", "--no-conf", "--pseudonymize", "0", str(partition)])
    with job.make_runner() as job_runner:
        job_runner.run()
        curated = {record["uri"]: record for _, record in job.parse_output(job_runner.cat_output())}
        counters = job_runner.counters()[0]["datalake"]
    assert {name: value for name, value in counters.items() if name.startswith("bad_key")} == {
        "bad_key": 4, "bad_key:tag": 1, "bad_key:link_host": 1, "bad_key:emoji": 1, "bad_key:user": 1}
    assert counters["curated_statuses"] == 2 and "quarantined" not in counters
    eve = curated["https://alpha.example/users/eve/statuses/9"]
    assert (eve["tags"], eve["link_hosts"], eve["emojis"], eve["user"]) == (
        ["ok"], ["fine.example"], [], "eve@alpha.example")
    assert curated["https://alpha.example/users/x/statuses/10"]["user"] is None
    assert curated["https://alpha.example/users/x/statuses/10"]["language"] == "de"


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_hostile_corpus_no_crash_each_outcome_as_expected_and_good_records_intact(tmp_path, runner):
    from tests.fixtures.mapreduce.hostile import HOSTILE, check_outcomes

    good = [line(status(local_id=f"1135000000000001{number:02d}", uri=f"https://alpha.example/users/ok/statuses/{number}",
                        acct="ok", host="alpha.example", tags=["python"], media=["image"],
                        content="<p>" + link("https://example.com/") + " 😀</p>")) for number in range(20)]

    def curate(lines):
        partition = tmp_path / f"run{len(lines)}" / "instance=alpha.example" / "dt=2026-11-18"
        partition.mkdir(parents=True)
        (partition / "part-1-2.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        extra = ["--py-files", package_zip(tmp_path / "py-files")] if runner == "local" else []
        job = MRCurate(args=["-r", runner, "--no-conf", *extra, "--pseudonymize", "0", str(partition)])
        with job.make_runner() as job_runner:
            job_runner.run()
            output = {"curated": [], "quarantine": []}
            for directory, record in job.parse_output(job_runner.cat_output()):
                output[directory].append(record)
            return output, job_runner.counters()[0]["datalake"]

    # hostile lines spread among the good ones, none first in the file
    mixed = good[:1] + [value for pair in zip(good[1:], [entry.line for entry in HOSTILE]) for value in pair]
    mixed += [entry.line for entry in HOSTILE[len(good) - 1:]]
    output, counters = curate(mixed)
    figures, problems = check_outcomes(output["quarantine"], output["curated"], counters)
    assert problems == []
    assert sum(figures.values()) == len(HOSTILE) >= 50
    assert counters["raw_lines"] == len(HOSTILE) + len(good)
    assert counters["raw_lines"] == (counters["quarantined"] + counters["curated_statuses"]
                                     + counters.get("duplicate_copies", 0) + counters["noindex_copies"])
    # the good records come out exactly as they do on a day without the hostile ones
    clean, _ = curate(good)
    good_uris = {record["uri"] for record in clean["curated"]}
    assert sorted((r for r in output["curated"] if r["uri"] in good_uris), key=lambda r: r["uri"]) == sorted(
        clean["curated"], key=lambda r: r["uri"])
