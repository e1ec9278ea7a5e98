"""curate: a day's raw zone (every instance) → one curated record per status uri + quarantine.

Map: parse and validate each raw line, project it into the curated record
(:func:`mapreduce.records.curated_record`), key it by ``uri``; a bad line is keyed apart with
its quarantine reason. A status by a person of the erasure list (or a boost of theirs) is left
out here, where records enter the curated zone, so that no analytic zone or HBase cell holds
them even between a re-collection and the DAG's reapply_erasures task. Reduce: per uri, keep the
winning copy (:func:`records.winner_rank`) unless a copy says the account opted out of indexing. Output: ``curated\\t<record>`` and
``quarantine\\t<record>``, which ``datalake.mapreduce.KeyDirectoryOutputFormat`` writes into
``<output>/curated/`` and ``<output>/quarantine/`` (see mapreduce/pipeline.py).

Input: by default Hadoop's text input (one map task per raw part; the part's path, whose
``instance=`` directory names the instance, from ``mapreduce.map.input.file``). With
``--combine-input 1`` (what the pipeline passes) ``datalake.mapreduce.PathLineCombineInputFormat``
packs many parts into one map task and hands each line over as ``<path>\\t<line>``: the same
records, far fewer tasks on a day of many small parts.

No combiner: copies of one uri come from different instances, so from different files, and a
combined split holds a share of the day's files in no particular order; a combiner would sort
every map output twice to drop few copies.

Counters (group ``datalake``): ``raw_lines``, ``quarantined`` and one per quarantine reason,
``noindex_lines``, ``erased_lines`` (map), and in the reduce ``curated_statuses``, ``duplicate_copies``,
``noindex_statuses``, ``noindex_copies``, ``links_without_host``, ``account_month_missing``, and
``bad_key`` with one ``bad_key:<kind>`` per kind (tag, link_host, emoji, user, language): metric
keys of the curated statuses left out by the bad-key rule (:func:`records.is_bad_key`).
Every raw line is accounted for: raw_lines = quarantined + erased_lines + curated_statuses
+ duplicate_copies + noindex_copies.
"""
from __future__ import annotations

import hashlib

from mrjob.compat import jobconf_from_env
from mrjob.protocol import BytesValueProtocol

from datalake import pseudonyms
from mapreduce import records
from mapreduce.lakejob import CurateShuffleProtocol, DirectoryKeyedProtocol, LakeJob

#: name of the pseudonym key file in the task's working directory (shipped with --files)
PSEUDONYM_KEY_FILE = "pseudonym.key"
#: the erasure list's digests, one per line (shipped with --files, with the key that made them)
ERASURE_LIST_FILE = "erasure.list"
CURATED, QUARANTINE = "curated", "quarantine"
#: the input format of ``--combine-input 1`` (stack/java): lines of many files, keyed by their path
COMBINE_INPUT_FORMAT = "datalake.mapreduce.PathLineCombineInputFormat"
_NOINDEX = "noindex"


class MRCurate(LakeJob):
    INPUT_PROTOCOL = BytesValueProtocol
    INTERNAL_PROTOCOL = CurateShuffleProtocol
    OUTPUT_PROTOCOL = DirectoryKeyedProtocol
    HADOOP_OUTPUT_FORMAT = "datalake.mapreduce.KeyDirectoryOutputFormat"

    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg(
            "--pseudonymize", type=int, choices=(0, 1), default=1,
            help=f"1: user keys are HMAC pseudonyms, the key read from ./{PSEUDONYM_KEY_FILE} "
                 "(ship it with --files PATH#pseudonym.key); 0: user keys are the handles")
        self.add_passthru_arg(
            "--erasure-list", type=int, choices=(0, 1), default=0,
            help=f"1: leave out the statuses of the people whose erasure digests ./{ERASURE_LIST_FILE} lists "
                 f"(one per line; the key that made them in ./{PSEUDONYM_KEY_FILE})")
        self.add_passthru_arg(
            "--combine-input", type=int, choices=(0, 1), default=0,
            help=f"1: read the raw parts with {COMBINE_INPUT_FORMAT} (many parts per map task, each "
                 "line given as <path>\\t<line>); 0: one map task per part, the path from the job configuration")

    def hadoop_input_format(self):
        return COMBINE_INPUT_FORMAT if self.options.combine_input else None

    def mapper_init(self):
        why = "pseudonymization is on" if self.options.pseudonymize else "the erasure list is on"
        key = self._read_file(PSEUDONYM_KEY_FILE, why) if self.options.pseudonymize or self.options.erasure_list \
            else None
        self.pseudonym_key = key if self.options.pseudonymize else None
        self.erasure_key = key
        self.erased = set(self._read_file(ERASURE_LIST_FILE, "the erasure list is on").split()) \
            if self.options.erasure_list else set()
        self.erased_handles: dict[str, bool] = {}
        self.source = None
        self.instance_domain = None

    @staticmethod
    def _read_file(name: str, why: str) -> bytes:
        try:
            with open(name, "rb") as shipped:
                data = shipped.read()
        except OSError as error:
            raise RuntimeError(f"curate: {why} but ./{name} cannot be read ({error.strerror}); ship it with "
                               f"--files PATH#{name}")
        if not data:
            raise RuntimeError(f"curate: ./{name} is empty")
        return data

    def is_erased(self, status: dict) -> bool:
        """The status is by a person of the erasure list, or boosts one of their statuses."""
        if not self.erased:
            return False
        for holder in (status, status.get("reblog")):
            handle = pseudonyms.status_handle(holder, self.instance_domain)
            if handle is None:
                continue
            if handle not in self.erased_handles:
                digest = pseudonyms.erasure_digest(handle, self.erasure_key).encode("ascii")
                self.erased_handles[handle] = digest in self.erased
            if self.erased_handles[handle]:
                return True
        return False

    def mapper(self, _, line: bytes):
        if self.options.combine_input:  # a path never holds a tab: the first one ends it
            path, _, line = line.partition(b"\t")
            source = path.decode("utf-8", "replace")
        else:
            source = jobconf_from_env("mapreduce.map.input.file")
        if source != self.source:
            self.source, self.instance_domain = source, records.instance_from_path(source)
        self.count("raw_lines")
        try:
            status = records.parse_raw_line(line)
            records.validate_status(status)
            uri = status["uri"]
            if self.is_erased(status):
                self.count("erased_lines")
                return
            if records.is_noindex(status["account"]):
                self.count("noindex_lines")
                yield uri, ([_NOINDEX], b"", b"")
                return
            curated = records.curated_record(status, self.instance_domain, self.pseudonym_key)
            record = records.encode_record(curated.record)
        except records.BadRecord as bad:
            reason = bad.reason
        except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800") in a field that we keep
            reason = "bad_unicode"
        except Exception as error:  # noqa: BLE001 - one odd line must not fail the day; it is quarantined
            reason = f"error:{type(error).__name__}"
        else:
            is_origin = records.is_origin_copy(uri, self.instance_domain)
            header = [0 if is_origin else 1, curated.record["interactions"],
                      curated.links_without_host, int(curated.account_month_missing), curated.bad_keys]
            yield uri, (header, record, line)
            return
        self.count("quarantined")
        self.count(reason)
        yield ["bad", hashlib.sha1(line).hexdigest()[:16]], ([reason, self.source or ""], b"", line)

    def reducer(self, key, copies):
        if isinstance(key, list):  # bad raw lines, each kept whole
            for (reason, source), _, line in copies:
                yield QUARANTINE, records.encode_record(records.quarantine_record(reason, source, line))
            return
        best_rank, best, count, noindex = None, None, 0, False
        for header, record, line in copies:
            count += 1
            if header[0] == _NOINDEX:
                noindex = True
                continue
            rank = records.winner_rank(header[0] == 0, header[1], line)
            if best_rank is None or rank < best_rank:
                best_rank, best = rank, (header, record)
        if noindex:  # one copy saying so is enough: the account opted out
            self.count("noindex_statuses")
            self.count("noindex_copies", count)
            return
        header, record = best
        self.count("curated_statuses")
        self.count("duplicate_copies", count - 1)
        self.count("links_without_host", header[2])
        self.count("account_month_missing", header[3])
        for kind, keys in header[4].items():
            self.count("bad_key", keys)
            self.count(f"bad_key:{kind}", keys)
        yield CURATED, record


if __name__ == "__main__":
    MRCurate.run()
