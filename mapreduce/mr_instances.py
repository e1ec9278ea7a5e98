"""instances: statuses per author home instance that day (the host of the canonical handle,
whether or not the lake collects that instance)."""
from mapreduce.lakejob import CuratedFieldsCountJob


class MRInstances(CuratedFieldsCountJob):
    METRIC = "instances"
    FIELDS = ("author_host",)

    def keys(self, record):
        # a handle that broke the bad-key rule has no host to count (records.curated_record)
        return [record["author_host"]] if record["author_host"] else []


if __name__ == "__main__":
    MRInstances.run()
