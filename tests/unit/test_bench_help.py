"""Every benchmark still imports what it uses: they run on demand, so nothing else would notice."""
from __future__ import annotations

import subprocess
import sys

import pytest

from datalake.settings import REPO_ROOT

BENCHES = sorted(path for path in (REPO_ROOT / "bench").glob("*.py") if not path.name.startswith("_"))


def test_there_are_benchmarks():
    assert len(BENCHES) >= 5


@pytest.mark.parametrize("bench", BENCHES, ids=lambda path: path.name)
def test_the_benchmark_answers_help(bench):
    result = subprocess.run([sys.executable, str(bench), "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def test_the_version_comparison_counts_every_differing_cell():
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from compare_versions import compare

    same = {"language_table": {b"en": {b"data:count": b"3", b"daily:2026-11-10": b"3"}}}
    assert compare(same, same) == ([("language_table", 1, 1, 2, 2, 0)], 0)
    changed = {"language_table": {b"en": {b"data:count": b"4", b"daily:2026-11-10": b"3"}, b"de": {b"data:count": b"1"}},
               "hour_table": {}}
    rows, differing = compare(same, changed)
    assert differing == 2  # en's count, and de's cell that only the new version has
    assert ("hour_table", "-", 0, "", "", "only in one version") in rows
