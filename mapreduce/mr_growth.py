"""growth: per account creation month ``YYYY-MM``, the distinct user keys among that day's
authors created that month, as ``{"accounts": [...]}`` (sorted). The HBase loader counts them
for the day and adds them to the month's all-time membership, so no day rereads the lake.

The reduce is a set union, so the combiner is the union too. Statuses whose account has no
creation date are counted as ``account_month_missing``.
"""
from mapreduce.lakejob import MetricJob


class MRGrowth(MetricJob):
    METRIC = "growth"

    def map_record(self, record):
        if record["user"] is None:  # the author's handle broke the bad-key rule
            self.count("statuses_without_user")
        elif record.get("account_month"):
            yield record["account_month"], [record["user"]]
        else:
            self.count("account_month_missing")

    def combiner(self, month, user_lists):
        yield month, sorted({user for users in user_lists for user in users})

    def reducer(self, month, user_lists):
        yield month, {"accounts": sorted({user for users in user_lists for user in users})}


if __name__ == "__main__":
    MRGrowth.run()
