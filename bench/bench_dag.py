"""Benchmark: one day of statuses from the stand-in federation to HBase through the Airflow DAG.

    . stack/env.sh && python bench/bench_dag.py                      # 100k statuses, local job runner
    python bench/bench_dag.py --statuses 20000 --framework yarn     # on YARN

Runs `airflow dags test mastodon_datalake` (a real Airflow 3 run, own AIRFLOW_HOME, own lake root
and HBase table prefix, removed afterwards) and prints the wall time of each stage as Airflow
recorded it, against the goal of 5 minutes for the whole day on this 2-core machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from collection.standin import Federation  # noqa: E402
from datalake.lake import hdfs_client  # noqa: E402
from datalake.settings import Settings  # noqa: E402
from hbase.inspect import drop_tables  # noqa: E402
from tests.integration.airflow_harness import airflow_env, dags_test, migrate_db  # noqa: E402

GOAL_SECONDS = 300.0


def task_times(env: dict, run_id: str) -> list[dict]:
    out = subprocess.run(["airflow", "tasks", "states-for-dag-run", "mastodon_datalake", run_id, "-o", "json"],
                         env=env, capture_output=True, text=True, check=True).stdout
    start = out.index("[")
    return json.loads(out[start:])


def seconds(entry: dict) -> float:
    start, end = entry.get("start_date"), entry.get("end_date")
    if not start or not end:
        return 0.0
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statuses", type=int, default=100_000, help="statuses published that day (default 100000)")
    parser.add_argument("--framework", choices=("local", "yarn"), default="local", help="MapReduce framework")
    parser.add_argument("--keep", action="store_true", help="keep the bench's lake and tables")
    args = parser.parse_args()

    day = dt.date.today() - dt.timedelta(days=1)
    run_tag = uuid.uuid4().hex[:6]
    settings = Settings.from_env().with_overrides(root=f"/bench-dag-{run_tag}/datalake", table_prefix=f"bench{run_tag}")
    federation = Federation(seed=99, start=day, days=1, statuses_per_day=args.statuses, accounts_per_instance=2000)
    home = Path(tempfile.mkdtemp(prefix="bench-dag-airflow-"))
    env = airflow_env(home, {"DATALAKE_ROOT": settings.root, "HBASE_TABLE_PREFIX": settings.table_prefix,
                             "DATALAKE_MR_FRAMEWORK": args.framework})
    log = home / "bench.log"
    migrate_db(env, log)
    print(f"stand-in: {args.statuses:,} statuses on {day} over 3 instances; Airflow home {home}", flush=True)
    try:
        with federation.serve() as running:
            raw_lines = sum(len(federation.statuses(domain, day)) for domain in running.urls)
            started = time.monotonic()
            result = dags_test(env, (day + dt.timedelta(days=1)).isoformat(),
                               {"instances": sorted(running.urls.values()), "max_pages": 100_000}, log)
            wall = time.monotonic() - started
        if result.returncode != 0 or "state=success" not in result.output:
            print(f"the DAG run failed; see {log}", file=sys.stderr)
            return 1
        run_id = next(line.split("run_id=")[1].split(",")[0] for line in result.output.splitlines()
                      if "DagRun Finished" in line)
        stages: dict[str, float] = {}
        for entry in task_times(env, run_id):
            stage = entry["task_id"]
            stages[stage] = max(stages.get(stage, 0.0), seconds(entry))  # mapped collects run side by side
    finally:
        if not args.keep:
            hdfs_client(settings).delete(settings.root.rsplit("/", 1)[0], recursive=True)
            drop_tables(settings.hbase_host, settings.hbase_port, settings.table_prefix)

    rows = [(stage, f"{value:8.1f}") for stage, value in stages.items()]
    rows.append(("whole run (wall, incl. Airflow)", f"{wall:8.1f}"))
    width = max(len(name) for name, _ in rows)
    print(f"\nDAG mastodon_datalake, one day: {args.statuses:,} statuses ({raw_lines:,} raw lines), "
          f"MapReduce on {args.framework}")
    print(f"{'stage':<{width}}  {'seconds':>8}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"{'goal':<{width}}  {GOAL_SECONDS:8.1f}   ratio to goal {wall / GOAL_SECONDS:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
