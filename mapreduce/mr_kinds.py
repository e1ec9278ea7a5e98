"""kinds: statuses of each kind that day: ``all``, ``reply``, ``sensitive``, ``content_warning``,
``poll``, ``bot``, ``edited``, ``with_link`` (a status counts once in each kind it is)."""
from mapreduce import records
from mapreduce.lakejob import CuratedFieldsCountJob


class MRKinds(CuratedFieldsCountJob):
    METRIC = "kinds"
    FIELDS = records.KIND_FIELDS

    def keys(self, record):
        return records.kind_keys(record)


if __name__ == "__main__":
    MRKinds.run()
