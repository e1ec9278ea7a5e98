"""The analysis layer: HBase tables → pandas (``hbase_frames``) → charts (``charts``) in the notebook
``mastodon_analysis.ipynb``, executed headless by ``python -m analysis run`` (``runner``).

The stage contract (datalake/report.py): :func:`run` renders the report of the tables as they are
after ``days`` into a dated folder (``<DATALAKE_REPORT_DIR>/<last day>/``); the DAG
``mastodon_analysis`` calls it whenever a daily run has loaded HBase.
"""
from __future__ import annotations


def run(settings, days, output_dir=None, **options):
    """Execute the notebook against the configured HBase; returns an analysis.runner.RunResult."""
    from pathlib import Path

    from analysis.runner import run_analysis

    target = Path(output_dir) if output_dir else Path(settings.report_dir) / max(days).isoformat()
    return run_analysis(target, settings.hbase_host, settings.hbase_port, settings.table_prefix, **options)
