"""Benchmark: what the second wave costs per day, the five jobs (apps, hours, kinds, instances,
sentiment, with curate's new fields) plus the Parquet copy, as a ratio to the MapReduce stage
without them.

    . stack/env.sh && python bench/bench_second_wave.py --help
    python bench/bench_second_wave.py                       # 200k statuses, 3 instances, local runner
    python bench/bench_second_wave.py --statuses 50000 --repeat 3

The baseline is the stage as it was before the second wave: the code of ``--baseline-ref``
(default: main before the merge of the second wave), exported with ``git archive`` and run as
``python -m mapreduce run --date D --json``; the current code runs the same way on the same raw
day (generated as bench/bench_mapreduce.py does, cached in --data-dir). The two alternate
``--repeat`` times and the fastest run of each counts, since other work on the machine only
ever slows a run down. Needs the stack (HDFS); the lake root is /bench-<id>.
"""
from __future__ import annotations

import argparse
import json
import os
import io
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mapreduce import DAY, day_arguments, prepare_data, upload  # noqa: E402
from datalake.lake import hdfs_client, layout  # noqa: E402
from datalake.settings import REPO_ROOT, Settings  # noqa: E402

SECOND_WAVE = ("parquet", "apps", "hours", "kinds", "instances", "sentiment")
#: main before the merge of the second wave (9e168fb, "merge branch tables")
BEFORE_SECOND_WAVE = "9e168fb^1"


def baseline_tree(ref: str, directory: Path) -> tuple[Path, str]:
    """The code of ``ref`` exported into ``directory/src-<sha>`` (once per commit)."""
    sha = subprocess.run(["git", "rev-parse", ref], cwd=REPO_ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    target = directory / f"src-{sha[:12]}"
    if not (target / "mapreduce" / "pipeline.py").exists():
        archive = subprocess.run(["git", "archive", sha], cwd=REPO_ROOT, check=True, capture_output=True).stdout
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target, sha


def run_stage(tree: Path, settings: Settings, framework: str, log: Path) -> tuple[float, dict]:
    """``python -m mapreduce run`` of ``tree`` on the bench lake; (wall seconds, the day's JSON report)."""
    env = {**os.environ, "DATALAKE_ROOT": settings.root, "DATALAKE_MR_FRAMEWORK": framework, "PYTHONPATH": str(tree),
           # the exported tree has no .cache/ or var/: the jar, logs and scratch of this checkout
           "DATALAKE_MR_LIBJAR": settings.mr_libjar, "DATALAKE_MR_LOG_DIR": str(REPO_ROOT / "var" / "log" / "mapreduce"),
           "DATALAKE_MR_LOCAL_TMP": str(REPO_ROOT / "var" / "tmp" / "mrjob")}
    started = time.monotonic()
    with open(log, "w") as stderr:
        result = subprocess.run([sys.executable, "-m", "mapreduce", "run", "--date", DAY.isoformat(), "--json"],
                                cwd=tree, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the stage of {tree} failed (exit {result.returncode}); see {log}")
    return wall, json.loads(result.stdout)[0]  # the report of each day run: one day here


def jobs(report: dict) -> dict[str, float]:
    """Wall seconds per Hadoop job; metrics that ran in one job (mapreduce/mr_metrics.py) are one row."""
    names: dict[str, list[str]] = {}
    walls: dict[str, float] = {}
    for job in report["jobs"]:
        key = job["log_file"] or job["name"]  # the metrics share the one job's log (the local runner has no job id)
        names.setdefault(key, []).append(job["name"])
        walls[key] = job["wall_seconds"]
    return {(members[0] if len(members) == 1 else f"metrics ({len(members)} in one job)"): walls[key]
            for key, members in names.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_second_wave.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    day_arguments(parser)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each variant, alternating (default 2)")
    parser.add_argument("--baseline-ref", default=BEFORE_SECOND_WAVE,
                        help=f"git ref of the stage without the second wave (default {BEFORE_SECOND_WAVE}: main "
                             "before the merge of the second wave)")
    parser.add_argument("--goal", type=float, default=1.3, help="the ratio to stay under (default 1.3)")
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "var" / "bench" / "mapreduce",
                        help="where the generated day is cached (default var/bench/mapreduce)")
    args = parser.parse_args(argv)

    ref = args.baseline_ref
    work = REPO_ROOT / "var" / "bench" / "second-wave"
    work.mkdir(parents=True, exist_ok=True)
    base_tree, base_sha = baseline_tree(ref, work)
    settings = Settings.from_env().with_overrides(root=f"/bench-{uuid.uuid4().hex[:8]}/datalake")
    key = settings.require_pseudonym_key() if settings.pseudonymize else None
    files, meta = prepare_data(args.data_dir, args.statuses, args.instances, args.parts, args.copies, key)
    client, lake = hdfs_client(settings), layout(settings)
    runs: dict[str, list[tuple[float, dict]]] = {"baseline": [], "second wave": []}
    try:
        print(f"uploading to HDFS {settings.root} ...", flush=True)
        upload(client, lake, files)
        for number in range(args.repeat):
            for name, tree in (("baseline", base_tree), ("second wave", REPO_ROOT)):
                print(f"run {number + 1}/{args.repeat}: {name} ({tree}) ...", flush=True)
                runs[name].append(run_stage(tree, settings, args.framework,
                                            work / f"{name.replace(' ', '-')}-{number}.log"))
                print(f"  {runs[name][-1][0]:.1f} s", flush=True)
    finally:
        client.delete(settings.root.rsplit("/", 1)[0], recursive=True)

    (base_wall, base_report), (new_wall, new_report) = (min(runs[name], key=lambda run: run[0]) for name in runs)
    base_jobs, new_jobs = jobs(base_report), jobs(new_report)
    print()
    print(f"Second wave vs the MapReduce stage without it: {args.statuses} statuses, {meta['raw_lines']} raw lines "
          f"({meta['raw_bytes'] / 1e6:.0f} MB of JSON), {args.instances} instances, {os.cpu_count()} cores, "
          f"framework {new_report['framework']}, fastest of {args.repeat} runs each; baseline {base_sha[:10]}")
    print()
    print(f"| {'what':<40} | {'baseline s':>10} | {'second wave s':>13} |")
    print(f"|{'-' * 42}|{'-' * 12}|{'-' * 15}|")
    print(f"| {'MapReduce stage, total (wall)':<40} | {base_wall:>10.1f} | {new_wall:>13.1f} |")
    print(f"| {'  curate (new fields incl. VADER)':<40} | {base_jobs['curate']:>10.1f} | {new_jobs['curate']:>13.1f} |")
    for name in dict.fromkeys([*base_jobs, *new_jobs]):  # the baseline ran a job per metric
        if name == "curate":
            continue
        before = f"{base_jobs[name]:>10.1f}" if name in base_jobs else f"{'-':>10}"
        after = f"{new_jobs[name]:>13.1f}" if name in new_jobs else f"{'-':>13}"
        label = f"  {name}" + (" (new)" if name in SECOND_WAVE else "")
        print(f"| {label:<40} | {before} | {after} |")
    ratio = new_wall / base_wall
    print()
    print(f"extra cost per day: {new_wall - base_wall:+.1f} s; ratio second wave / baseline = {ratio:.2f} "
          f"(goal <= {args.goal:.2f}: {'met' if ratio <= args.goal else 'NOT met'})")
    print(f"curated {new_report['curated']} statuses (baseline {base_report['curated']})")
    return 0 if new_report["curated"] == base_report["curated"] else 1


if __name__ == "__main__":
    sys.exit(main())
