"""MapReduce stage of the lake: the ``curate`` job, one mrjob job per metric, and the runner
(:func:`mapreduce.pipeline.run_day`, ``python -m mapreduce``).

Kept free of imports: Hadoop Streaming tasks import this package to reach the jobs and
:mod:`mapreduce.records`, and should load nothing else.
"""


def run(settings, days, metrics=None, **options):
    """The stage contract (datalake/report.py): curate and the metric jobs for each of ``days``;
    returns a :class:`mapreduce.pipeline.MapReduceReport`. Imported lazily: tasks stay light."""
    from mapreduce.pipeline import run as run_stage

    return run_stage(settings, days, metrics, **options)
