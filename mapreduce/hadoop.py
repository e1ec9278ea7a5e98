"""Running mrjob jobs on Hadoop Streaming: the options every job of the lake gets.

The same code runs against the local stack and a real cluster; only configuration differs:
``HADOOP_HOME``/``HADOOP_CONF_DIR`` say which Hadoop, ``DATALAKE_MR_FRAMEWORK`` may force
``local`` (Hadoop's in-process job runner against the same HDFS) or ``yarn``.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from datalake.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)


class MapReduceError(Exception):
    """A MapReduce job failed; the message names the job and where its logs are."""


def configured_framework(settings: Settings) -> str:
    """``local`` or ``yarn``: DATALAKE_MR_FRAMEWORK, else what mapred-site.xml says."""
    if settings.mr_framework:
        return settings.mr_framework
    conf_dir = os.environ.get("HADOOP_CONF_DIR") or str(REPO_ROOT / "var" / "conf" / "hadoop")
    try:
        root = ET.parse(Path(conf_dir) / "mapred-site.xml").getroot()
    except (OSError, ET.ParseError):
        return "local"
    for prop in root.iter("property"):
        if prop.findtext("name") == "mapreduce.framework.name":
            return (prop.findtext("value") or "local").strip()
    return "local"


@dataclass(frozen=True)
class JobOptions:
    """Command-line options for an mrjob job on the ``hadoop`` runner."""

    framework: str
    python_bin: str
    local_tmp_dir: str

    def args(self, job_name: str | None = None) -> list[str]:
        args = ["-r", "hadoop", "--no-conf", "--python-bin", self.python_bin,
                "-D", f"mapreduce.framework.name={self.framework}"]
        if self.framework == "local":
            # Hadoop's local job runner stages -files on the local filesystem and cannot fetch
            # "hdfs://...#name" entries (a long-standing Hadoop bug, see mrjob issue #940), so
            # mrjob's scratch files stay local too. Input and output are still on HDFS.
            args += ["--hadoop-tmp-dir", f"file://{self.local_tmp_dir}",
                     "-D", f"mapreduce.jobtracker.staging.root.dir={self.local_tmp_dir}/staging",
                     "-D", f"mapreduce.cluster.local.dir={self.local_tmp_dir}/local"]
        if job_name:
            args += ["-D", f"mapreduce.job.name={job_name}"]
        return args


def job_options(settings: Settings) -> JobOptions:
    framework = configured_framework(settings)
    python_bin = os.environ.get("DATALAKE_MR_PYTHON") or sys.executable
    local_tmp = os.environ.get("DATALAKE_MR_LOCAL_TMP") or str(
        REPO_ROOT / "var" / "tmp" / "mrjob" if (REPO_ROOT / "var").is_dir()
        else Path(tempfile.gettempdir()) / "datalake-mrjob")
    return JobOptions(framework=framework, python_bin=python_bin, local_tmp_dir=local_tmp)
