"""apps: statuses per posting application that day (``application.name`` trimmed, from the home
instance's copy; ``unknown`` when the status has none)."""
from mapreduce import records
from mapreduce.lakejob import CuratedFieldsCountJob


class MRApps(CuratedFieldsCountJob):
    METRIC = "apps"
    FIELDS = ("application",)

    def keys(self, record):
        key = records.app_key(record["application"])
        return [key] if key is not None else []  # a bad key (curate counted it): out of this metric


if __name__ == "__main__":
    MRApps.run()
