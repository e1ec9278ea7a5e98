"""instances: statuses per author home instance that day (the host of the canonical handle,
whether or not the lake collects that instance)."""
from mapreduce.lakejob import CuratedFieldsCountJob


class MRInstances(CuratedFieldsCountJob):
    METRIC = "instances"
    FIELDS = ("author_host",)

    def keys(self, record):
        return [record["author_host"]]


if __name__ == "__main__":
    MRInstances.run()
