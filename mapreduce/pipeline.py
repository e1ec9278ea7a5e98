"""The MapReduce stage: for each day, curate, the Parquet copy of the curated partition, then the
metrics (one Hadoop job for all, mapreduce/mr_metrics.py), each metric's output moved into its zone.

``run(settings, days)`` (the stage contract, through ``mapreduce.run``) is what the DAG and
``python -m mapreduce run`` call; it runs :func:`run_day` for each day and returns a
:class:`MapReduceReport` whose ``failed`` lists the jobs that failed (their logs named). Every job
writes to a scratch directory (``<root>/_work/<pid>+<start>+<host>+mapreduce-<day>-<random>/<job>``,
removed by the next run when a kill left it) that is then moved into its zone in one step
(:func:`datalake.lake.replace_directory`), so readers see the old or the new partition whole and a
rerun of a day gives the same files. Before curate, every raw part of the
day is read to its end once; a damaged one is quarantined instead of failing the day
(:mod:`mapreduce.rawcheck`, ``DayReport.damaged_parts``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import posixpath
import shutil
import time
import uuid
from pathlib import Path

from hdfs import HdfsError

import privacy
from datalake.errors import ConfigError
from datalake.lake import (LakeError, delete_quietly, exists, hdfs_client, layout, list_files, list_names,
                           prepare_lake, replace_directory)
from datalake.settings import Settings
from mapreduce import parquet
from mapreduce.hadoop import JobRun, MapReduceError, job_options, run_job, uber_mode
from mapreduce.report import DayReport, JobReport, MapReduceReport
from mapreduce.scratch import owner_alive, owner_tag, private_dir, sweep_private_dirs
from mapreduce.mr_curate import CURATED, ERASURE_LIST_FILE, PSEUDONYM_KEY_FILE, QUARANTINE, MRCurate
from mapreduce.mr_metrics import METRIC_JOBS, METRICS, MRMetrics, metric_counters
from mapreduce.rawcheck import quarantine_damaged_parts

log = logging.getLogger(__name__)

def run_day(settings: Settings, day: dt.date, metrics: list[str] | None = None, *,
            curate: bool = True, curate_reducers: int | None = None, metric_reducers: int | None = None,
            jobconf: dict[str, str] | None = None) -> DayReport:
    """Curate ``day``'s raw zone (every instance), then compute the metrics on the curated zone:
    one Hadoop job for all of them (mapreduce/mr_metrics.py), each metric's output moved into its zone.

    ``metrics``: a subset of :data:`METRICS` (default all). ``curate=False`` reuses the curated
    partition already in the lake. ``curate_reducers``, ``metric_reducers`` and ``jobconf`` (Hadoop
    properties for every job) tune. The report has one job per metric; a failure of the metrics job
    fails each of them, naming the job's log.
    """
    chosen = list(METRICS) if metrics is None else list(dict.fromkeys(metrics))
    unknown = [name for name in chosen if name not in METRIC_JOBS]
    if unknown:
        raise MapReduceError(f"unknown metric(s) {', '.join(unknown)}; the metrics are {', '.join(METRICS)}",
                             permanent=True)
    framework = job_options(settings).framework
    tuning = {"curate_reducers": curate_reducers,
              "metric_reducers": metric_reducers or settings.mr_metric_reducers, "jobconf": dict(jobconf or {}),
              "uber": framework == "yarn" and uber_mode(settings)}
    lake, client = layout(settings), hdfs_client(settings)
    prepare_lake(client, lake, settings.hdfs_user)
    report = DayReport(day=day, framework=framework)
    _sweep_work_dirs(client, lake)
    # named after this process (mapreduce/scratch.py), so that the next run removes it after a SIGKILL
    work = lake.work(f"{owner_tag()}+mapreduce-{day.isoformat()}-{uuid.uuid4().hex[:6]}")
    log_dir = Path(settings.mr_log_dir) / day.isoformat()
    started = time.monotonic()
    log.info("MapReduce stage for %s on %s (lake %s, work dir %s, logs %s)", day, framework, settings.root, work, log_dir)
    try:
        if curate:
            curate_job = _curate(settings, client, lake, day, work, log_dir, report, tuning)
            report.jobs.append(curate_job)
            if curate_job.status == "failed":  # the metrics would read yesterday's curated partition
                return report
        report.jobs.append(_parquet(client, lake, day, work))
        curated_files = list_files(client, lake.curated(day))
        if not curated_files:
            log.warning("%s: the curated partition %s holds no record: writing empty aggregates", day,
                        lake.curated(day))
        report.jobs += _metrics(settings, client, lake, day, work, log_dir, chosen, bool(curated_files), tuning)
    finally:
        delete_quietly(client, work)
        report.wall_seconds = time.monotonic() - started
    if report.failed:
        log.error("MapReduce stage for %s: %d job(s) failed", day, len(report.failed))
        return report
    log.info("MapReduce stage for %s done in %.1f s: %d raw lines, %d curated, %d quarantined, %d noindex skipped",
             day, report.wall_seconds, report.raw_lines, report.curated, report.quarantined, report.noindex_skipped)
    return report


def _sweep_work_dirs(client, lake) -> None:
    """Delete the work directories of stage runs on this host whose process is gone (a SIGKILL skips
    the ``finally`` that deletes them); those of live runs, and of other hosts, stay."""
    parent = lake.work_root
    gone = [name for name in list_names(client, parent) if "+mapreduce-" in name and not owner_alive(name)]
    for name in gone:
        delete_quietly(client, posixpath.join(parent, name))
    if gone:
        log.info("removed %d work dir(s) of MapReduce runs that are gone under %s: %s", len(gone), parent,
                 ", ".join(gone))


def raw_partitions(client, lake, day: dt.date) -> list[str]:
    """The day's raw partitions (one per instance) that hold at least one finished file."""
    base = lake.raw_root
    partitions = []
    for instance in list_names(client, base):
        if instance.startswith("instance="):
            partition = posixpath.join(base, instance, f"dt={day.isoformat()}")
            if list_files(client, partition):
                partitions.append(partition)
    return partitions


#: curate reads the raw parts with datalake.mapreduce.PathLineCombineInputFormat: whole parts
#: packed into map tasks of at most this many (compressed) bytes, so that a day of many small
#: gzip parts (a collector flush each) starts a few map tasks, not one per part, and a big day
#: several of even size (a 100k-status day is ~75 MB: 5 map tasks) that run side by side (the
#: local runner: 2 at a time; 64 MiB split one such day 20,050 / 174,616 lines).
CURATE_SPLIT_BYTES = 16 << 20
#: Hadoop runs a job inside its ApplicationMaster (uber mode, when mapred-site.xml enables it) if
#: it has at most 9 maps, 1 reducer and a block (128 MiB) of input: no container to wait for.
UBER_MAX_BYTES = 128 << 20
_SPLIT_MAX = "mapreduce.input.fileinputformat.split.maxsize"


def uber_day(uber: bool, input_bytes: int) -> bool:
    """A job over ``input_bytes`` is to run in uber mode (one reducer; ``uber``: YARN with uber mode
    enabled, hadoop.uber_mode). The number of reducers and maps only shares the work: the curated
    records and every aggregate are the same for any number."""
    return uber and input_bytes <= UBER_MAX_BYTES


def curate_plan(uber: bool, configured: int, raw_bytes: int) -> tuple[int, int]:
    """The curate job's (reducers, split bytes). Where uber mode is on, a day of at most
    UBER_MAX_BYTES gets one reducer and one split, so that it runs inside its ApplicationMaster,
    one task after the other: on two cores that beat map tasks side by side in containers
    (bench/bench_stages.py, 100k on YARN: curate 73 s in uber mode, 80 s in five containers). Else
    ``configured`` reducers (DATALAKE_MR_CURATE_REDUCERS) and splits of CURATE_SPLIT_BYTES."""
    if uber_day(uber, raw_bytes):
        return 1, UBER_MAX_BYTES
    return configured, CURATE_SPLIT_BYTES


def _curate(settings, client, lake, day, work, log_dir, report: DayReport, tuning: dict) -> JobReport:
    curated_zone, quarantine_zone = lake.curated(day), lake.quarantine("curate", day)
    output = posixpath.join(work, "curate")
    report.damaged_parts = quarantine_damaged_parts(client, lake, day)
    partitions = raw_partitions(client, lake, day)
    report.raw_partitions = partitions
    job = JobReport(name="curate", status="succeeded", output=curated_zone)
    if not partitions:
        log.warning("%s: no raw input under %s: writing empty curated and quarantine partitions",
                    day, lake.raw_day_glob(day))
        job.status = "no-input"
    else:
        log.info("curate %s: %d raw partition(s): %s", day, len(partitions),
                 ", ".join(posixpath.basename(posixpath.dirname(path)) for path in partitions))
        if tuning["curate_reducers"] is not None:
            reducers, split_bytes = tuning["curate_reducers"], CURATE_SPLIT_BYTES
        else:  # the day's size matters only where uber mode is on
            raw_bytes = sum(client.content(part)["length"] for part in partitions) if tuning["uber"] else 0
            reducers, split_bytes = curate_plan(tuning["uber"], settings.mr_curate_reducers, raw_bytes)
        jobconf = {_SPLIT_MAX: str(split_bytes), **tuning["jobconf"]}
        with _curate_files(settings, client, lake, report.framework) as extra:
            run = _run(job, MRCurate, settings, day=day, inputs=[lake.raw_day_glob(day)], output=output,
                       log_dir=log_dir, extra_args=["--combine-input", "1", *extra], reducers=reducers,
                       jobconf=jobconf)
        if run is None:
            return job
    _move_into_zone(client, posixpath.join(output, CURATED), curated_zone)
    _move_into_zone(client, posixpath.join(output, QUARANTINE), quarantine_zone)
    if job.status == "succeeded":
        log.info("curate %s: %d raw lines → %d curated statuses (%d duplicate copies), %d quarantined, "
                 "%d noindex statuses skipped, %d lines of erased people left out, in %.1f s", day,
                 job.counter("datalake", "raw_lines"), job.counter("datalake", "curated_statuses"),
                 job.counter("datalake", "duplicate_copies"), job.counter("datalake", "quarantined"),
                 job.counter("datalake", "noindex_statuses"), job.counter("datalake", "erased_lines"),
                 job.wall_seconds)
    return job


def _parquet(client, lake, day, work) -> JobReport:
    """The Parquet copy of the day's curated partition (mapreduce/parquet.py), rewritten on every run."""
    job = JobReport(name="parquet", status="succeeded", output=lake.curated_parquet(day))
    started = time.monotonic()
    try:
        copy = parquet.copy_day(client, lake, day, work)
    except LakeError as error:
        job.status, job.error = "failed", f"parquet: {error}"
        log.error("%s", job.error)
    else:
        job.counters = {"parquet": {"files": copy.files, "rows": copy.rows, "bytes": copy.bytes}}
        log.info("parquet %s: %d rows in %d file(s), %d bytes", day, copy.rows, copy.files, copy.bytes)
    job.wall_seconds = time.monotonic() - started
    return job


def _metrics(settings, client, lake, day, work, log_dir, chosen: list[str], has_input: bool,
             tuning: dict) -> list[JobReport]:
    """The chosen metrics in one Hadoop job; a report per metric, from that job's counters."""
    output = posixpath.join(work, "metrics")
    jobs = [JobReport(name=name, status="succeeded", output=lake.aggregates(name, day)) for name in chosen]
    if not has_input:
        for job in jobs:
            job.status = "no-input"
    else:
        log.info("metrics %s: running %s", day, ", ".join(chosen))
        together = JobReport(name="metrics", status="succeeded", output=output)
        jobconf = dict(tuning["jobconf"])
        if tuning["uber"] and tuning["metric_reducers"] == 1 \
                and uber_day(True, client.content(lake.curated(day))["length"]):
            jobconf.setdefault("mapreduce.job.maps", "1")  # one split per curated file, not two
        run = _run(together, MRMetrics, settings, day=day, inputs=[lake.curated(day)], output=output,
                   log_dir=log_dir, extra_args=["--metrics", ",".join(chosen)], reducers=tuning["metric_reducers"],
                   jobconf=jobconf)
        framework = together.counters.get("Map-Reduce Framework", {})
        for job in jobs:
            job.status, job.error, job.log_file = together.status, together.error, together.log_file
            job.wall_seconds, job.job_id = together.wall_seconds, together.job_id
            if run is not None:
                own = metric_counters(together.counters.get("datalake", {}), job.name)
                job.counters = {"datalake": own, "Map-Reduce Framework": {
                    "Map input records": framework.get("Map input records", 0),
                    "Reduce output records": own.pop("rows", 0)}}
        if run is None:
            return jobs
    for job in jobs:
        try:
            _move_into_zone(client, posixpath.join(output, job.name), job.output)
        except LakeError as error:
            job.status, job.error = "failed", f"{job.name}: {error}"
            continue
        if job.status == "succeeded":
            log.info("%s %s: %d statuses → %d rows", job.name, day, job.counter("datalake", "statuses"),
                     job.records_out)
    if has_input:
        log.info("metrics %s: %d statuses, %d metrics in %.1f s", day, jobs[0].counter("datalake", "statuses"),
                 len(jobs), jobs[0].wall_seconds)
    return jobs


def _run(job: JobReport, job_class, settings, *, day, inputs, output, log_dir: Path, extra_args=(),
         reducers=None, jobconf=None) -> JobRun | None:
    job_name = f"datalake-{job.name}-{day.isoformat()}"
    try:
        run = run_job(job_class, settings, name=job.name, job_name=job_name, inputs=inputs, output_dir=output,
                      log_file=log_dir / f"{job.name}.log", extra_args=extra_args, reducers=reducers,
                      jobconf=jobconf)
    except MapReduceError as error:
        job.status, job.error, job.log_file = "failed", str(error), str(log_dir / f"{job.name}.log")
        log.error("%s", error)
        return None
    job.wall_seconds, job.counters, job.job_id, job.log_file = run.wall_seconds, run.counters, run.job_id, run.log_file
    return run


def _require_key(settings: Settings) -> bytes:
    try:
        return settings.require_pseudonym_key()
    except ConfigError as error:
        raise MapReduceError(f"curate: {error}") from error


@contextlib.contextmanager
def _curate_files(settings: Settings, client, lake, framework: str):
    """curate's private inputs as mrjob arguments: ``--pseudonymize``, ``--erasure-list`` and the
    ``--files`` of the pseudonym key (when pseudonymizing, or when the erasure list has entries: its
    digests are keyed) and of the erasure list's digests, one per line. Both are deleted afterwards."""
    digests = privacy.erasure_digests(client, lake)
    extra = ["--pseudonymize", "1" if settings.pseudonymize else "0", "--erasure-list", "1" if digests else "0"]
    with contextlib.ExitStack() as shipped:
        if settings.pseudonymize or digests:
            key_uri = shipped.enter_context(_shipped_private_file(settings, client, framework, PSEUDONYM_KEY_FILE,
                                                                  _require_key(settings)))
            extra += ["--files", f"{key_uri}#{PSEUDONYM_KEY_FILE}"]
        if digests:
            log.info("curate: the erasure list's %d entr%s leave(s) its people out of the curated zone",
                     len(digests), "y" if len(digests) == 1 else "ies")
            list_uri = shipped.enter_context(_shipped_private_file(settings, client, framework, ERASURE_LIST_FILE,
                                                                   "".join(f"{d}\n" for d in digests).encode()))
            extra += ["--files", f"{list_uri}#{ERASURE_LIST_FILE}"]
        yield extra


@contextlib.contextmanager
def _shipped_private_file(settings: Settings, client, framework: str, name: str, data: bytes):
    """``data`` (the HMAC key, the erasure list's digests) as a file for the distributed cache
    (``--files URI#name``), deleted afterwards. Never on a command line, in the job configuration
    (JobHistory shows it) or in the lake.

    Local job runner: a mode-600 file in a private directory (mode 700, :func:`mapreduce.scratch.private_dir`),
    given as a ``file://`` URI so that mrjob ships it as it is (it would copy a plain path with
    mode 644) and Hadoop localizes it as a private file (mode 500) into the job's own private
    directory. YARN: a mode-600 file in a mode-700 HDFS directory outside the lake. mrjob would
    upload a local file world-readable, and YARN caches a world-readable file in the node's PUBLIC
    cache, readable by every user and kept after the job; a private one goes to the job user's
    private cache instead. Either way the file is named after the process that shipped it, so that
    the next run removes what a killed one left (:func:`mapreduce.scratch.sweep_private_dirs`).
    """
    if framework == "local":
        scratch = job_options(settings).local_tmp_dir
        sweep_private_dirs(scratch)
        directory = private_dir(scratch, name.replace(".", "-"))
        path = directory / name
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as shipped:
                shipped.write(data)
            yield f"file://{path}"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    directory = settings.mr_key_dir.format(user=settings.hdfs_user)
    path = posixpath.join(directory, f"{owner_tag()}+{uuid.uuid4().hex}.{name}")
    try:
        client.makedirs(directory, permission="700")
        client.set_permission(directory, "700")
        for stale in client.list(directory):  # files of runs that were killed on this host
            if not owner_alive(stale):
                client.delete(posixpath.join(directory, stale))
        client.write(path, data=data, permission="600", overwrite=True)
    except HdfsError as error:
        raise MapReduceError(f"curate: could not stage {name} in HDFS under {directory}: {error}") from error
    try:
        yield "hdfs://" + path
    finally:
        delete_quietly(client, path)


def _move_into_zone(client, source: str, zone: str) -> None:
    """Move a job's output directory into its zone; no output (e.g. no bad line) → an empty partition."""
    if not exists(client, source):
        client.makedirs(source)
    replace_directory(client, source, zone)


def run(settings: Settings, days, metrics: list[str] | None = None, **options) -> MapReduceReport:
    """The stage contract: :func:`run_day` for each day, in order; one day's failure does not stop the next."""
    report = MapReduceReport()
    for day in sorted(set(days)):
        report.days.append(run_day(settings, day, metrics, **options))
    return report
