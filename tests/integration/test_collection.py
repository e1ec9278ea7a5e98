"""The collector against the stand-in federation and the real HDFS of the local stack.

Expected contents come from the stand-in's ground truth (``Federation.raw_statuses``): the
exact bytes each instance serves for a day, compared with what the raw zone holds.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import os
import posixpath
import signal
import socket
import subprocess
import sys

import pytest

from collection.collector import collect_all, collect_instance, day_interval
from collection.errors import CollectionError
from collection.mastodon_client import RetryPolicy
from collection.rawzone import RawZone, parse_part_name
from collection.snowflake import UTC
from collection.standin import Federation
from datalake.lake import LakeLayout
from datalake.settings import REPO_ROOT, Secret

DAY1, DAY2 = dt.date(2026, 11, 17), dt.date(2026, 11, 18)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
FAST_RETRY = RetryPolicy(attempts=10, initial_backoff=0.05, max_backoff=0.5)
TOKEN = "tok-9f3c1e7a-NEVER-PRINT-ME"


@pytest.fixture(scope="module")
def federation() -> Federation:
    return Federation(seed=11, domains=DOMAINS, start=DAY1, days=2, statuses_per_day=320)


@pytest.fixture
def lake(settings, request):
    """Settings with a lake root of this test's own, under the session's test root."""
    return settings.with_overrides(root=posixpath.join(settings.root, "collection", request.node.name))


# --- reading the raw zone back ---------------------------------------------------------------

def partition_lines(client, lake, domain: str, day: dt.date) -> list[bytes]:
    """Every line of a raw partition's finished parts, in id order; asserts names match contents."""
    directory = LakeLayout(lake.root).raw_partition(domain, day)
    if client.status(directory, strict=False) is None:
        return []
    lines = []
    parts = sorted((parse_part_name(name), name) for name in client.list(directory) if parse_part_name(name))
    for (first_id, last_id), name in parts:
        with client.read(posixpath.join(directory, name)) as reader:
            part_lines = gzip.decompress(reader.read()).splitlines()
        ids = [int(json.loads(line)["id"]) for line in part_lines]
        assert (ids[0], ids[-1]) == (first_id, last_id), name
        lines.extend(part_lines)
    return lines


def all_files(client, root: str) -> dict[str, tuple]:
    """path -> (file id, length, modification time) of every file under root: what a rewrite changes."""
    files = {}
    if client.status(root, strict=False) is None:
        return files
    for directory, _, names in client.walk(root):
        for name in names:
            path = posixpath.join(directory, name)
            status = client.status(path)
            files[path] = (status["fileId"], status["length"], status["modificationTime"])
    return files


def checkpoint(client, lake, domain: str) -> dict:
    with client.read(LakeLayout(lake.root).checkpoint(domain)) as reader:
        return json.loads(reader.read())


def assert_exactly_the_days(client, lake, federation, domains=DOMAINS, days=(DAY1, DAY2), timeline="public"):
    for domain in domains:
        for day in days:
            got = partition_lines(client, lake, domain, day)
            expected = federation.raw_statuses(domain, day, timeline)
            assert len(got) == len(expected), (domain, day)
            assert got == expected, (domain, day)


def run_cli(lake, *args, env=None, **popen) -> subprocess.Popen:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("MASTODON_")}
    environment.update(DATALAKE_ROOT=lake.root, DATALAKE_WEBHDFS_URL=lake.webhdfs_url,
                       DATALAKE_HDFS_USER=lake.hdfs_user, PYTHONPATH=str(REPO_ROOT), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "collection", *args], cwd=REPO_ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


# --- what issue 4 must show ------------------------------------------------------------------

def test_two_consecutive_days_land_exactly_once_with_documented_checkpoints(lake, hdfs_client, federation):
    with federation.serve() as running:
        lake = lake.with_overrides(instances=tuple(running.urls.values()))
        day1 = collect_all(lake, *day_interval(DAY1), part_size=100)
        day2 = collect_all(lake, *day_interval(DAY2), part_size=100)
        assert_exactly_the_days(hdfs_client, lake, federation)
        for result_day1, result_day2, domain in zip(day1, day2, DOMAINS):
            assert result_day1.instance == domain and result_day1.base_url == running.url(domain)
            assert result_day1.statuses == len(federation.raw_statuses(domain, DAY1))
            assert result_day2.statuses == len(federation.raw_statuses(domain, DAY2))
            assert result_day1.parts_written >= 2 and not result_day1.stopped_by_max_pages
            assert result_day2.high_water_id_before == result_day1.high_water_id_after
            record = checkpoint(hdfs_client, lake, domain)
            assert set(record) == {"instance", "base_url", "high_water_id", "updated_at"}
            assert record["instance"] == domain and record["base_url"] == running.url(domain)
            assert record["high_water_id"] == federation.statuses(domain, DAY2)[-1]["id"]
            assert record["high_water_id"] == result_day2.high_water_id_after
            dt.datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
        # nothing else was written: no temporary files, no third partition
        files = all_files(hdfs_client, lake.root)
        assert not [path for path in files if "/_tmp." in path]
        assert {path.split("/dt=")[1][:10] for path in files if "/raw/" in path} == {"2026-11-17", "2026-11-18"}

        # rerunning complete days changes nothing
        again = collect_all(lake, *day_interval(DAY1)) + collect_all(lake, *day_interval(DAY2))
        assert [result.statuses for result in again] == [0] * 6
        assert all_files(hdfs_client, lake.root) == files


def test_a_killed_run_rerun_gives_exactly_the_statuses_it_would_have_had(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("beta.example")
        running.configure("beta.example", latency=0.25)  # slow pages, so that the kill lands mid-run
        process = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", url, "--part-size", "40")
        written = 0
        for line in process.stderr:
            if " wrote " in line:
                written += 1
                if written == 2:
                    process.send_signal(signal.SIGKILL)
                    break
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        partial = partition_lines(hdfs_client, lake, "beta.example", DAY1)
        expected = federation.raw_statuses("beta.example", DAY1)
        assert 80 <= len(partial) < len(expected)  # the kill did land in the middle
        assert partial == expected[:len(partial)]

        running.configure("beta.example", latency=0.0)
        rerun = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", url, "--part-size", "40")
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        assert "resuming the interval after id" in err
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == expected
    assert checkpoint(hdfs_client, lake, "beta.example")["high_water_id"] == json.loads(expected[-1])["id"]
    assert not [path for path in all_files(hdfs_client, lake.root) if "/_tmp." in path]


def test_a_crash_between_a_part_and_its_checkpoint_loses_and_repeats_nothing(lake, hdfs_client, federation,
                                                                              monkeypatch):
    real_write_checkpoint = RawZone.write_checkpoint
    calls = []

    def crash_on_second_checkpoint(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("injected crash after the part was renamed into place")
        return real_write_checkpoint(self, *args, **kwargs)

    with federation.serve() as running:
        url = running.url("gamma.example")
        monkeypatch.setattr(RawZone, "write_checkpoint", crash_on_second_checkpoint)
        with pytest.raises(RuntimeError, match="injected crash"):
            collect_instance(lake, url, *day_interval(DAY1), part_size=60)
        monkeypatch.setattr(RawZone, "write_checkpoint", real_write_checkpoint)
        written = partition_lines(hdfs_client, lake, "gamma.example", DAY1)
        stale = checkpoint(hdfs_client, lake, "gamma.example")["high_water_id"]
        assert len(written) == 120 and stale == json.loads(written[59])["id"]  # the 2nd part is ahead of it

        result = collect_instance(lake, url, *day_interval(DAY1), part_size=60)
    expected = federation.raw_statuses("gamma.example", DAY1)
    assert result.high_water_id_before == stale
    assert result.statuses == len(expected) - 120
    assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected


def test_leftovers_of_a_killed_writer_are_removed_and_do_not_count(lake, hdfs_client, federation):
    layout = LakeLayout(lake.root)
    partition = layout.raw_partition("alpha.example", DAY1)
    expected = federation.raw_statuses("alpha.example", DAY1)
    # what a writer killed before its rename leaves: a temporary part, and a temporary checkpoint
    hdfs_client.write(posixpath.join(partition, "_tmp.part-1-2.jsonl.gz.0123456789ab"), data=b"half a part")
    hdfs_client.write(posixpath.dirname(layout.checkpoint("alpha.example")) + "/_tmp.checkpoint.json.0123456789ab",
                      data=b"{")
    with federation.serve() as running:
        collect_instance(lake, running.url("alpha.example"), *day_interval(DAY1))
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == expected
    assert not [path for path in all_files(hdfs_client, lake.root) if "/_tmp." in path]


def test_low_rate_limit_and_30_percent_5xx_complete_with_waits_and_retries_in_the_log(lake, hdfs_client,
                                                                                    federation, caplog):
    caplog.set_level(logging.INFO, logger="collection")
    with federation.serve() as running:
        running.configure("alpha.example", rate_limit=4, rate_window=1.0, error_rate=0.3)
        result = collect_instance(lake, running.url("alpha.example"), *day_interval(DAY1), retry=FAST_RETRY)
        stats = running.stats("alpha.example")
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)
    assert stats["rate_limited"] >= 1 and stats["errors_injected"] >= 1  # the faults did happen
    messages = [record.getMessage() for record in caplog.records]
    waits = [m for m in messages if "rate limit reached (4 requests per window): waiting" in m]
    retries = [record for record in caplog.records if record.levelno == logging.WARNING
               and "retrying in" in record.getMessage()]
    assert len(waits) == stats["rate_limited"] == result.rate_limit_waits
    assert len(retries) == stats["errors_injected"] == result.retries
    assert all(" (attempt " in record.getMessage() and " of 10)" in record.getMessage() for record in retries)
    assert any("HTTP 50" in record.getMessage() for record in retries)


def test_slow_answers_time_out_and_are_retried(lake, hdfs_client, federation, caplog):
    caplog.set_level(logging.WARNING, logger="collection")
    with federation.serve() as running:
        running.configure("beta.example", latency=3.0, slow_rate=0.3)
        collect_instance(lake, running.url("beta.example"), *day_interval(DAY1), retry=FAST_RETRY,
                         request_timeout=1.0)
        slowed = running.stats("beta.example")["slowed"]
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == federation.raw_statuses("beta.example", DAY1)
    timeouts = [r for r in caplog.records if "timeout" in r.getMessage() and "retrying in" in r.getMessage()]
    assert slowed >= 1 and len(timeouts) >= slowed  # every slowed answer came too late, and was retried


def test_a_refused_timeline_names_the_instance_and_the_fix_while_the_others_complete(lake, hdfs_client, federation):
    with federation.serve(faults={"beta.example": {"refuse_public": 422}}) as running:
        lake = lake.with_overrides(instances=tuple(running.urls.values()))
        with pytest.raises(CollectionError) as failure:
            collect_all(lake, *day_interval(DAY1))
        beta_url = running.url("beta.example")
    message = str(failure.value)
    assert message.startswith("1 of 3 instances failed: ")
    assert f"instance {beta_url} (beta.example): the public timeline is refused with HTTP 422" in message
    for fix in ("MASTODON_ACCESS_TOKEN", "mastodon_default", "MASTODON_TIMELINE=local", "tag:<name>"):
        assert fix in message
    outcomes = failure.value.outcomes
    assert [type(outcome).__name__ for outcome in outcomes] == ["CollectionResult", "CollectionError",
                                                                "CollectionResult"]
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("alpha.example", "gamma.example"), days=(DAY1,))
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == []


def test_the_local_timeline_or_a_token_gets_past_a_refused_public_timeline(lake, hdfs_client, federation):
    with federation.serve(faults={"beta.example": {"refuse_public": 403, "access_token": TOKEN}}) as running:
        url = running.url("beta.example")
        local = lake.with_overrides(timeline="local", root=lake.root + "/local")
        collect_instance(local, url, *day_interval(DAY1))
        authorized = lake.with_overrides(access_token=Secret(TOKEN), root=lake.root + "/token")
        collect_instance(authorized, url, *day_interval(DAY1))
        assert running.stats("beta.example")["authenticated_requests"] >= 2
    assert_exactly_the_days(hdfs_client, local, federation, domains=("beta.example",), days=(DAY1,), timeline="local")
    assert_exactly_the_days(hdfs_client, authorized, federation, domains=("beta.example",), days=(DAY1,))


def test_a_hashtag_timeline_by_configuration(lake, hdfs_client, federation):
    tagged = lake.with_overrides(timeline="tag:Python")
    with federation.serve() as running:
        result = collect_instance(tagged, running.url("gamma.example"), *day_interval(DAY1))
    assert result.timeline == "tag:Python" and result.statuses > 0
    assert_exactly_the_days(hdfs_client, tagged, federation, domains=("gamma.example",), days=(DAY1,),
                            timeline="tag:python")


def test_the_token_never_appears_in_logs_output_or_hdfs(lake, hdfs_client, federation, caplog):
    caplog.set_level(logging.DEBUG)
    with federation.serve(faults={"*": {"refuse_public": 401, "access_token": TOKEN}}) as running:
        url = running.url("alpha.example")
        process = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", url, "--verbose",
                          env={"MASTODON_ACCESS_TOKEN": TOKEN})
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert running.stats("alpha.example")["authenticated_requests"] > 0  # the token was sent
        # a wrong token: the error says so, without either token
        wrong = "tok-WRONG-" + TOKEN[::-1]
        with pytest.raises(CollectionError) as failure:
            collect_instance(lake.with_overrides(access_token=Secret(wrong)), url, *day_interval(DAY2))
        assert "access token was not accepted" in str(failure.value)
        assert wrong not in str(failure.value) and TOKEN not in str(failure.value)
        # and a run in this process with every logger at DEBUG
        collect_instance(lake.with_overrides(access_token=Secret(TOKEN)), url, *day_interval(DAY2))
    assert "alpha.example" in out and "complete" in out
    assert "GET /api/v1/timelines/public" in err  # -v really logged each request
    assert TOKEN not in out and TOKEN not in err
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /api/v1/timelines/public" in logged
    assert TOKEN not in logged and wrong not in logged
    files = all_files(hdfs_client, lake.root)
    assert len(files) >= 3
    for path in files:
        with hdfs_client.read(path) as reader:
            data = reader.read()
        text = gzip.decompress(data) if path.endswith(".gz") else data
        assert TOKEN.encode() not in text and TOKEN.encode() not in data, path
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("alpha.example",))


def test_a_dead_instance_fails_clearly(lake):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CollectionError) as failure:
        collect_instance(lake, f"http://127.0.0.1:{port}", *day_interval(DAY1),
                         retry=RetryPolicy(attempts=2, initial_backoff=0.01))
    message = str(failure.value)
    assert message.startswith(f"instance http://127.0.0.1:{port}: ")
    assert "connection refused" in message and "failed 2 times" in message
    assert "check that the URL in MASTODON_INSTANCES is right and that the server is up" in message


def test_max_pages_stops_a_run_and_the_next_run_continues(lake, hdfs_client, federation):
    expected = federation.raw_statuses("gamma.example", DAY1)
    with federation.serve() as running:
        url = running.url("gamma.example")
        first = collect_instance(lake, url, *day_interval(DAY1), max_pages=2, part_size=50)
        assert first.stopped_by_max_pages and first.pages == 2 and first.statuses == 80
        assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected[:80]
        rest = collect_instance(lake, url, *day_interval(DAY1), part_size=50)
    assert not rest.stopped_by_max_pages and rest.statuses == len(expected) - 80
    assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected


def test_a_day_collected_while_it_goes_on_is_completed_by_the_next_run(lake, hdfs_client, federation):
    noon = dt.datetime(2026, 11, 17, 12, tzinfo=UTC)
    with federation.serve(now=noon) as running:
        url = running.url("alpha.example")
        morning = collect_instance(lake, url, *day_interval(DAY1))
        assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == \
            federation.raw_statuses("alpha.example", DAY1, until=noon)
        running.set_now(federation.end)
        afternoon = collect_instance(lake, url, *day_interval(DAY1))
    assert morning.statuses > 0 and afternoon.statuses > 0
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)


def test_an_older_day_rerun_after_a_later_one_is_completed_and_the_checkpoint_stays(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("beta.example")
        collect_instance(lake, url, *day_interval(DAY1), max_pages=1)  # day 1 stops early...
        collect_instance(lake, url, *day_interval(DAY2))  # ...day 2 runs...
        after_day2 = checkpoint(hdfs_client, lake, "beta.example")["high_water_id"]
        rerun = collect_instance(lake, url, *day_interval(DAY1))  # ...and day 1 is run again
    assert rerun.statuses == len(federation.raw_statuses("beta.example", DAY1)) - 40
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("beta.example",))
    assert checkpoint(hdfs_client, lake, "beta.example")["high_water_id"] == after_day2


def test_an_interval_of_two_days_fills_two_partitions(lake, hdfs_client, federation):
    start, end = dt.datetime(2026, 11, 17, tzinfo=UTC), dt.datetime(2026, 11, 19, tzinfo=UTC)
    with federation.serve() as running:
        result = collect_instance(lake, running.url("gamma.example"), start, end, part_size=1000)
    assert result.parts_written == 2  # a part never spans two days
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("gamma.example",))


def test_an_instance_without_api_v2_is_named_by_its_v1_uri(lake, hdfs_client, federation):
    with federation.serve(faults={"alpha.example": {"legacy_instance_api": True}}) as running:
        result = collect_instance(lake, running.url("alpha.example") + "/", *day_interval(DAY1))
    assert result.instance == "alpha.example"
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)


def test_the_cli_prints_progress_on_stderr_and_a_summary_on_stdout(lake, federation):
    with federation.serve() as running:
        process = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", running.url("alpha.example"),
                          "--instance", running.url("gamma.example"), "--progress-every", "0")
        out, err = process.communicate(timeout=120)
        status = run_cli(lake, "status", "--date", DAY1.isoformat())
        status_out, status_err = status.communicate(timeout=60)
    assert process.returncode == 0, err
    assert " pages, " in err and " statuses/s" in err and "statuses/s, reached 2026-11-17T" in err
    assert out.splitlines()[0].split() == ["instance", "pages", "statuses", "parts", "statuses/s", "high-water",
                                           "id", "after", "state"]
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["alpha.example", "gamma.example"]
    assert status.returncode == 0, status_err
    assert "alpha.example: high-water id " in status_out and "part-" in status_out


def test_the_cli_exits_1_and_names_the_failed_instance(lake, federation):
    with federation.serve(faults={"gamma.example": {"refuse_public": 401}}) as running:
        process = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", running.url("alpha.example"),
                          "--instance", running.url("gamma.example"), "--json")
        out, err = process.communicate(timeout=120)
        gamma = running.url("gamma.example")
    assert process.returncode == 1
    summary = json.loads(out)
    assert summary[0]["instance"] == "alpha.example" and summary[0]["statuses"] > 0
    assert summary[1]["error"].startswith(f"instance {gamma} (gamma.example): the public timeline is refused")
