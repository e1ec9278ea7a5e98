"""A lock's owner is gone when it ran on this host in a process that no longer exists: its lock
is broken at once instead of at its expiry (a killed command-line run must not block the rerun
for hours). Owners elsewhere, or alive, or this very process, are never taken for gone."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from datalake.locks import owner_gone, owner_name


def test_an_owner_whose_process_ended_on_this_host_is_gone():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    assert owner_gone(f"{socket.gethostname()}:{child.stdout.strip()}:collect:0123abcd")


def test_live_foreign_and_own_owners_are_not_gone():
    assert not owner_gone(owner_name("collect"))  # this process
    assert not owner_gone(f"{socket.gethostname()}:{os.getppid()}:collect:0123abcd")  # alive
    assert not owner_gone("another-host.example:1:collect:0123abcd")  # not ours to judge: it expires
    assert not owner_gone("a taker still writing it")
    assert not owner_gone("")
