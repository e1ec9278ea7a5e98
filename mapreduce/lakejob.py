"""What every job of the lake shares: Hadoop counters, protocols, and the counting base class.

Jobs stay a few lines each; what a record means lives in :mod:`mapreduce.records`.
"""
from __future__ import annotations

import json
from collections import Counter

from mrjob.job import MRJob
from mrjob.protocol import BytesValueProtocol, JSONProtocol
from mrjob.step import MRStep

from mapreduce import records

COUNTER_GROUP = "datalake"


class LakeJob(MRJob):
    """An mrjob job whose counters go to the Hadoop counter group ``datalake``.

    Counters are added up in memory and reported once per task (``*_final``): a Hadoop
    Streaming counter is a line on stderr that the task's JVM parses, too slow to send per record.
    """

    def count(self, name: str, amount: int = 1) -> None:
        counters = self.__dict__.setdefault("_lake_counters", Counter())
        counters[name] += amount

    def flush_counters(self) -> None:
        counters = self.__dict__.get("_lake_counters")
        if counters:
            for name, amount in sorted(counters.items()):
                if amount:
                    self.increment_counter(COUNTER_GROUP, name, amount)
            counters.clear()

    def _flush_counters_final(self):
        self.flush_counters()
        return iter(())

    def steps(self):
        """One step of the task functions this job defines, each stage ending with a counter flush
        (a job that defines its own ``*_final`` calls :meth:`flush_counters` itself)."""
        funcs = {name: getattr(self, name) for name in _STEP_FUNCS
                 if getattr(type(self), name) is not getattr(MRJob, name)}
        for stage in ("mapper", "combiner", "reducer"):
            if stage in funcs:
                funcs.setdefault(f"{stage}_final", self._flush_counters_final)
        return [MRStep(**funcs)]


_STEP_FUNCS = ("mapper_init", "mapper", "mapper_final", "combiner_init", "combiner", "combiner_final",
               "reducer_init", "reducer", "reducer_final")


class MetricJob(LakeJob):
    """A metric job: reads curated records (one JSON object per line), writes the aggregates
    zone as ``<JSON key>\\t<JSON value>`` (mrjob's default output, docs/data-formats.md)."""

    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = JSONProtocol
    OUTPUT_PROTOCOL = JSONProtocol

    #: the aggregates zone directory: /datalake/aggregates/<METRIC>/dt=...
    METRIC = ""

    def curated_records(self, line: bytes):
        """The curated record of a line, or nothing (counted as ``bad_curated_line``)."""
        record = records.parse_curated_line(line)
        if record is None:
            self.count("bad_curated_line")
            return ()
        self.count("statuses")
        return (record,)

    def map_record(self, record: dict):
        """The map of one curated record: ``(key, value)`` pairs. mapreduce/mr_metrics.py runs the
        map of every metric over one parse of each line through this."""
        raise NotImplementedError

    def mapper(self, _, line):
        for record in self.curated_records(line):
            yield from self.map_record(record)


class StatusCountJob(MetricJob):
    """A metric that counts statuses per key: ``keys(record)`` gives the keys a status counts
    for (each once). The reduce is a sum, so the combiner is the reducer."""

    def keys(self, record: dict) -> list[str]:
        raise NotImplementedError

    def map_record(self, record):
        for key in self.keys(record):
            yield key, 1

    def combiner(self, key, counts):
        yield key, sum(counts)

    def reducer(self, key, counts):
        yield key, sum(counts)


class CuratedFieldsCountJob(StatusCountJob):
    """A StatusCountJob over curated fields added after the first seven metrics (``FIELDS``): a
    record of a partition curated before they existed lacks them and is skipped, counted as
    ``curated_record_without_fields`` (rerun the day with curate to count it)."""

    FIELDS: tuple[str, ...] = ()

    def map_record(self, record):
        if not all(name in record for name in self.FIELDS):
            self.count("curated_record_without_fields")
            return
        yield from super().map_record(record)


# ---------------------------------------------------------------------------------------------
# Protocols of the curate job

class CurateShuffleProtocol:
    """Map output of curate: ``<JSON key>\\t<JSON header>\\t<record JSON>\\t<raw line bytes>``.

    The raw line travels as bytes, unescaped and last (it may hold tabs, never a newline: Hadoop
    splits input lines at \\n and \\r), because the dedupe rule compares raw lines bytewise and the
    quarantine keeps them whole, even when they are not UTF-8.
    """

    def read(self, line: bytes):
        raw_key, header, record, raw = line.split(b"\t", 3)
        return json.loads(raw_key), (json.loads(header), record, raw)

    def write(self, key, value) -> bytes:
        header, record, raw = value
        return b"\t".join((json.dumps(key).encode("ascii"), json.dumps(header).encode("ascii"), record, raw))


class DirectoryKeyedProtocol:
    """Output of curate: ``<directory>\\t<record JSON>``. On Hadoop the output format
    ``datalake.mapreduce.KeyDirectoryOutputFormat`` (stack/java) writes the record to
    ``<output>/<directory>/part-*`` without the key."""

    def read(self, line: bytes):
        directory, record = line.split(b"\t", 1)
        return directory.decode("ascii"), json.loads(record)

    def write(self, key: str, value: bytes) -> bytes:
        return key.encode("ascii") + b"\t" + value
