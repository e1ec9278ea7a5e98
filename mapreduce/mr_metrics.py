"""metrics: every metric job of a day in one Hadoop job, over one read of the curated partition.

Each metric is its own mrjob job (mapreduce/mr_<metric>.py, runnable alone, ``METRIC_JOBS``); this
job runs their map, combine and reduce side by side, so that a day costs one Hadoop job for its
metrics instead of one per metric: on a day of a few thousand statuses the metric phase was twelve
jobs of a JVM start, a task set-up and a read of the same partition each (about 36 s on the
local runner; on YARN twelve ApplicationMasters).

The map parses a line once and gives the record to each chosen metric's ``map_record``; the
shuffle key is ``[metric, key]``, so the combine and the reduce are the metric's own. The reduce
writes ``<metric>\\t<JSON key>\\t<JSON value>``, which ``datalake.mapreduce.KeyDirectoryOutputFormat``
splits into ``<output>/<metric>/part-*``: lines exactly as the metric's own job writes them.

Counters (group ``datalake``): ``statuses`` and ``bad_curated_line`` once for all metrics; each
metric's own as ``<metric>.<counter>``, and ``<metric>.rows``, the rows it wrote (see
:func:`metric_counters`).
"""
from __future__ import annotations

from mrjob.protocol import JSONProtocol

from mapreduce.lakejob import DirectoryKeyedProtocol, MetricJob
from mapreduce.mr_apps import MRApps
from mapreduce.mr_emojis import MREmojis
from mapreduce.mr_growth import MRGrowth
from mapreduce.mr_hours import MRHours
from mapreduce.mr_instances import MRInstances
from mapreduce.mr_kinds import MRKinds
from mapreduce.mr_languages import MRLanguages
from mapreduce.mr_media import MRMedia
from mapreduce.mr_sentiment import MRSentiment
from mapreduce.mr_tags import MRTags
from mapreduce.mr_urls import MRUrls
from mapreduce.mr_users import MRUsers

METRIC_JOBS = {job.METRIC: job for job in (MRLanguages, MRUsers, MRGrowth, MRUrls, MRMedia, MRTags, MREmojis,
                                           MRApps, MRHours, MRKinds, MRInstances, MRSentiment)}
METRICS = tuple(METRIC_JOBS)
#: the counters every metric shares (one parse of each line for all)
SHARED_COUNTERS = ("statuses", "bad_curated_line")


def metric_counters(counters: dict[str, int], metric: str) -> dict[str, int]:
    """One metric's share of this job's ``datalake`` counters, named as its own job names them."""
    prefix = f"{metric}."
    return {**{name: counters[name] for name in SHARED_COUNTERS if name in counters},
            **{name[len(prefix):]: value for name, value in counters.items() if name.startswith(prefix)}}


class MRMetrics(MetricJob):
    """Reads the curated zone as every MetricJob does; writes ``<metric>\t<line>`` (module docstring)."""

    OUTPUT_PROTOCOL = DirectoryKeyedProtocol
    HADOOP_OUTPUT_FORMAT = "datalake.mapreduce.KeyDirectoryOutputFormat"

    _output_protocol = JSONProtocol()

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--metrics", default=",".join(METRICS),
                              help=f"comma-separated metrics to compute (default: all: {','.join(METRICS)})")

    def metric_jobs(self) -> dict:
        """The chosen metrics' jobs, one instance each, made once per task."""
        jobs = self.__dict__.get("_metric_jobs")
        if jobs is None:
            names = [name for name in self.options.metrics.split(",") if name]
            unknown = [name for name in names if name not in METRIC_JOBS]
            if unknown:
                raise ValueError(f"metrics: unknown metric(s) {', '.join(unknown)}; "
                                 f"the metrics are {', '.join(METRICS)}")
            jobs = self.__dict__["_metric_jobs"] = {name: METRIC_JOBS[name](args=[]) for name in names}
        return jobs

    def map_record(self, record):
        for name, job in self.metric_jobs().items():
            for key, value in job.map_record(record):
                yield [name, key], value

    def combiner(self, key, values):
        name, inner = key
        for out_key, value in self.metric_jobs()[name].combiner(inner, values):
            yield [name, out_key], value

    def reducer(self, key, values):
        name, inner = key
        for out_key, value in self.metric_jobs()[name].reducer(inner, values):
            self.count(f"{name}.rows")
            yield name, self._output_protocol.write(out_key, value)

    def flush_counters(self) -> None:
        """The metrics' own counters (counted on their job instances) too, named ``<metric>.<counter>``."""
        for name, job in self.metric_jobs().items():
            for counter, amount in job.__dict__.pop("_lake_counters", {}).items():
                self.count(f"{name}.{counter}", amount)
        super().flush_counters()


if __name__ == "__main__":
    MRMetrics.run()
