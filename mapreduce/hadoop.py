"""Running mrjob jobs on Hadoop Streaming: the options every job of the lake gets.

The same code runs against the local stack and a real cluster; only configuration differs:
``HADOOP_HOME``/``HADOOP_CONF_DIR`` say which Hadoop, ``DATALAKE_MR_FRAMEWORK`` may force
``local`` (Hadoop's in-process job runner against the same HDFS) or ``yarn``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shlex
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mrjob.step import StepFailedException

from datalake.errors import DatalakeError
from datalake.lake import hdfs_client
from datalake.settings import REPO_ROOT, Settings
from mapreduce.causes import hadoop_property, last_error_line, unanswered_service
from mapreduce.scratch import private_dir, sweep_private_dirs
from mapreduce.webhdfs_fs import WebHdfsFilesystem

log = logging.getLogger(__name__)


class MapReduceError(DatalakeError):
    """A MapReduce job failed; the message names the job and where its logs are."""


def configured_framework(settings: Settings) -> str:
    """``local`` or ``yarn``: DATALAKE_MR_FRAMEWORK, else what mapred-site.xml says."""
    if settings.mr_framework:
        return settings.mr_framework
    return hadoop_property(settings.hadoop_conf_dir, "mapred-site.xml", "mapreduce.framework.name") or "local"


def uber_mode(settings: Settings) -> bool:
    """Whether mapred-site.xml lets a small job run inside its ApplicationMaster (Hadoop's default:
    no; the single-node stack: yes; the multi-node cluster: no, its tasks spread over the nodes)."""
    value = hadoop_property(settings.hadoop_conf_dir, "mapred-site.xml", "mapreduce.job.ubertask.enable")
    return (value or "false").lower() == "true"


@dataclass(frozen=True)
class JobOptions:
    """Command-line options for an mrjob job on the ``hadoop`` runner."""

    framework: str
    python_bin: str
    local_tmp_dir: str
    #: JVM options of the `hadoop jar` client, which with the local framework also runs the
    #: tasks' Java side (DATALAKE_MR_CLIENT_OPTS)
    client_opts: str = ""
    #: heap of that JVM: with the local framework it holds the map sort buffers and the shuffle
    client_heap: str = ""
    hadoop_opts: str = ""  # HADOOP_OPTS of the environment, kept before client_opts
    hadoop_home: str = ""
    libjar: str = ""
    jobhistory_url: str = "http://localhost:19888"

    def args(self, job_name: str | None = None, scratch_dir: str | Path | None = None,
             hdfs_user: str | None = None) -> list[str]:
        """``scratch_dir``: the job's own local directory (:func:`mapreduce.scratch.private_dir`), else the shared
        ``local_tmp_dir``; ``hdfs_user``: on YARN, whose HDFS home holds mrjob's files (mrjob
        would take the OS user's)."""
        args = ["-r", "hadoop", "--no-conf", "--python-bin", self.python_bin,
                "-D", f"mapreduce.framework.name={self.framework}"]
        scratch = str(scratch_dir or self.local_tmp_dir)
        if self.framework == "local":
            # Hadoop's local job runner stages -files on the local filesystem and cannot fetch
            # "hdfs://...#name" entries (a long-standing Hadoop bug, see mrjob issue #940), so
            # mrjob's scratch files stay local too. Input and output are still on HDFS.
            args += ["--hadoop-tmp-dir", f"file://{scratch}",
                     "-D", f"mapreduce.jobtracker.staging.root.dir={scratch}/staging",
                     "-D", f"mapreduce.cluster.local.dir={scratch}/local",
                     # reducers share the client JVM's heap with each other and the map sort
                     # buffers, while each assumes the heap is its own (70% by default)
                     "-D", "mapreduce.reduce.shuffle.input.buffer.percent=0.25"]
        elif hdfs_user:
            args += ["--hadoop-tmp-dir", f"hdfs:///user/{hdfs_user}/tmp/mrjob"]
        if job_name:
            args += ["-D", f"mapreduce.job.name={job_name}"]
        return args


def job_options(settings: Settings) -> JobOptions:
    """The options of every job, from the settings. The default client JVM options (the serial
    collector and the C1 compiler only: short jobs on 2 cores, measured with bench/bench_mapreduce.py
    a small job ~4.5 → ~3.5 s) are Settings.mr_client_opts."""
    framework = configured_framework(settings)
    local_tmp = settings.mr_local_tmp or str(
        REPO_ROOT / "var" / "tmp" / "mrjob" if (REPO_ROOT / "var").is_dir()
        else Path(tempfile.gettempdir()) / "datalake-mrjob")
    client_heap = settings.mr_client_heap or ("2g" if framework == "local" else "")
    return JobOptions(framework=framework, python_bin=settings.mr_python, local_tmp_dir=local_tmp,
                      client_opts=settings.mr_client_opts, client_heap=client_heap, hadoop_opts=settings.hadoop_opts,
                      hadoop_home=settings.hadoop_home, libjar=settings.mr_libjar,
                      jobhistory_url=settings.jobhistory_url)


# ---------------------------------------------------------------------------------------------
# Running one job

#: Java package of the project's Hadoop classes (stack/java), shipped in Settings.mr_libjar
PROJECT_CLASS_PREFIX = "datalake."
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass
class JobRun:
    """What one finished job reports: its Hadoop counters, wall time and where to look."""

    name: str
    job_name: str
    output_dir: str
    wall_seconds: float
    counters: dict[str, dict[str, int]]
    job_id: str | None
    log_file: str

    def counter(self, group: str, name: str, default: int = 0) -> int:
        return self.counters.get(group, {}).get(name, default)

    def lake_counter(self, name: str) -> int:
        return self.counter("datalake", name)


def hdfs_uri(path: str) -> str:
    """An HDFS path as Hadoop takes it (``hdfs:///datalake/...``, the default file system's host)."""
    return path if "://" in path else "hdfs://" + path


def package_zip(directory: str | Path) -> str:
    """A zip of the ``mapreduce`` package and the ground's pure rules it imports
    (``datalake/pseudonyms.py``) for the tasks' PYTHONPATH (mrjob ``--py-files``), so that tasks
    import the same code on any node; named by content, built once per change."""
    sources = [(source, f"mapreduce/{source.name}") for source in sorted(_PACKAGE_DIR.glob("*.py"))]
    ground = _PACKAGE_DIR.parent / "datalake"
    sources += [(ground / name, f"datalake/{name}") for name in SHIPPED_GROUND]
    digest = hashlib.sha256()
    for source, name in sources:
        digest.update(name.encode() + b"\0" + source.read_bytes() + b"\0")
    target = Path(directory) / f"mapreduce-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for source, name in sources:
                archive.write(source, name)
        os.replace(partial, target)
    return str(target)


#: the modules of datalake/ that the tasks import (standard library only)
SHIPPED_GROUND = ("__init__.py", "pseudonyms.py")


def require_libjar(libjar: str) -> str:
    if not Path(libjar).is_file():
        raise MapReduceError(
            f"{libjar} is missing: it holds the curate job's input and output formats (stack/java); "
            "run `make setup` (or ./stack/setup.sh) to build it", permanent=True)
    return libjar


class _ThreadFilter(logging.Filter):
    """Keeps the records of one thread: jobs may run concurrently, each with its own log file."""

    def __init__(self, thread_id: int):
        super().__init__()
        self.thread_id = thread_id

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread_id


def run_job(job_class, settings: Settings, *, name: str, job_name: str, inputs: list[str], output_dir: str,
            log_file: str | Path, extra_args: list[str] | tuple = (), reducers: int | None = None,
            jobconf: dict[str, str] | None = None) -> JobRun:
    """Run one mrjob job with the ``hadoop`` runner, reading ``inputs`` and writing ``output_dir``
    (HDFS paths). mrjob's and Hadoop's output go to ``log_file``; failure → MapReduceError."""
    options = job_options(settings)
    scratch = Path(options.local_tmp_dir)
    sweep_private_dirs(scratch)
    # Every local file of the job (mrjob's copies, Hadoop's localized cache with the pseudonym
    # key, the task directory into which the local job runner symlinks them) lives in a directory
    # of its own under a mode-700 parent, removed at the end, swept after a kill.
    job_dir = private_dir(scratch, name)
    task_dir = _mkdir(job_dir / "wd")
    # the hadoop command acts as the lake's HDFS user, like the WebHDFS client (simple authentication)
    launcher = ["env", f"--chdir={task_dir}", f"HADOOP_USER_NAME={settings.hdfs_user}"]
    if options.client_heap:
        launcher.append(f"HADOOP_HEAPSIZE_MAX={options.client_heap}")
    if options.client_opts:
        launcher.append("HADOOP_OPTS=" + " ".join(filter(None, [options.hadoop_opts, options.client_opts])))
    if options.framework == "local":
        # tasks are children of this machine's client JVM and inherit its environment: the
        # package is importable as it is here, without a setup wrapper per task
        launcher.append("PYTHONPATH=" + os.pathsep.join(
            [str(_PACKAGE_DIR.parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        code_args = []
    else:  # containers on any node: ship the package
        code_args = ["--py-files", package_zip(scratch / "py-files")]
    args = options.args(job_name, scratch_dir=job_dir, hdfs_user=settings.hdfs_user) + [
        "--hadoop-bin", shlex.join(launcher + [_hadoop_bin(options.hadoop_home)]),
        "--local-tmp-dir", str(job_dir / "mrjob"),
        *code_args,
        "--no-bootstrap-mrjob",          # tasks run the venv's python, which has mrjob
        "--no-check-input-paths",        # the runner checked them; each check costs a JVM
        "--cleanup-on-failure", "TMP",   # never leave shipped files (the pseudonym key) behind
        "--output-dir", hdfs_uri(output_dir),
    ]
    if uses_project_classes(job_class, extra_args):
        args += ["--libjars", require_libjar(options.libjar)]
    if reducers is not None:
        args += ["-D", f"mapreduce.job.reduces={reducers}"]
    for key, value in (jobconf or {}).items():
        args += ["-D", f"{key}={value}"]
    args += list(extra_args) + [hdfs_uri(path) for path in inputs]

    log_path = Path(log_file)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ThreadFilter(threading.get_ident()))
    mrjob_log = logging.getLogger("mrjob")
    if mrjob_log.getEffectiveLevel() > logging.INFO:
        mrjob_log.setLevel(logging.INFO)
    mrjob_log.addHandler(handler)
    started = time.monotonic()
    job = job_class(args=args)
    runner = None
    try:
        with job.make_runner() as runner:
            _prefer_local_filesystem(runner, options.hadoop_home, settings)
            try:
                runner.run()
            except Exception as error:  # StepFailedException, or Hadoop not found, ...
                raise MapReduceError(_failure_message(name, job_name, runner, options, log_path,
                                                      error, settings.hadoop_conf_dir)) from error
            counters = _merge_counters(runner.counters())
            job_id = _job_id(runner)
    finally:
        mrjob_log.removeHandler(handler)
        handler.close()
        shutil.rmtree(job_dir, ignore_errors=True)
    return JobRun(name=name, job_name=job_name, output_dir=output_dir,
                  wall_seconds=time.monotonic() - started, counters=counters, job_id=job_id,
                  log_file=str(log_path))


def uses_project_classes(job_class, extra_args=()) -> bool:
    """The job, with these arguments, reads or writes through a class of stack/java (its input
    format may depend on an option, e.g. curate's ``--combine-input``)."""
    job = job_class(args=list(extra_args))
    return any((name or "").startswith(PROJECT_CLASS_PREFIX)
               for name in (job.hadoop_input_format(), job.hadoop_output_format()))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hadoop_bin(home: str) -> str:
    if home and os.access(os.path.join(home, "bin", "hadoop"), os.X_OK):
        return os.path.join(home, "bin", "hadoop")
    found = shutil.which("hadoop")
    if not found:
        raise MapReduceError("no `hadoop` command: set HADOOP_HOME (`. stack/env.sh` does) or put hadoop on PATH",
                             permanent=True)
    return found


_HADOOP_VERSIONS: dict[str, str] = {}


def _prefer_local_filesystem(runner, hadoop_home: str, settings: Settings) -> None:
    """mrjob hands ``file://`` paths to ``hadoop fs`` (a JVM per mkdir/put, ~1 s each) before its
    local filesystem; with the local job runner every scratch path is ``file://``. Put the local
    filesystem first, then WebHDFS for HDFS paths (mapreduce/webhdfs_fs.py: the uploads of a job
    on YARN), then Hadoop for what WebHDFS leaves. And ask ``hadoop version`` (a JVM) once per
    process, not once per job."""
    if getattr(runner, "_fs", "missing") is None:
        from mrjob.fs.composite import CompositeFilesystem
        from mrjob.fs.hadoop import HadoopFilesystem
        from mrjob.fs.local import LocalFilesystem

        hadoop_bin = runner._opts["hadoop_bin"] or None  # noqa: SLF001
        hadoop = HadoopFilesystem(hadoop_bin)
        version_key = hadoop_home + "|" + _hadoop_bin(hadoop_home)
        if version_key in _HADOOP_VERSIONS:
            hadoop._hadoop_version = _HADOOP_VERSIONS[version_key]  # noqa: SLF001
        else:
            _HADOOP_VERSIONS[version_key] = hadoop.get_hadoop_version()
        filesystem = CompositeFilesystem()
        filesystem.add_fs("local", LocalFilesystem())
        filesystem.add_fs("webhdfs", WebHdfsFilesystem(hdfs_client(settings), hadoop))
        filesystem.add_fs("hadoop", hadoop)
        runner._fs = filesystem  # noqa: SLF001


def _merge_counters(per_step: list[dict]) -> dict[str, dict[str, int]]:
    merged: dict[str, dict[str, int]] = {}
    for step in per_step or ():
        for group, names in (step or {}).items():
            for counter, value in names.items():
                merged.setdefault(group, {})
                merged[group][counter] = merged[group].get(counter, 0) + value
    return merged


def _step_interpretation(runner) -> dict:
    interpretations = getattr(runner, "_log_interpretations", None) or [{}]
    return interpretations[-1].get("step") or {}


def _job_id(runner) -> str | None:
    return _step_interpretation(runner).get("job_id")


def _failure_message(name: str, job_name: str, runner, options: JobOptions, log_path: Path, error: Exception,
                     conf_dir: str = "") -> str:
    framework = options.framework
    step = _step_interpretation(runner) if runner is not None else {}
    job_id, application_id = step.get("job_id"), step.get("application_id")
    where = [f"log: {log_path}"]
    if framework == "yarn" and job_id:
        where.append(f"JobHistory: {options.jobhistory_url}/jobhistory/job/{job_id}")
    if application_id:
        where.append(f"task logs: yarn logs -applicationId {application_id}")
    cause = ""
    try:
        picked = runner._pick_error(runner._log_interpretations[-1], "streaming") if runner is not None else None
    except Exception:  # noqa: BLE001 - the cause is a bonus; never hide the failure itself
        picked = None
    if picked:
        task_error = (picked.get("task_error") or picked.get("hadoop_error") or {}).get("message", "")
        if task_error:
            cause = " - cause: " + " | ".join(task_error.strip().splitlines()[-3:])
    if not cause:  # the local job runner prints the tasks' stderr into the job's own output
        cause = last_error_line(log_path)
    cause += unanswered_service(log_path, conf_dir)
    what = str(error)
    if isinstance(error, StepFailedException):  # its text repeats the whole hadoop command line
        what = "the Hadoop Streaming step failed"
    return (f"MapReduce job {name} ({job_name}{', ' + job_id if job_id else ''}) failed on {framework}: "
            f"{what}{cause}; {'; '.join(where)}")
