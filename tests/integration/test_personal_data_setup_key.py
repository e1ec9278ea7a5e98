"""The local pseudonym key that `make setup` creates: random, mode 600, outside the repo, never printed.

Runs the "Pseudonym key" step of stack/setup.sh itself (cut out of the script, so the test follows
any change to it) with bash, in a temporary XDG_CONFIG_HOME; needs no running stack.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from datalake.settings import REPO_ROOT, Settings

SETUP = REPO_ROOT / "stack" / "setup.sh"


def _key_step() -> str:
    script = SETUP.read_text()
    start = script.index('key_file="${DATALAKE_PSEUDONYM_KEY_FILE')
    end = script.index("\nfi\n", start) + len("\nfi\n")
    return script[start:end]


def _run(config_home: Path, **env) -> subprocess.CompletedProcess:
    environment = {"PATH": os.environ["PATH"], "HOME": str(config_home.parent), "XDG_CONFIG_HOME": str(config_home),
                   "VENV": str(Path(sys.executable).parent.parent), **env}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", _key_step()], env=environment, capture_output=True,
                          text=True, timeout=60, check=True)


def test_setup_creates_a_random_private_key_outside_the_repo_and_never_prints_it(tmp_path):
    config_home = tmp_path / "config"
    first = _run(config_home)
    key_file = config_home / "mastodon-datalake" / "pseudonym.key"
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key)  # 256 random bits
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not key_file.resolve().is_relative_to(REPO_ROOT)
    assert key not in first.stdout + first.stderr and "created" in first.stdout

    second = _run(config_home)  # idempotent: the key is kept, not replaced
    assert key_file.read_text().strip() == key and "present" in second.stdout

    other_home = tmp_path / "other"
    _run(other_home)
    assert (other_home / "mastodon-datalake" / "pseudonym.key").read_text().strip() != key  # random, not derived

    settings = Settings.from_env({"DATALAKE_PSEUDONYM_KEY_FILE": str(key_file)})
    assert settings.pseudonymize and settings.require_pseudonym_key() == key.encode()
    assert key not in repr(settings) and key not in str(settings)


def test_a_key_given_by_the_environment_is_not_written_anywhere(tmp_path):
    config_home = tmp_path / "config"
    result = _run(config_home, DATALAKE_PSEUDONYM_KEY="given-by-env-0123")
    assert "given by DATALAKE_PSEUDONYM_KEY" in result.stdout and "given-by-env-0123" not in result.stdout
    assert not (config_home / "mastodon-datalake").exists()
