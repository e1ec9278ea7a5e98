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

import collection
from collection.collector import RunOptions, collect_instance, day_interval
from collection.errors import CollectionError
from collection.mastodon_client import RequestPolicy
from collection.rawzone import RawZone, parse_part_name
from collection.snowflake import UTC, first_id_at
from collection.standin import Federation
from datalake.lake import LakeLayout
from datalake.settings import REPO_ROOT, ConfigError, Secret, instance_host

DAY1, DAY2 = dt.date(2026, 11, 17), dt.date(2026, 11, 18)
DOMAINS = ("alpha.example", "beta.example", "gamma.example")
FAST_RETRY = RequestPolicy(attempts=10, initial_backoff=0.05, max_backoff=0.5)
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
    """Every line of a raw partition's finished parts, in id order; asserts names match contents
    and that no status is held twice."""
    directory = LakeLayout(lake.root).raw_partition(domain, day)
    if client.status(directory, strict=False) is None:
        return []
    lines = []
    parts = sorted((parse_part_name(name), name) for name in client.list(directory) if parse_part_name(name))
    for (first_id, last_id), name in parts:
        with client.read(posixpath.join(directory, name)) as reader:
            part_lines = gzip.decompress(reader.read()).splitlines()
        ids = [int(json.loads(line)["id"]) for line in part_lines]
        assert (ids[0], ids[-1]) == (first_id, last_id) and ids == sorted(ids), name
        lines.extend(part_lines)
    lines.sort(key=lambda line: int(json.loads(line)["id"]))
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)), f"duplicate raw records in {directory}"
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


def collect(lake, url: str, day: dt.date, *, last_day: dt.date | None = None, now: dt.datetime | None = None,
            **options):
    """One run of one instance for ``day`` (to ``last_day``); ``now``: the stand-in's clock."""
    start, end = day_interval(day)[0], day_interval(last_day or day)[1]
    lake = lake.with_overrides(instances=(url,))
    if now is not None:
        options["now"] = lambda: now
    return collect_instance(lake, url, start, end, RunOptions.from_settings(lake, **options))


def day_state(client, lake, domain: str, day: dt.date) -> dict:
    with client.read(LakeLayout(lake.root).collection_day_state(domain, day)) as reader:
        return json.loads(reader.read())


def pending_days(client, lake) -> list[str]:
    root = LakeLayout(lake.root).pending_root
    if client.status(root, strict=False) is None:
        return []
    return sorted(name[3:] for name in client.list(root) if client.list(posixpath.join(root, name)))


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
        day1 = collection.run(lake, [DAY1], options=RunOptions.from_settings(lake, part_size=100))
        day2 = collection.run(lake, [DAY2], options=RunOptions.from_settings(lake, part_size=100))
        assert_exactly_the_days(hdfs_client, lake, federation)
        for result_day1, result_day2, domain in zip(day1.instances, day2.instances, DOMAINS):
            assert result_day1.instance == domain and result_day1.base_url == running.url(domain)
            assert result_day1.statuses_written == len(federation.raw_statuses(domain, DAY1))
            assert result_day2.statuses_written == len(federation.raw_statuses(domain, DAY2))
            assert len(result_day1.parts) >= 2 and result_day1.state == "complete" == result_day2.state
            assert result_day2.high_water_id_before == result_day1.high_water_id_after
            record = checkpoint(hdfs_client, lake, domain)
            assert set(record) == {"instance", "base_url", "high_water_id", "updated_at"}
            assert record["instance"] == domain and record["base_url"] == running.url(domain)
            # every id below the end of the ended interval was read: the checkpoint says so
            assert int(record["high_water_id"]) == first_id_at(day_interval(DAY2)[1]) - 1
            assert record["high_water_id"] == result_day2.high_water_id_after
            dt.datetime.fromisoformat(record["updated_at"].replace("Z", "+00:00"))
            state = day_state(hdfs_client, lake, domain, DAY1)
            assert (state["state"], state["statuses"]) == ("complete", len(federation.raw_statuses(domain, DAY1)))
        assert day1.days_touched == [DAY1] and day2.days_touched == [DAY2]
        assert pending_days(hdfs_client, lake) == [DAY1.isoformat(), DAY2.isoformat()]
        # nothing else was written: no temporary files, no third partition
        files = all_files(hdfs_client, lake.root)
        assert not [path for path in files if "/_tmp." in path]
        assert {path.split("/dt=")[1][:10] for path in files if "/raw/" in path} == {"2026-11-17", "2026-11-18"}

        # rerunning complete days reads them again (the lateness window) and changes nothing
        again = collection.run(lake, [DAY1]).instances + collection.run(lake, [DAY2]).instances
        assert [result.statuses_written for result in again] == [0] * 6
        assert all(result.statuses_held > 0 for result in again)
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
        rerun = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", url, "--part-size", "40", "--json")
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        report = json.loads(out)["instances"][0]
        assert report["statuses_held"] == len(partial) and report["statuses_written"] == len(expected) - len(partial)
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == expected
    assert int(checkpoint(hdfs_client, lake, "beta.example")["high_water_id"]) == first_id_at(day_interval(DAY1)[1]) - 1
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
            collect(lake, url, DAY1, part_size=60)
        monkeypatch.setattr(RawZone, "write_checkpoint", real_write_checkpoint)
        written = partition_lines(hdfs_client, lake, "gamma.example", DAY1)
        stale = checkpoint(hdfs_client, lake, "gamma.example")["high_water_id"]
        assert len(written) == 120 and stale == json.loads(written[59])["id"]  # the 2nd part is ahead of it

        result = collect(lake, url, DAY1, part_size=60)
    expected = federation.raw_statuses("gamma.example", DAY1)
    assert result.high_water_id_before == stale
    assert result.statuses_written == len(expected) - 120 and result.statuses_held == 120
    assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected


def test_a_part_without_its_index_is_indexed_and_an_index_without_its_part_removed(lake, hdfs_client, federation):
    layout = LakeLayout(lake.root)
    partition = layout.raw_partition("alpha.example", DAY1)
    with federation.serve() as running:
        url = running.url("alpha.example")
        collect(lake, url, DAY1, part_size=100)
        names = hdfs_client.list(partition)
        index = next(name for name in names if name.startswith("_ids."))
        hdfs_client.delete(posixpath.join(partition, index))  # as if killed between a part and its index
        hdfs_client.write(posixpath.join(partition, "_ids.part-1-2.gz"), data=b"stale")
        rerun = collect(lake, url, DAY1, part_size=100)
    assert rerun.statuses_written == 0
    assert sorted(hdfs_client.list(partition)) == sorted(names)
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)


def test_leftovers_of_a_killed_writer_are_removed_and_do_not_count(lake, hdfs_client, federation):
    layout = LakeLayout(lake.root)
    partition = layout.raw_partition("alpha.example", DAY1)
    expected = federation.raw_statuses("alpha.example", DAY1)
    # what a writer killed before its rename leaves: a temporary part, and a temporary checkpoint
    hdfs_client.write(posixpath.join(partition, "_tmp.part-1-2.jsonl.gz.0123456789ab"), data=b"half a part")
    hdfs_client.write(posixpath.dirname(layout.checkpoint("alpha.example")) + "/_tmp.checkpoint.json.0123456789ab",
                      data=b"{")
    with federation.serve() as running:
        collect(lake, running.url("alpha.example"), DAY1)
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == expected
    assert not [path for path in all_files(hdfs_client, lake.root) if "/_tmp." in path]


def test_low_rate_limit_and_30_percent_5xx_complete_with_waits_and_retries_in_the_log(lake, hdfs_client,
                                                                                    federation, caplog):
    caplog.set_level(logging.INFO, logger="collection")
    with federation.serve() as running:
        running.configure("alpha.example", rate_limit=4, rate_window=1.0, error_rate=0.3)
        bursting = RequestPolicy(attempts=10, initial_backoff=0.05, max_backoff=0.5, pace=False)
        result = collect(lake, running.url("alpha.example"), DAY1, policy=bursting)
        stats = running.stats("alpha.example")
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)
    assert stats["rate_limited"] >= 1 and stats["errors_injected"] >= 1  # the faults did happen
    messages = [record.getMessage() for record in caplog.records]
    waits = [m for m in messages if "rate limit reached (HTTP 429, 4 requests per window): waiting" in m]
    retries = [record for record in caplog.records if record.levelno == logging.WARNING
               and "retrying in" in record.getMessage()]
    assert len(waits) == stats["rate_limited"] == result.rate_limited
    assert len(retries) == stats["errors_injected"] == result.retries
    assert all(" (attempt " in record.getMessage() and " of 10)" in record.getMessage() for record in retries)
    assert any("HTTP 50" in record.getMessage() for record in retries)


def test_a_known_rate_limit_is_spread_evenly_and_never_hit(lake, hdfs_client, federation):
    with federation.serve() as running:
        running.configure("gamma.example", rate_limit=6, rate_window=1.0)
        result = collect(lake, running.url("gamma.example"), DAY1)
        stats = running.stats("gamma.example")
    assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == federation.raw_statuses("gamma.example", DAY1)
    assert stats["rate_limited"] == 0 and result.rate_limited == 0
    assert result.pace_wait_seconds > 0 and stats["requests"] > 6  # it did need more than one window


def test_an_endless_429_stops_within_the_bound_with_a_message_naming_the_instance(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("beta.example")
        running.configure("beta.example", rate_limit=2, rate_window=3600.0)
        bounded = lake.with_overrides(max_rate_limit_wait=3.0)
        started = dt.datetime.now()
        result = collect(bounded, url, DAY1, policy=RequestPolicy(max_rate_limit_wait=3.0, pace=False))
        elapsed = (dt.datetime.now() - started).total_seconds()
    assert elapsed < 20  # the reset is an hour away: the bound, not the server, ended the run
    assert result.state.startswith("incomplete") and result.rate_limited >= 1
    state = day_state(hdfs_client, lake, "beta.example", DAY1)
    assert state["state"] == "incomplete"
    for needed in (f"instance {url} (beta.example)", "HTTP 429", "DATALAKE_MAX_RATE_LIMIT_WAIT", "next run continues"):
        assert needed in state["reason"], state["reason"]


def test_slow_answers_time_out_and_are_retried(lake, hdfs_client, federation, caplog):
    caplog.set_level(logging.WARNING, logger="collection")
    with federation.serve() as running:
        running.configure("beta.example", latency=3.0, slow_rate=0.3)
        collect(lake, running.url("beta.example"), DAY1, policy=FAST_RETRY, request_timeout=1.0)
        slowed = running.stats("beta.example")["slowed"]
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == federation.raw_statuses("beta.example", DAY1)
    timeouts = [r for r in caplog.records if "timeout" in r.getMessage() and "retrying in" in r.getMessage()]
    assert slowed >= 1 and len(timeouts) >= slowed  # every slowed answer came too late, and was retried


def test_a_refused_timeline_names_the_instance_and_the_fix_while_the_others_complete(lake, hdfs_client, federation):
    with federation.serve(faults={"beta.example": {"refuse_public": 422}}) as running:
        lake = lake.with_overrides(instances=tuple(running.urls.values()))
        report = collection.run(lake, [DAY1])
        beta_url = running.url("beta.example")
    assert [result.state for result in report.instances] == ["complete", "failed", "complete"]
    with pytest.raises(CollectionError) as failure:
        report.raise_for_failures()
    assert failure.value.permanent
    message = str(failure.value)
    assert f"instance {beta_url} (beta.example): the public timeline is refused with HTTP 422" in message
    for fix in ("MASTODON_ACCESS_TOKENS", "mastodon_<host>", "MASTODON_TIMELINE=local", "tag:<name>"):
        assert fix in message
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("alpha.example", "gamma.example"), days=(DAY1,))
    assert partition_lines(hdfs_client, lake, "beta.example", DAY1) == []
    state = day_state(hdfs_client, lake, "beta.example", DAY1)
    assert state["state"] == "failed" and "refused with HTTP 422" in state["reason"]


def test_the_local_timeline_or_a_token_gets_past_a_refused_public_timeline(lake, hdfs_client, federation):
    with federation.serve(faults={"beta.example": {"refuse_public": 403, "access_token": TOKEN}}) as running:
        url = running.url("beta.example")
        local = lake.with_overrides(timeline="local", root=lake.root + "/local")
        collect(local, url, DAY1)
        authorized = lake.with_overrides(access_token=Secret(TOKEN), root=lake.root + "/token")
        collect(authorized, url, DAY1)
        assert running.stats("beta.example")["authenticated_requests"] >= 2
    assert_exactly_the_days(hdfs_client, local, federation, domains=("beta.example",), days=(DAY1,), timeline="local")
    assert_exactly_the_days(hdfs_client, authorized, federation, domains=("beta.example",), days=(DAY1,))


def test_each_instance_receives_only_its_own_token(lake, hdfs_client, federation):
    tokens = {"alpha.example": "tok-alpha-" + TOKEN, "gamma.example": "tok-gamma-" + TOKEN}
    faults = {domain: {"refuse_public": 401, "access_token": token} for domain, token in tokens.items()}
    from collection.standin.server import token_digest

    with federation.serve(faults=faults) as running:
        urls = [running.url(domain) for domain in tokens]
        settings = lake.with_overrides(
            instances=tuple(urls), access_token=Secret(None),
            access_tokens=tuple((instance_host(running.url(domain)), Secret(token)) for domain, token in tokens.items()))
        report = collection.run(settings, [DAY1])
        seen = {domain: running.stats(domain)["tokens_seen"] for domain in tokens}
        # one token for two instances is refused before anything is sent
        single = lake.with_overrides(instances=tuple(urls), access_token=Secret(TOKEN))
        requests_before = sum(running.stats(domain)["requests"] for domain in tokens)
        with pytest.raises(ConfigError, match="MASTODON_ACCESS_TOKENS") as refused:
            collection.run(single, [DAY2])
        assert sum(running.stats(domain)["requests"] for domain in tokens) == requests_before
    assert report.complete, report.format()
    assert seen == {domain: [token_digest(token)] for domain, token in tokens.items()}
    assert refused.value.permanent and TOKEN not in str(refused.value)


def test_a_hashtag_timeline_by_configuration(lake, hdfs_client, federation):
    tagged = lake.with_overrides(timeline="tag:Python")
    with federation.serve() as running:
        result = collect(tagged, running.url("gamma.example"), DAY1)
    assert result.timeline == "tag:Python" and result.statuses_written > 0
    assert_exactly_the_days(hdfs_client, tagged, federation, domains=("gamma.example",), days=(DAY1,),
                            timeline="tag:python")


def test_the_token_never_appears_in_logs_output_or_hdfs(lake, hdfs_client, federation, caplog):
    caplog.set_level(logging.DEBUG)
    # every logger that sees the requests, at DEBUG even when a CLI run in this process quietened it
    for name in ("urllib3", "hdfs", "collection"):
        caplog.set_level(logging.DEBUG, logger=name)
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
            collect(lake.with_overrides(access_token=Secret(wrong)), url, DAY2)
        assert "access token was not accepted" in str(failure.value)
        assert wrong not in str(failure.value) and TOKEN not in str(failure.value)
        # and a run in this process with every logger at DEBUG
        collect(lake.with_overrides(access_token=Secret(TOKEN)), url, DAY2)
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
        collect(lake, f"http://127.0.0.1:{port}", DAY1, policy=RequestPolicy(attempts=2, initial_backoff=0.01))
    message = str(failure.value)
    assert message.startswith(f"instance http://127.0.0.1:{port}: ")
    assert "connection refused" in message and "failed 2 times" in message
    assert "check that the URL in MASTODON_INSTANCES is right and that the server is up" in message
    assert not failure.value.permanent  # the server may come back: the DAG retries it


def test_max_pages_stops_a_run_the_day_is_incomplete_and_the_next_run_completes_it(lake, hdfs_client, federation):
    expected = federation.raw_statuses("gamma.example", DAY1)
    with federation.serve() as running:
        url = running.url("gamma.example")
        first = collect(lake, url, DAY1, max_pages=2, part_size=50)
        assert first.state.startswith("incomplete") and first.pages == 2 and first.statuses_written == 80
        assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected[:80]
        state = day_state(hdfs_client, lake, "gamma.example", DAY1)
        assert state["state"] == "incomplete" and "max_pages=2" in state["reason"]
        rest = collect(lake, url, DAY1, part_size=50)
    assert rest.state == "complete" and rest.statuses_written == len(expected) - 80
    assert partition_lines(hdfs_client, lake, "gamma.example", DAY1) == expected
    assert day_state(hdfs_client, lake, "gamma.example", DAY1)["state"] == "complete"


def test_a_day_collected_while_it_goes_on_is_completed_by_the_next_run(lake, hdfs_client, federation):
    noon = dt.datetime(2026, 11, 17, 12, tzinfo=UTC)
    with federation.serve(now=noon) as running:
        url = running.url("alpha.example")
        morning = collect(lake, url, DAY1, now=noon)
        assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == \
            federation.raw_statuses("alpha.example", DAY1, until=noon)
        assert morning.state.startswith("incomplete") and "has not ended" in morning.state
        running.set_now(federation.end)
        afternoon = collect(lake, url, DAY1, now=federation.end)
    assert morning.statuses_written > 0 and afternoon.statuses_written > 0 and afternoon.state == "complete"
    assert partition_lines(hdfs_client, lake, "alpha.example", DAY1) == federation.raw_statuses("alpha.example", DAY1)


def test_an_older_day_rerun_after_a_later_one_is_completed_and_the_checkpoint_stays(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("beta.example")
        collect(lake, url, DAY1, max_pages=1)  # day 1 stops early...
        collect(lake, url, DAY2, lateness_days=0)  # ...day 2 runs without the window, from the checkpoint...
        after_day2 = checkpoint(hdfs_client, lake, "beta.example")["high_water_id"]
        rerun = collect(lake, url, DAY1)  # ...and day 1 is run again
    assert rerun.statuses_written == 0  # day 2's run filled day 1 from the checkpoint: a gap is never left
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("beta.example",))
    assert checkpoint(hdfs_client, lake, "beta.example")["high_water_id"] == after_day2


def test_an_interval_of_two_days_fills_two_partitions(lake, hdfs_client, federation):
    with federation.serve() as running:
        result = collect(lake, running.url("gamma.example"), DAY1, last_day=DAY2, part_size=1000)
    assert len(result.parts) == 2  # a part never spans two days
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("gamma.example",))


def test_an_instance_without_api_v2_is_named_by_its_v1_uri(lake, hdfs_client, federation):
    with federation.serve(faults={"alpha.example": {"legacy_instance_api": True}}) as running:
        result = collect(lake, running.url("alpha.example") + "/", DAY1)
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
    lines = out.splitlines()
    assert lines[0].startswith("collection of 2026-11-17: 2 instance(s), days touched: 2026-11-17")
    assert lines[1].split()[:6] == ["instance", "pages", "new", "held", "too", "late"]
    assert [line.split()[0] for line in lines[2:4]] == ["alpha.example", "gamma.example"]
    assert status.returncode == 0, status_err
    assert "alpha.example: high-water id " in status_out and "part-" in status_out
    assert "2026-11-17: complete, " in status_out


def test_the_cli_exits_1_and_names_the_failed_instance(lake, federation):
    with federation.serve(faults={"gamma.example": {"refuse_public": 401}}) as running:
        process = run_cli(lake, "collect", "--date", DAY1.isoformat(), "--instance", running.url("alpha.example"),
                          "--instance", running.url("gamma.example"), "--json")
        out, err = process.communicate(timeout=120)
        gamma = running.url("gamma.example")
    assert process.returncode == 1
    summary = json.loads(out)["instances"]
    assert summary[0]["instance"] == "alpha.example" and summary[0]["statuses_written"] > 0
    assert summary[1]["error"].startswith(f"instance {gamma} (gamma.example): the public timeline is refused")


def test_two_urls_of_one_instance_and_a_url_twice_are_refused_before_collection(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("alpha.example")
        twice = lake.with_overrides(instances=(url, url + "/"))
        with pytest.raises(CollectionError, match="configured twice") as duplicate:
            collection.run(twice, [DAY1])
        same = lake.with_overrides(instances=(url, url.replace("127.0.0.1", "localhost")))
        with pytest.raises(CollectionError, match="reports the domain alpha.example") as same_domain:
            collection.run(same, [DAY1])
    assert duplicate.value.permanent and same_domain.value.permanent
    assert hdfs_client.status(LakeLayout(lake.root).raw_root, strict=False) is None  # nothing collected


# --- late statuses, missed days (issue 12) ---------------------------------------------------

LATE_DAYS = (DAY1, DAY2, dt.date(2026, 11, 19))


@pytest.fixture(scope="module")
def late_federation() -> Federation:
    return Federation(seed=12, domains=DOMAINS, start=DAY1, days=3, statuses_per_day=300, late_share=0.3,
                      backdated_share=0.2, max_delay_hours=20)


def _run_at(day: dt.date) -> dt.datetime:
    """The moment a daily run for ``day`` happens: five minutes after the day ended."""
    return day_interval(day)[1] + dt.timedelta(minutes=5)


def test_late_and_backdated_statuses_land_once_on_their_created_day(lake, hdfs_client, late_federation):
    federation = late_federation
    with federation.serve(now=_run_at(DAY1)) as running:
        urls = tuple(running.urls.values())
        lake = lake.with_overrides(instances=urls)
        touched = []
        for day in LATE_DAYS:
            now = _run_at(day)
            running.set_now(now)
            report = collection.run(lake, [day], options=RunOptions.from_settings(lake, part_size=70, now=lambda: now))
            assert report.complete, report.format()
            touched.append(report.days_touched)
        final_now = _run_at(LATE_DAYS[-1])
        # the late statuses really happened: some were neither in the first run's range nor its day
        late = sum(1 for domain in DOMAINS for status in federation.statuses(domain, DAY1)
                   if int(status["id"]) >> 16 >= int(_run_at(DAY1).timestamp() * 1000))
        assert late > 0
        for domain in DOMAINS:
            for day in LATE_DAYS[:-1]:  # final days: every copy served by the end
                assert partition_lines(hdfs_client, lake, domain, day) == \
                    federation.raw_statuses(domain, day, until=final_now), (domain, day)
        # each run touched its own day and the day before (late statuses)
        assert touched[0] == [DAY1] and touched[1] == [DAY1, DAY2] and touched[2] == [DAY2, LATE_DAYS[2]]
        files = all_files(hdfs_client, lake.root)
        parts = {}
        for path in files:
            if "/raw/" in path and "/part-" in path:
                parts.setdefault(posixpath.dirname(path), 0)
                parts[posixpath.dirname(path)] += 1
        for partition, count in parts.items():  # one open part per day: at most a full one, plus one per run
            held = len(partition_lines(hdfs_client, lake, partition.split("instance=")[1].split("/")[0],
                                       dt.date.fromisoformat(partition[-10:])))
            assert count <= -(-held // 70) + 2, (partition, count, held)


def test_without_the_window_late_statuses_count_too_late_and_leave_the_day_alone(lake, hdfs_client, late_federation):
    federation = late_federation
    with federation.serve(now=_run_at(DAY1)) as running:
        url = running.url("beta.example")
        collect(lake, url, DAY1, lateness_days=0, now=_run_at(DAY1))
        running.set_now(_run_at(DAY2))
        second = collect(lake, url, DAY2, lateness_days=0, now=_run_at(DAY2))
    assert second.too_late > 0 and second.days_touched == {DAY2}
    assert DAY1 not in second.day_states


def test_a_missed_day_is_filled_by_the_next_run(lake, hdfs_client, federation):
    with federation.serve() as running:
        url = running.url("alpha.example")
        first = collect(lake, url, DAY1, lateness_days=0)
        layout = LakeLayout(lake.root)
        # no run for DAY2; the run for the day after starts from the checkpoint
        third = collect(lake, url, DAY2 + dt.timedelta(days=1), lateness_days=0)
    assert first.state == "complete"
    assert DAY2 in third.open_days and DAY2 in third.days_touched
    assert day_state(hdfs_client, lake, "alpha.example", DAY2)["state"] == "complete"
    assert_exactly_the_days(hdfs_client, lake, federation, domains=("alpha.example",))
    assert hdfs_client.status(layout.pending(DAY2), strict=False) is not None
