"""The stage benchmark's table (bench/bench_stages.py): the seconds of each row from the stages' reports,
the ratios to today's figures and to the goals, and the merge of runs made at different times."""
from __future__ import annotations

import datetime as dt
import importlib.util
import sys

import pytest

from datalake.settings import REPO_ROOT
from mapreduce.pipeline import METRICS
from mapreduce.report import DayReport, JobReport


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_stages", REPO_ROOT / "bench" / "bench_stages.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stages"] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def run(profile: str, framework: str, measured_at: str, **seconds_by_size) -> dict:
    """A run's figures document: ``s2000={"mapreduce": 25.0, ...}`` for each size measured."""
    days = [{"statuses": int(key[1:]), "framework": framework, "raw_lines": 2 * int(key[1:]),
             "curated": int(key[1:]), "seconds": seconds} for key, seconds in seconds_by_size.items()]
    return {"benchmark": "stages", "profile": profile, "measured_at": measured_at, "host": "bench-host",
            "cores": 2, "commit": "abc1234", "days": days}


def rows_by_stage(rows: list[list[str]]) -> dict[str, list[str]]:
    return {cells[0].strip(): cells[1:] for cells in rows}


def test_the_metrics_job_counts_once_though_every_metric_reports_its_wall_time(bench):
    jobs = [JobReport("curate", "succeeded", "/c", 40.0), JobReport("parquet", "succeeded", "/p", 3.5)]
    jobs += [JobReport(name, "succeeded", f"/a/{name}", 20.0) for name in METRICS]
    report = DayReport(day=dt.date(2026, 11, 18), framework="yarn", jobs=jobs, wall_seconds=70.0)
    seconds = bench.stage_seconds(collect=12.0, mapreduce_stage=71.0, day=report, load=6.0, total=89.0)
    assert seconds == {"collect": 12.0, "curate": 40.0, "parquet": 3.5, "metrics": 20.0, "mapreduce": 71.0,
                       "load": 6.0, "total": 89.0}


def test_each_row_has_its_ratios_to_todays_figure_and_to_the_goal_where_there_is_one(bench):
    yarn = run("yarn", "yarn", "2026-11-20T10:00:00+00:00",
               s2000={"collect": 5.0, "curate": 20.0, "parquet": 2.0, "metrics": 15.0, "mapreduce": 45.0,
                      "load": 4.0, "total": 54.0},
               s100000={"collect": 60.0, "curate": 150.0, "parquet": 10.0, "metrics": 80.0, "mapreduce": 243.0,
                        "load": 30.0, "total": 333.0})
    local = run("local", "local", "2026-11-20T09:00:00+00:00",
                s100000={"collect": 60.0, "curate": 50.0, "parquet": 10.0, "metrics": 20.0, "mapreduce": 90.0,
                         "load": 30.0, "total": 180.0})
    measured = bench.measurements([yarn, local])
    profiles = bench.profiles_of(measured)
    assert profiles == ["local", "yarn"]

    small = rows_by_stage(bench.size_rows(measured, 2000, profiles))
    assert list(small) == ["collect", "curate", "parquet", "metrics", "MapReduce stage", "load", "total"]
    assert small["MapReduce stage"] == ["-", "-", "-", "45.0", "0.36", "1.50"]  # 45/125 today, 45/30 the goal
    assert small["curate"] == ["-", "-", "-", "20.0", "-", "-"]

    large = rows_by_stage(bench.size_rows(measured, 100_000, profiles))
    assert large["MapReduce stage"] == ["90.0", "0.90", "0.90", "243.0", "0.75", "-"]  # 90/100; 243/324
    assert large["total"] == ["180.0", "-", "-", "333.0", "-", "2.77"]  # 333/120: the whole day on YARN

    goals = bench.goal_lines(measured, profiles)
    assert goals[0].endswith("yarn 45.0 s (1.50, NOT met)")
    assert goals[1].endswith("yarn 333.0 s (2.77, NOT met)")
    assert goals[2].endswith("local 90.0 s (0.90, met)")


def test_the_cluster_is_set_against_single_node_yarn_and_sits_after_local_and_yarn(bench):
    cluster = run("cluster", "yarn", "2026-11-21T08:00:00+00:00", s2000={"mapreduce": 25.0, "total": 30.0})
    yarn = run("yarn", "yarn", "2026-11-20T08:00:00+00:00", s2000={"mapreduce": 50.0, "total": 60.0})
    measured = bench.measurements([cluster, yarn])
    assert bench.profiles_of(measured) == ["yarn", "cluster"]
    rows = rows_by_stage(bench.size_rows(measured, 2000, ["yarn", "cluster"]))
    assert rows["MapReduce stage"] == ["50.0", "0.40", "1.67", "25.0", "0.20", "0.83"]
    assert rows["load"] == ["-", "-", "-", "-", "-", "-"]  # not in the figures: no cell is made up


def test_the_latest_measurement_of_a_profile_and_size_counts_whatever_the_order_of_the_files(bench):
    earlier = run("yarn", "yarn", "2026-11-20T08:00:00+00:00", s2000={"mapreduce": 90.0},
                  s100000={"mapreduce": 300.0})
    later = run("yarn", "yarn", "2026-11-22T08:00:00+00:00", s2000={"mapreduce": 28.0})
    for documents in ([earlier, later], [later, earlier]):
        measured = bench.measurements(documents)
        assert measured[("yarn", 2000)]["seconds"]["mapreduce"] == 28.0
        assert measured[("yarn", 100_000)]["seconds"]["mapreduce"] == 300.0  # only the earlier run measured it


def test_the_table_has_a_block_per_size_and_the_profiles_side_by_side(bench):
    text = bench.format_tables([run("local", "local", "2026-11-20T08:00:00+00:00", s2000={"mapreduce": 12.0}),
                                run("cluster", "yarn", "2026-11-20T09:00:00+00:00", s100000={"total": 100.0})])
    assert "2,000 statuses a day" in text and "100,000 statuses a day" in text
    assert "| stage           | local s | x today | x goal | cluster s | x today | x goal |" in text
    assert "| total           |       - |       - |      - |     100.0 |       - |   0.83 |" in text
    assert "- a 100,000-status day through every stage on YARN <= 120 s: cluster 100.0 s (0.83, met)" in text


def test_figures_files_round_trip_and_a_missing_file_is_named(bench, tmp_path):
    document = run("yarn", "yarn", "2026-11-20T08:00:00+00:00", s2000={"mapreduce": 28.0})
    bench.write_figures(tmp_path / "figures" / "yarn.json", document)
    assert bench.read_figures([str(tmp_path / "figures" / "*.json")]) == [document]
    with pytest.raises(SystemExit, match="no figures to tabulate"):
        bench.read_figures([str(tmp_path / "nothing" / "*.json")])
    with pytest.raises(SystemExit, match="gone.json"):
        bench.read_figures([str(tmp_path / "gone.json")])


@pytest.mark.parametrize("values, sizes", [(None, (2000, 100_000)), (["2000,100000"], (2000, 100_000)),
                                           (["2k", "100k", "2000"], (2000, 100_000)), (["500"], (500,))])
def test_sizes_are_repeatable_or_comma_lists(bench, values, sizes):
    assert bench.parse_sizes(values) == sizes


def test_the_profile_is_the_cluster_when_the_hadoop_configuration_is_the_clusters(bench, tmp_path):
    assert bench.default_profile("yarn", str(tmp_path / "var" / "cluster" / "client" / "conf" / "hadoop"),
                                 tmp_path) == "cluster"
    assert bench.default_profile("yarn", str(tmp_path / "var" / "conf" / "hadoop"), tmp_path) == "yarn"
    assert bench.default_profile("local", str(tmp_path / "var" / "conf" / "hadoop"), tmp_path) == "local"
