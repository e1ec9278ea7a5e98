"""The private local directories of MapReduce jobs (mapreduce/hadoop.py): mode 700 under a mode-700
parent, named after their process, swept once that process is gone, also after a SIGKILL."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap

from datalake.settings import REPO_ROOT
from mapreduce.scratch import PRIVATE_DIRS, owner_alive, owner_tag, private_dir, sweep_private_dirs


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_private_dir_and_its_parent_are_mode_700_and_named_after_this_process(tmp_path):
    (tmp_path / PRIVATE_DIRS).mkdir(mode=0o755)
    directory = private_dir(tmp_path, "curate")
    assert _mode(directory) == _mode(tmp_path / PRIVATE_DIRS) == 0o700
    assert directory.name.startswith(owner_tag() + "+curate+")
    assert str(os.getpid()) == directory.name.split("+")[0]
    assert owner_alive(directory.name)
    assert sweep_private_dirs(tmp_path) == [] and directory.is_dir()


def test_the_dir_of_a_killed_process_is_swept_and_others_are_kept(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from mapreduce.scratch import private_dir
        directory = private_dir({str(tmp_path)!r}, "curate")
        (directory / "pseudonym.key").write_bytes(b"secret")
        print(directory, flush=True)
        time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
    killed_dir = child.stdout.readline().strip()
    mine = private_dir(tmp_path, "key")
    elsewhere = tmp_path / PRIVATE_DIRS / f"{child.pid}+0+another-host.example+curate+abc"
    not_ours = tmp_path / PRIVATE_DIRS / "something-else"
    elsewhere.mkdir()
    not_ours.mkdir()
    assert sweep_private_dirs(tmp_path) == []          # the child still runs
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert sweep_private_dirs(tmp_path) == [tmp_path / PRIVATE_DIRS / os.path.basename(killed_dir)]
    assert not os.path.exists(killed_dir)
    assert mine.is_dir() and elsewhere.is_dir() and not_ours.is_dir()


def test_a_reused_pid_does_not_keep_a_dead_processs_dir(tmp_path):
    # same pid as this process, another start time: the process that made it is gone
    stale = tmp_path / PRIVATE_DIRS / f"{os.getpid()}+1+{owner_tag().split('+', 2)[2]}+curate+xyz"
    stale.mkdir(parents=True)
    assert not owner_alive(stale.name)
    assert sweep_private_dirs(tmp_path) == [stale]
