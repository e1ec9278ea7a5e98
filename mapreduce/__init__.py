"""MapReduce stage of the lake: the ``curate`` job, one mrjob job per metric, and the runner
(:func:`mapreduce.pipeline.run_day`, ``python -m mapreduce``).

Kept free of imports: Hadoop Streaming tasks import this package to reach the jobs and
:mod:`mapreduce.records`, and should load nothing else.
"""
