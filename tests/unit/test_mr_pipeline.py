"""The runner's report, its argument checks and the command line (no Hadoop needed here; the
runs themselves are in tests/integration/test_mapreduce.py)."""
from __future__ import annotations

import datetime as dt

import pytest

from datalake.settings import Settings
from mapreduce.__main__ import main
from mapreduce.causes import last_error_line, service_at, unanswered_service
from mapreduce.hadoop import MapReduceError
from mapreduce.pipeline import METRICS, run_day
from mapreduce.report import DayReport, JobReport


def test_metrics_are_the_seven_of_the_design_then_the_second_wave():
    assert METRICS == ("languages", "users", "growth", "urls", "media", "tags", "emojis",
                       "apps", "hours", "kinds", "instances", "sentiment")


def test_day_report_sums_up_curate_and_prints_every_counter():
    report = DayReport(day=dt.date(2026, 11, 18), framework="local", wall_seconds=12.5, jobs=[
        JobReport("curate", "succeeded", "/datalake/curated/statuses/dt=2026-11-18", 8.0,
                  {"datalake": {"raw_lines": 10, "curated_statuses": 6, "duplicate_copies": 2, "quarantined": 1,
                                "noindex_statuses": 1, "noindex_copies": 1},
                   "Map-Reduce Framework": {"Map input records": 10, "Reduce output records": 7}}, "job_local_1"),
        JobReport("languages", "no-input", "/datalake/aggregates/languages/dt=2026-11-18"),
    ])
    assert (report.raw_lines, report.curated, report.duplicates, report.quarantined, report.noindex_skipped) == (10, 6, 2, 1, 1)
    text = report.format()
    assert "raw lines 10, curated statuses 6, duplicates 2, quarantined 1, noindex statuses skipped 1" in text
    assert "curate     succeeded      8.0          10            7" in text
    assert "    noindex_copies=1" in text
    assert "Counters of languages" in text and "(none: the job did not run)" in text
    assert report.to_dict()["jobs"][0]["counters"]["datalake"]["raw_lines"] == 10


def test_unknown_metric_is_refused_before_anything_runs():
    with pytest.raises(MapReduceError, match="unknown metric.*hashtags.*the metrics are languages"):
        run_day(Settings(), dt.date(2026, 11, 18), ["languages", "hashtags"])


def test_cli_help_and_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    assert "python -m mapreduce" in capsys.readouterr().out
    with pytest.raises(SystemExit) as caught:
        main(["run", "--date", "2026-13-01"])
    assert caught.value.code == 2
    assert "not a date YYYY-MM-DD" in capsys.readouterr().err
    assert main(["run", "--date", "2026-11-18", "--metrics", "languages,nope"]) == 2
    assert "unknown metric(s) nope" in capsys.readouterr().err


def test_cli_lists_the_jobs(capsys):
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "curate     mapreduce.mr_curate.MRCurate" in out
    assert "aggregates/emojis/dt=DAY" in out


def test_failure_cause_is_the_task_error_else_the_root_java_cause(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("x INFO mrjob.logs.step:   java.lang.Exception: outer\n"
                   "Caused by: java.lang.OutOfMemoryError: Java heap space\n"
                   "x ERROR mrjob.logs.step:   Job not successful!\n")
    assert last_error_line(log) == " - cause: java.lang.OutOfMemoryError: Java heap space"
    log.write_text(log.read_text() + "ValueError: a task failed\n")
    assert last_error_line(log) == " - cause: ValueError: a task failed"
    assert last_error_line(tmp_path / "missing.log") == ""


def test_a_call_that_found_no_one_names_the_service_configured_at_its_port(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "core-site.xml").write_text("<configuration><property><name>fs.defaultFS</name>"
                                        "<value>hdfs://nn.example:9000</value></property></configuration>")
    log = tmp_path / "job.log"
    log.write_text("java.net.ConnectException: Call From vm/127.0.0.1 to nn.example:9000 failed on connection "
                   "exception: java.net.ConnectException: Connection refused; For more details see: ...\n"
                   "Caused by: java.net.ConnectException: Connection refused\n")
    assert last_error_line(log) == " - cause: java.net.ConnectException: Connection refused"
    said = unanswered_service(log, str(conf))
    assert said.startswith(" - the call to nn.example:9000, the HDFS NameNode (fs.defaultFS), failed (connection "
                           "exception): check")
    assert service_at("8032", str(conf)) == "the YARN ResourceManager (yarn.resourcemanager.address)"  # the default
    assert service_at("8020", str(conf)) is None  # the NameNode is configured elsewhere
    assert ", a Hadoop service, " in unanswered_service(log, str(tmp_path / "no-conf"))  # 9000 is no default
    log.write_text("Caused by: java.net.SocketException: Call From vm/127.0.0.1 to nn.example:9000 failed on socket "
                   "exception: java.net.SocketException: Connection reset; For more details see: ...\n")
    assert "(fs.defaultFS), failed (socket exception)" in unanswered_service(log, str(conf))
    log.write_text("Caused by: java.net.ConnectException: Connection refused\n")
    assert unanswered_service(log, str(conf)) == ""


def test_a_day_small_enough_for_uber_mode_curates_with_one_reducer_and_one_split_where_uber_mode_is_on():
    from mapreduce.pipeline import CURATE_SPLIT_BYTES, UBER_MAX_BYTES, curate_plan, uber_day

    assert curate_plan(True, 2, raw_bytes=600_000) == (1, UBER_MAX_BYTES)
    assert curate_plan(True, 2, raw_bytes=UBER_MAX_BYTES) == (1, UBER_MAX_BYTES)
    # too big for uber mode: the configured reducers, and map tasks of CURATE_SPLIT_BYTES side by side
    assert curate_plan(True, 4, raw_bytes=UBER_MAX_BYTES + 1) == (4, CURATE_SPLIT_BYTES)
    # the local framework, or YARN whose configuration keeps uber mode off (the cluster)
    assert curate_plan(False, 2, raw_bytes=600_000) == (2, CURATE_SPLIT_BYTES)
    assert uber_day(True, UBER_MAX_BYTES) and not uber_day(False, 0) and not uber_day(True, UBER_MAX_BYTES + 1)


def test_uber_mode_is_what_mapred_site_says_and_off_without_it(tmp_path):
    from mapreduce.hadoop import uber_mode

    def site(value: str | None) -> Settings:
        conf = tmp_path / str(value)
        conf.mkdir()
        prop = f"<property><name>mapreduce.job.ubertask.enable</name><value>{value}</value></property>" if value else ""
        (conf / "mapred-site.xml").write_text(f"<configuration>{prop}</configuration>")
        return Settings(hadoop_conf_dir=str(conf))

    assert uber_mode(site("true")) is True
    assert uber_mode(site("false")) is False
    assert uber_mode(site(None)) is False  # Hadoop's default
    assert uber_mode(Settings(hadoop_conf_dir=str(tmp_path / "missing"))) is False
