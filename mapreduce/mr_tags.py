"""tags: statuses using each tag that day (NFKC-normalized, lowercased, once per status)."""
from mapreduce.lakejob import StatusCountJob


class MRTags(StatusCountJob):
    METRIC = "tags"

    def keys(self, record):
        return record["tags"]


if __name__ == "__main__":
    MRTags.run()
