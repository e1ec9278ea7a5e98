"""Every benchmark still imports what it uses: they run on demand, so nothing else would notice."""
from __future__ import annotations

import subprocess
import sys

import pytest

from datalake.settings import REPO_ROOT

BENCHES = sorted((REPO_ROOT / "bench").glob("bench_*.py"))


def test_there_are_benchmarks():
    assert len(BENCHES) >= 5


@pytest.mark.parametrize("bench", BENCHES, ids=lambda path: path.name)
def test_the_benchmark_answers_help(bench):
    result = subprocess.run([sys.executable, str(bench), "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
