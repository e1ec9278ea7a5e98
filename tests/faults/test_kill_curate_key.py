"""A curate run SIGKILLed while the pseudonym key sits in its local scratch (Hadoop's local job
runner): the key's copies are owner-only while they exist, and the next run removes what the
killed one left, so no copy of the key outlives the run that needed it."""
from __future__ import annotations

import datetime as dt
import os
import posixpath
import stat
import time
from pathlib import Path

from datalake.lake import layout
from datalake.settings import Secret
from mapreduce.hadoop import job_options
from mapreduce.scratch import PRIVATE_DIRS
from mapreduce.pipeline import run_day
from tests.faults.tools import Watched, python_command, subprocess_env
from tests.fixtures.mapreduce.rawday import generate_day, write_day_to_hdfs

KEY = "kill-test-key-8e21d0c5"
DAY = dt.date(2026, 8, 21)


def key_copies(scratch: Path) -> dict[Path, int]:
    """Every file under the private scratch that holds the key, with its mode."""
    found = {}
    for directory, _, names in os.walk(scratch / PRIVATE_DIRS):
        for name in names:
            path = Path(directory) / name
            try:
                if not path.is_symlink() and path.stat().st_size < 4096 and KEY.encode() in path.read_bytes():
                    found[path] = stat.S_IMODE(path.stat().st_mode)
            except OSError:
                pass
    return found


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


CURATE_IN_A_SUBPROCESS = f"""
import datetime as dt, logging
from datalake.settings import Settings
from mapreduce.pipeline import run_day
logging.basicConfig(level=logging.INFO)
run_day(Settings.from_env(), dt.date.fromisoformat("{DAY.isoformat()}"), metrics=[])
"""


def test_a_killed_curate_leaves_no_key_behind_once_the_next_run_starts(settings, hdfs_client):
    cfg = settings.with_overrides(root=posixpath.join(settings.root, "faults", "key-kill"), mr_framework="local",
                                  pseudonymize=True, pseudonym_key=Secret(KEY))
    write_day_to_hdfs(hdfs_client, layout(cfg), generate_day(DAY, 40, seed=9), parts_per_instance=1)
    scratch = Path(job_options(cfg).local_tmp_dir)

    curate = Watched(python_command(CURATE_IN_A_SUBPROCESS), env=subprocess_env(
        DATALAKE_ROOT=cfg.root, DATALAKE_HDFS_USER=cfg.hdfs_user, DATALAKE_WEBHDFS_URL=cfg.webhdfs_url,
        DATALAKE_MR_FRAMEWORK="local", DATALAKE_PSEUDONYMIZE="1", DATALAKE_PSEUDONYM_KEY=KEY))
    curate.wait_for(r"Running job: job_local")
    deadline = time.monotonic() + 30
    while len(copies := {path: mode for path, mode in key_copies(scratch).items()
                         if path.name == "pseudonym.key"}) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)   # the key shipped, and Hadoop's localized copy of it
    assert curate.kill() == -9
    assert len(copies) >= 2, f"the key was not where the job keeps it: {copies}\n{curate.output(20)}"
    for path, mode in copies.items():
        assert mode & 0o077 == 0, f"{path} is mode {mode:o}"          # owner-only: 600, or 500 once localized
        private = next(parent for parent in path.parents if parent.parent.name == PRIVATE_DIRS)
        assert _mode(private) == _mode(private.parent) == 0o700
        assert private.name.split("+")[0] == str(curate.process.pid)
    assert key_copies(scratch), "the kill skipped every finally: its copies are still there"

    report = run_day(cfg, DAY, metrics=[])   # the next run
    assert report.curated > 0
    assert key_copies(scratch) == {}
    assert not [name for name in os.listdir(scratch / PRIVATE_DIRS)
                if name.split("+")[0] == str(curate.process.pid)]
