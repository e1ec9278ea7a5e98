"""apps: statuses per posting application that day (``application.name`` trimmed, from the home
instance's copy; ``unknown`` when the status has none)."""
from mapreduce import records
from mapreduce.lakejob import CuratedFieldsCountJob


class MRApps(CuratedFieldsCountJob):
    METRIC = "apps"
    FIELDS = ("application",)

    def keys(self, record):
        return [records.app_key(record["application"])]


if __name__ == "__main__":
    MRApps.run()
