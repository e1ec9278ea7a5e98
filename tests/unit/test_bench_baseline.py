"""The MapReduce benchmark's baseline (bench/bench_mapreduce.py's single pass) computes what the
jobs compute: on a generated day with copies of statuses on several instances, every metric of
the single pass equals the generator's plan. A baseline that drifts from the jobs measures
nothing (it once asked ``is_origin_copy`` about the pseudonymized uri, so no copy was the origin)."""
from __future__ import annotations

import importlib.util

import pytest

from datalake.settings import REPO_ROOT
from mapreduce.pipeline import METRICS


def _bench():
    spec = importlib.util.spec_from_file_location("bench_mapreduce", REPO_ROOT / "bench" / "bench_mapreduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", [b"bench-baseline-key", None], ids=["pseudonymized", "in-clear"])
def test_the_single_pass_equals_the_generators_plan_metric_by_metric(tmp_path, key):
    bench = _bench()
    files, meta = bench.prepare_data(tmp_path, statuses=600, instances=3, parts=2, copies=2.5, key=key)
    assert meta["raw_lines"] > meta["curated"] > 0, "the day has no copies to choose between"
    baseline = bench.single_pass(files, key)
    differing = [metric for metric in METRICS if baseline[metric] != meta["expected"][metric]]
    assert differing == [], {metric: (sorted(baseline[metric])[:3], sorted(meta["expected"][metric])[:3])
                             for metric in differing}
