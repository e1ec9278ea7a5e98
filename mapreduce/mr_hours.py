"""hours: statuses per UTC hour of ``created_at`` that day (``00``-``23``)."""
from mapreduce import records
from mapreduce.lakejob import StatusCountJob


class MRHours(StatusCountJob):
    METRIC = "hours"

    def keys(self, record):
        return [records.utc_hour(record["created_at"])]


if __name__ == "__main__":
    MRHours.run()
