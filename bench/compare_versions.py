"""Same days, two versions of the code: do they load the same HBase cells? (run on demand, not a test)

    . stack/env.sh && python bench/compare_versions.py --baseline c7698bd      # before the stage contract
    python bench/compare_versions.py --baseline 2583842                          # before the one metrics job

A restructuring must not change a number. This runs the same two days through the MapReduce
and HBase stages of a baseline commit (a git worktree under var/compare/) and of this checkout,
each in a lake and a table prefix of its own on the running stack, and compares every cell of
the tables both versions have. The raw zones are collected once per lake by this checkout's
collector from the stand-in federation (seeded, so both get the same statuses), and both
versions run their own command lines (``python -m hbase create-tables``, ``python -m mapreduce
run --date``, ``python -m hbase load --date``) with the same pseudonym key and the local job
runner. Prints a table per HBase table (rows and cells of each version, cells that differ) and
exits 1 when any cell differs. Tables only one version has are listed, not compared.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import happybase

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from collection.collector import RunOptions, collect_instance, day_interval  # noqa: E402
from collection.standin import Federation  # noqa: E402
from datalake.lake import hdfs_client  # noqa: E402
from datalake.report import format_table  # noqa: E402
from datalake.settings import Secret, Settings  # noqa: E402
from hbase.inspect import drop_tables, dump_table  # noqa: E402

DOMAINS = ("alpha.example", "beta.example", "gamma.example")
FIRST_DAY = dt.date(2026, 11, 10)
KEY = "compare-versions-key"


def _collect(settings: Settings, federation: Federation, days: list[dt.date]) -> int:
    written = 0
    with federation.serve() as running:
        for day in days:
            for domain in DOMAINS:
                url = running.url(domain)
                one = settings.with_overrides(instances=(url,))
                written += collect_instance(one, url, *day_interval(day), RunOptions.from_settings(one)).statuses_written
    return written


def _run_version(checkout: Path, settings: Settings, days: list[dt.date], log) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout), "DATALAKE_ROOT": settings.root,
           "HBASE_TABLE_PREFIX": settings.table_prefix, "DATALAKE_PSEUDONYMIZE": "1", "DATALAKE_PSEUDONYM_KEY": KEY,
           "DATALAKE_MR_FRAMEWORK": "local", "DATALAKE_MR_LIBJAR": settings.mr_libjar,
           "DATALAKE_MR_LOG_DIR": str(REPO_ROOT / "var" / "compare" / "logs" / settings.table_prefix)}
    commands = [["hbase", "create-tables"]]
    for day in days:
        commands += [["mapreduce", "run", "--date", day.isoformat()], ["hbase", "load", "--date", day.isoformat()]]
    started = time.monotonic()
    for command in commands:
        print(f"  {checkout.name}: python -m {' '.join(command)}", file=sys.stderr)
        result = subprocess.run([sys.executable, "-m", *command], cwd=checkout, env=env, stdout=log, stderr=log)
        if result.returncode != 0:
            raise SystemExit(f"{checkout}: `python -m {' '.join(command)}` failed (exit {result.returncode}); "
                             f"see {log.name}")
    return time.monotonic() - started


def _dump(settings: Settings) -> dict[str, dict]:
    connection = happybase.Connection(settings.hbase_host, settings.hbase_port, table_prefix=settings.table_prefix)
    try:
        return {name.decode(): dump_table(connection, name.decode()) for name in sorted(connection.tables())}
    finally:
        connection.close()


def _drop(settings: Settings) -> None:
    drop_tables(settings.hbase_host, settings.hbase_port, settings.table_prefix)
    hdfs_client(settings).delete(settings.root, recursive=True)


def _cells(table: dict) -> dict[tuple, bytes]:
    return {(row, column): value for row, columns in table.items() for column, value in columns.items()}


def compare(baseline: dict[str, dict], current: dict[str, dict]) -> tuple[list[tuple], int]:
    """One row per table (rows and cells of each version, cells that differ); the number of cells differing."""
    rows, differing = [], 0
    for table in sorted(set(baseline) | set(current)):
        if table not in baseline or table not in current:
            rows.append((table, "-" if table not in baseline else len(baseline[table]), "-" if table not in current
                         else len(current[table]), "", "", "only in one version"))
            continue
        before, after = _cells(baseline[table]), _cells(current[table])
        changed = sum(1 for cell in set(before) | set(after) if before.get(cell) != after.get(cell))
        differing += changed
        rows.append((table, len(baseline[table]), len(current[table]), len(before), len(after), changed))
    return rows, differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/compare_versions.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the commit to compare this checkout with")
    parser.add_argument("--days", type=int, default=2, help="days run through both versions (default 2)")
    parser.add_argument("--statuses", type=int, default=300, help="statuses per instance and day (default 300)")
    parser.add_argument("--keep", action="store_true", help="keep the lakes, tables and worktree (to look at them)")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    worktree = REPO_ROOT / "var" / "compare" / commit
    if not worktree.is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), commit], cwd=REPO_ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    days = [FIRST_DAY + dt.timedelta(days=offset) for offset in range(args.days)]
    federation = Federation(seed=2026, domains=DOMAINS, start=FIRST_DAY, days=args.days,
                            statuses_per_day=args.statuses, accounts_per_instance=40)
    base = Settings.from_env()
    run_id = uuid.uuid4().hex[:6]
    lakes = {name: base.with_overrides(root=f"/compare-{run_id}-{name}", table_prefix=f"cmp{run_id}{name}",
                                       pseudonymize=True, pseudonym_key=Secret(KEY)) for name in ("base", "head")}
    log_path = REPO_ROOT / "var" / "compare" / f"{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log_path, "w") as log:
            for name, checkout in (("base", worktree), ("head", REPO_ROOT)):
                statuses = _collect(lakes[name], federation, days)
                seconds = _run_version(checkout, lakes[name], days, log)
                print(f"{name} ({commit if name == 'base' else 'this checkout'}): {statuses:,} raw statuses, "
                      f"MapReduce + HBase in {seconds:.0f} s", file=sys.stderr)
        rows, differing = compare(_dump(lakes["base"]), _dump(lakes["head"]))
        print(f"\nHBase cells after {args.days} days ({', '.join(map(str, days))}): baseline {commit} vs this checkout\n")
        print(format_table(["table", f"rows {commit}", "rows now", f"cells {commit}", "cells now", "cells differing"],
                           rows))
        print(f"\n{'SAME CELLS' if differing == 0 else f'{differing} CELLS DIFFER'} in the tables both versions have; "
              f"log: {log_path}")
        return 0 if differing == 0 else 1
    finally:
        if not args.keep:
            for settings in lakes.values():
                _drop(settings)
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
